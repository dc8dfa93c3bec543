package dev.loomstack.wireguard;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.loomstack.ip.IpStack;
import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.IpPrefix;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.stack.HashedTimerWheel;
import dev.loomstack.stack.Stack;
import dev.loomstack.stack.Stats;
import dev.loomstack.tcp.TcpEndpoint;
import dev.loomstack.tcp.TcpListener;
import dev.loomstack.tcp.TcpProtocol;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Two Loomstack stacks, each on a WireGuard link, over the in-memory UDP network in real time: a
 * TCP connection carries 4 MiB each way byte-exact, so the whole inbound path (one delivery thread,
 * in order) and the outbound path (writes from the stack's threads) work under a real stack.
 */
class WireGuardStackTest {
    private static final int SIZE = 4 << 20;
    private static final long TIMEOUT = TimeUnit.SECONDS.toNanos(30);

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void tcpCarriesDataBothWaysByteExactThroughTheTunnel(boolean v6) throws Exception {
        MemoryUdpNetwork net = new MemoryUdpNetwork();
        StaticIdentity idA = StaticIdentity.generate();
        StaticIdentity idB = StaticIdentity.generate();
        HashedTimerWheel timersA = new HashedTimerWheel("wg-stack-a").start();
        HashedTimerWheel timersB = new HashedTimerWheel("wg-stack-b").start();
        WireGuardLink linkA = WireGuardLink.open(WireGuardPair.settings(idA), net.bind(WireGuardPair.A_UDP), timersA,
                java.time.Clock.systemUTC());
        WireGuardLink linkB = WireGuardLink.open(WireGuardPair.settings(idB), net.bind(WireGuardPair.B_UDP), timersB,
                java.time.Clock.systemUTC());
        PacketBufferPool poolA = PacketBufferPool.forMtu(WireGuardPair.MTU, 4096);
        PacketBufferPool poolB = PacketBufferPool.forMtu(WireGuardPair.MTU, 4096);
        Stack a = IpStack.create(linkA, poolA, new Stats(), timersA);
        Stack b = IpStack.create(linkB, poolB, new Stats(), timersB);
        TcpProtocol tcpA = new TcpProtocol(a);
        TcpProtocol tcpB = new TcpProtocol(b);
        try {
            a.registerTransport(tcpA);
            b.registerTransport(tcpB);
            for (IpAddress x : new IpAddress[] {WireGuardPair.A4, WireGuardPair.A6}) {
                a.addAddress(IpPrefix.host(x));
            }
            for (IpAddress x : new IpAddress[] {WireGuardPair.B4, WireGuardPair.B6}) {
                b.addAddress(IpPrefix.host(x));
            }
            a.start();
            b.start();
            linkA.configure(List.of(new WireGuardPeerConfig(idB.publicKey(), java.util.Optional.empty(),
                    java.util.Optional.of(WireGuardPair.B_UDP),
                    List.of(IpPrefix.host(WireGuardPair.B4), IpPrefix.host(WireGuardPair.B6)), Duration.ZERO)));
            linkB.configure(List.of(new WireGuardPeerConfig(idA.publicKey(), java.util.Optional.empty(),
                    java.util.Optional.of(WireGuardPair.A_UDP),
                    List.of(IpPrefix.host(WireGuardPair.A4), IpPrefix.host(WireGuardPair.A6)), Duration.ZERO)));
            IpAddress server = v6 ? WireGuardPair.A6 : WireGuardPair.A4;
            IpAddress client = v6 ? WireGuardPair.B6 : WireGuardPair.B4;
            TcpListener listener = tcpA.listen(server, 5001, 4);
            TcpEndpoint c = tcpB.connect(client, server, 5001, TIMEOUT);
            TcpEndpoint s = listener.accept(TIMEOUT);
            listener.close();
            byte[] up = WireGuardPair.payload(SIZE, 3);
            byte[] down = WireGuardPair.payload(SIZE, 7);
            AtomicReference<Throwable> failed = new AtomicReference<>();
            Thread writers = Thread.ofPlatform().start(() -> {
                try {
                    Thread other = Thread.ofPlatform().start(() -> {
                        try {
                            s.write(down, 0, down.length, TIMEOUT);
                        } catch (Exception e) {
                            failed.set(e);
                        }
                    });
                    c.write(up, 0, up.length, TIMEOUT);
                    other.join();
                } catch (Exception e) {
                    failed.set(e);
                }
            });
            byte[] gotUp = readFully(s, SIZE);
            byte[] gotDown = readFully(c, SIZE);
            writers.join(TimeUnit.SECONDS.toMillis(30));
            if (failed.get() != null) {
                throw new AssertionError("a writer failed", failed.get());
            }
            assertArrayEquals(up, gotUp);
            assertArrayEquals(down, gotDown);
            assertEquals(0, linkA.wireGuardStats().packetsInvalid.value() + linkB.wireGuardStats().packetsInvalid.value());
            assertEquals(0, linkA.wireGuardStats().sourceMismatch.value() + linkB.wireGuardStats().sourceMismatch.value());
            System.out.printf("%s: A read %d and wrote %d packets, B read %d and wrote %d; replays dropped %d%n",
                    v6 ? "IPv6" : "IPv4", linkA.stats().packetsRead.sum(), linkA.stats().packetsWritten.sum(),
                    linkB.stats().packetsRead.sum(), linkB.stats().packetsWritten.sum(),
                    linkA.wireGuardStats().packetsReplayed.value() + linkB.wireGuardStats().packetsReplayed.value());
            c.close();
            s.close();
        } finally {
            tcpA.close();
            tcpB.close();
            a.close();
            b.close();
            linkA.close();
            linkB.close();
            timersA.close();
            timersB.close();
        }
    }

    private static byte[] readFully(TcpEndpoint e, int size) throws Exception {
        byte[] out = new byte[size];
        int got = 0;
        while (got < size) {
            int n = e.read(out, got, size - got, TIMEOUT);
            if (n < 0) {
                break;
            }
            got += n;
        }
        assertEquals(size, got, "bytes read");
        return out;
    }
}
