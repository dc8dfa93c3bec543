package dev.loomstack.packet;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.atomic.LongAdder;

/**
 * A bounded pool of equally sized {@link PacketBuffer}s. Acquiring never blocks: when the pool is
 * empty a fresh buffer is made (counted), and a released buffer beyond the pool's capacity is left
 * to the garbage collector, so memory held by the pool stays bounded.
 */
public final class PacketBufferPool {
    /** Room in front of every pooled buffer for an IPv6 header with extension headers and TCP header. */
    public static final int DEFAULT_HEADROOM = 128;

    private final int bufferSize;
    private final ArrayBlockingQueue<PacketBuffer> free;
    private final LongAdder allocations = new LongAdder();

    public PacketBufferPool(int bufferSize, int maxPooled) {
        if (bufferSize <= 0 || maxPooled <= 0) {
            throw new IllegalArgumentException("bufferSize and maxPooled must be positive");
        }
        this.bufferSize = bufferSize;
        this.free = new ArrayBlockingQueue<>(maxPooled);
    }

    /** A pool whose buffers hold a packet of {@code mtu} bytes plus the default headroom. */
    public static PacketBufferPool forMtu(int mtu, int maxPooled) {
        return new PacketBufferPool(mtu + DEFAULT_HEADROOM, maxPooled);
    }

    public int bufferSize() {
        return bufferSize;
    }

    /** A buffer with at least {@code capacity} bytes, emptied, with {@code headroom} reserved. */
    public PacketBuffer acquire(int capacity, int headroom) {
        if (capacity > bufferSize) {
            allocations.increment();
            return PacketBuffer.unpooled(capacity).reset(headroom);
        }
        PacketBuffer b = free.poll();
        if (b == null) {
            allocations.increment();
            b = new PacketBuffer(bufferSize, this);
        }
        return b.reset(headroom);
    }

    /** A full-size buffer with the default headroom reserved. */
    public PacketBuffer acquire() {
        return acquire(bufferSize, DEFAULT_HEADROOM);
    }

    void giveBack(PacketBuffer b) {
        free.offer(b);
    }

    /** How many buffers have been allocated rather than reused (a measure of pool pressure). */
    public long allocations() {
        return allocations.sum();
    }

    public int pooled() {
        return free.size();
    }
}
