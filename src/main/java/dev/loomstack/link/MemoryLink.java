package dev.loomstack.link;

import dev.loomstack.packet.PacketBuffer;
import java.lang.System.Logger.Level;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One end of an in-memory point-to-point link: what one end writes, the other end's dispatcher
 * receives, in order, on that end's delivery thread. Buffers change hands without copying (the
 * writer gives up ownership, the delivery thread releases after dispatch). A full queue blocks the
 * writer, as a real device's queue would.
 *
 * <p>With offload on ({@link #pair(int, int, boolean)}), an end takes TCP super-segments up to
 * {@link #OFFLOAD_SIZE} bytes and delivers them whole, as the Linux kernel hands a local GSO packet
 * whole to the receiving socket: the segment size stays, and a partial checksum arrives marked
 * verified (nothing on the way could corrupt it). A packet with a complete checksum arrives as it
 * was written, to be verified by its receiver.
 */
public final class MemoryLink implements LinkEndpoint {
    public static final int DEFAULT_QUEUE = 1024;
    /** The largest IP packet an end with offload on takes: IPv4's total length limit. */
    public static final int OFFLOAD_SIZE = 65535;
    private static final System.Logger LOG = System.getLogger(MemoryLink.class.getName());

    private final String name;
    private final int mtu;
    private final int offloadSize;
    private final ArrayBlockingQueue<PacketBuffer> inbound;
    private final LinkStats stats = new LinkStats();
    private MemoryLink peer;
    private Thread deliverer;
    private volatile boolean closed;

    private MemoryLink(String name, int mtu, int queue, boolean offload) {
        this.name = name;
        this.mtu = mtu;
        this.offloadSize = offload ? OFFLOAD_SIZE : 0;
        this.inbound = new ArrayBlockingQueue<>(queue);
    }

    /** Two connected ends. */
    public record Pair(MemoryLink a, MemoryLink b) implements AutoCloseable {
        @Override
        public void close() {
            a.close();
            b.close();
        }
    }

    public static Pair pair(int mtu) {
        return pair(mtu, DEFAULT_QUEUE);
    }

    /**
     * An end with nothing on the other side: whatever is written to it is dropped and counted,
     * nothing ever arrives. A stack runs on it with no device (an AOT training run, tests).
     */
    public static MemoryLink unconnected(int mtu) {
        return new MemoryLink("memory", mtu, 1, false);
    }

    public static Pair pair(int mtu, int queue) {
        return pair(mtu, queue, false);
    }

    /** Two connected ends, both taking TCP super-segments when {@code offload} is on. */
    public static Pair pair(int mtu, int queue, boolean offload) {
        MemoryLink a = new MemoryLink("memory-a", mtu, queue, offload);
        MemoryLink b = new MemoryLink("memory-b", mtu, queue, offload);
        a.peer = b;
        b.peer = a;
        return new Pair(a, b);
    }

    @Override
    public int mtu() {
        return mtu;
    }

    @Override
    public int maxOffloadSize() {
        return offloadSize;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public LinkStats stats() {
        return stats;
    }

    @Override
    public synchronized void start(NetworkDispatcher dispatcher) {
        if (deliverer != null) {
            throw new IllegalStateException(name + " already started");
        }
        deliverer = Thread.ofPlatform().daemon().name(name + "-deliver").start(() -> deliverLoop(dispatcher));
    }

    private void deliverLoop(NetworkDispatcher dispatcher) {
        while (!closed) {
            PacketBuffer p;
            try {
                p = inbound.poll(100, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                break;
            }
            if (p == null) {
                continue;
            }
            stats.packetsRead.increment();
            stats.bytesRead.add(p.length());
            if (p.segmentSize() > 0) {
                stats.gsoSegmentsRead.increment();
            }
            try {
                dispatcher.deliverNetworkPacket(p);
            } catch (RuntimeException e) {
                stats.readErrors.increment();
                LOG.log(Level.ERROR, "dispatching a packet on " + name + " failed", e);
            } finally {
                p.release();
            }
        }
        PacketBuffer p;
        while ((p = inbound.poll()) != null) {
            p.release();
        }
    }

    @Override
    public boolean writePacket(PacketBuffer packet) {
        if (closed || peer == null || peer.closed) {
            stats.dropped.increment();
            packet.release();
            return false;
        }
        int len = packet.length();
        boolean superSegment = packet.segmentSize() > 0;
        if (len > (superSegment ? offloadSize : mtu) || (packet.checksumPartial() && offloadSize == 0)) {
            stats.dropped.increment();
            packet.release();
            return false;
        }
        if (packet.checksumPartial()) {
            // What a kernel does with a local CHECKSUM_PARTIAL packet: nothing can corrupt it on the
            // way, so the receiver is told it is valid instead of summing it.
            packet.checksumPartial(false).checksumVerified(true);
        }
        try {
            while (!peer.inbound.offer(packet, 100, TimeUnit.MILLISECONDS)) {
                if (closed || peer.closed) {
                    stats.dropped.increment();
                    packet.release();
                    return false;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stats.dropped.increment();
            packet.release();
            return false;
        }
        stats.packetsWritten.increment();
        stats.bytesWritten.add(len);
        if (superSegment) {
            stats.gsoSegmentsWritten.increment();
        }
        return true;
    }

    @Override
    public void close() {
        closed = true;
        Thread t;
        synchronized (this) {
            t = deliverer;
        }
        if (t != null && t != Thread.currentThread()) {
            t.interrupt();
            try {
                t.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
