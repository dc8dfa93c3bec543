package dev.loomstack.tcp;

import dev.loomstack.ip.IpStack;
import dev.loomstack.link.LinkEndpoint;
import dev.loomstack.link.MemoryLink;
import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.IpPrefix;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.stack.HashedTimerWheel;
import dev.loomstack.stack.Stack;
import dev.loomstack.stack.Stats;
import java.io.IOException;
import java.time.Duration;
import java.util.function.UnaryOperator;

/**
 * Two Loomstack stacks in real time over a {@link MemoryLink} pair, with segmentation offload on or
 * off: A listens, B connects. Each side may wrap its end of the link (a test link that drops or
 * cuts packets).
 */
final class MemoryStacks implements AutoCloseable {
    /**
     * Packets each link direction queues: more than a whole receive window (6 MiB) of MTU packets,
     * so no write ever blocks. A blocking write under one endpoint's lock while the other side's
     * delivery thread blocks the same way under its own would deadlock the two stacks.
     */
    static final int QUEUE = 16_384;
    /** Super-segments in flight at most: a 6 MiB window of super-segments as small as two segments. */
    static final int LARGE_POOLED = 4096;

    static final IpAddress A4 = IpAddress.parse("100.64.0.1");
    static final IpAddress B4 = IpAddress.parse("100.64.0.2");
    static final IpAddress A6 = IpAddress.parse("fd7a:115c:a1e0::1");
    static final IpAddress B6 = IpAddress.parse("fd7a:115c:a1e0::2");

    final MemoryLink.Pair links;
    final LinkEndpoint linkA;
    final LinkEndpoint linkB;
    final PacketBufferPool poolA;
    final PacketBufferPool poolB;
    final HashedTimerWheel timersA = new HashedTimerWheel("timers-a").start();
    final HashedTimerWheel timersB = new HashedTimerWheel("timers-b").start();
    final Stats statsA = new Stats();
    final Stats statsB = new Stats();
    final Stack stackA;
    final Stack stackB;
    final TcpProtocol tcpA;
    final TcpProtocol tcpB;

    MemoryStacks(int mtu, boolean offload) {
        this(mtu, offload, UnaryOperator.identity(), UnaryOperator.identity());
    }

    MemoryStacks(int mtu, boolean offload, UnaryOperator<LinkEndpoint> wrapA, UnaryOperator<LinkEndpoint> wrapB) {
        links = MemoryLink.pair(mtu, QUEUE, offload);
        linkA = wrapA.apply(links.a());
        linkB = wrapB.apply(links.b());
        // Room in each pool for every packet the queues can hold, so that none is made twice.
        poolA = new PacketBufferPool(mtu + PacketBufferPool.DEFAULT_HEADROOM, QUEUE, LARGE_POOLED);
        poolB = new PacketBufferPool(mtu + PacketBufferPool.DEFAULT_HEADROOM, QUEUE, LARGE_POOLED);
        stackA = IpStack.create(linkA, poolA, statsA, timersA);
        stackB = IpStack.create(linkB, poolB, statsB, timersB);
        tcpA = new TcpProtocol(stackA);
        tcpB = new TcpProtocol(stackB);
        stackA.registerTransport(tcpA);
        stackB.registerTransport(tcpB);
        for (IpAddress a : new IpAddress[] {A4, A6}) {
            stackA.addAddress(IpPrefix.host(a));
        }
        for (IpAddress b : new IpAddress[] {B4, B6}) {
            stackB.addAddress(IpPrefix.host(b));
        }
        stackA.start();
        stackB.start();
    }

    /** A connected pair of endpoints: [0] on A (accepted), [1] on B (connecting). */
    TcpEndpoint[] connect(boolean v6, int port) throws IOException {
        IpAddress a = v6 ? A6 : A4;
        IpAddress b = v6 ? B6 : B4;
        TcpListener listener = tcpA.listen(a, port, 4);
        TcpEndpoint client = tcpB.connect(b, a, port, Duration.ofSeconds(10).toNanos());
        TcpEndpoint server = listener.accept(Duration.ofSeconds(10).toNanos());
        listener.close();
        return new TcpEndpoint[] {server, client};
    }

    @Override
    public void close() {
        tcpA.close();
        tcpB.close();
        stackA.close();
        stackB.close();
        linkA.close();
        linkB.close();
        timersA.close();
        timersB.close();
    }
}
