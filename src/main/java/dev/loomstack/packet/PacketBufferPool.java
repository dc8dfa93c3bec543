package dev.loomstack.packet;

import java.util.concurrent.atomic.LongAdder;

/**
 * A bounded pool of {@link PacketBuffer}s in two size classes: MTU-sized buffers, and large ones
 * for TCP super-segments (segmentation offload, up to {@link #LARGE_PACKET} bytes of packet).
 * Acquiring never blocks: when a class is empty a fresh buffer is made (counted), and a released
 * buffer beyond the class's capacity is left to the garbage collector, so the memory the pool
 * holds stays bounded: {@code maxPooled × bufferSize + maxLargePooled × largeBufferSize} (capacities
 * rounded up to a power of two).
 *
 * <p>Lock-free: each class is a {@link ConcurrentBoundedQueue}, which neither locks nor
 * allocates on offer and poll, so the reader, the writers and the timer thread take and give
 * buffers without contending on a lock or producing garbage.
 */
public final class PacketBufferPool {
    /** Room in front of every pooled buffer for an IPv6 header with extension headers and TCP header. */
    public static final int DEFAULT_HEADROOM = 128;
    /** The largest IP packet a large buffer holds: a 64 KiB super-segment (IPv4's total length limit and more). */
    public static final int LARGE_PACKET = 65_536;
    /** Large buffers kept by default: 64 × 64 KiB = 4 MiB at most. */
    public static final int DEFAULT_MAX_LARGE_POOLED = 64;

    private final int bufferSize;
    private final int largeBufferSize;
    private final ConcurrentBoundedQueue<PacketBuffer> free;
    private final ConcurrentBoundedQueue<PacketBuffer> freeLarge;
    private final LongAdder allocations = new LongAdder();

    public PacketBufferPool(int bufferSize, int maxPooled) {
        this(bufferSize, maxPooled, DEFAULT_MAX_LARGE_POOLED);
    }

    public PacketBufferPool(int bufferSize, int maxPooled, int maxLargePooled) {
        if (bufferSize <= 0 || maxPooled <= 0 || maxLargePooled <= 0) {
            throw new IllegalArgumentException("bufferSize, maxPooled and maxLargePooled must be positive");
        }
        this.bufferSize = bufferSize;
        this.largeBufferSize = Math.max(bufferSize, LARGE_PACKET + DEFAULT_HEADROOM);
        this.free = new ConcurrentBoundedQueue<>(maxPooled);
        this.freeLarge = new ConcurrentBoundedQueue<>(maxLargePooled);
    }

    /** A pool whose buffers hold a packet of {@code mtu} bytes plus the default headroom. */
    public static PacketBufferPool forMtu(int mtu, int maxPooled) {
        return new PacketBufferPool(mtu + DEFAULT_HEADROOM, maxPooled);
    }

    public int bufferSize() {
        return bufferSize;
    }

    /** The size of a large buffer (a super-segment with headroom). */
    public int largeBufferSize() {
        return largeBufferSize;
    }

    /** A buffer with at least {@code capacity} bytes, emptied, with {@code headroom} reserved. */
    public PacketBuffer acquire(int capacity, int headroom) {
        ConcurrentBoundedQueue<PacketBuffer> q;
        int size;
        if (capacity <= bufferSize) {
            q = free;
            size = bufferSize;
        } else if (capacity <= largeBufferSize) {
            q = freeLarge;
            size = largeBufferSize;
        } else {
            allocations.increment();
            return PacketBuffer.unpooled(capacity).reset(headroom);
        }
        PacketBuffer b = q.poll();
        if (b == null) {
            allocations.increment();
            b = new PacketBuffer(size, this);
        }
        return b.reset(headroom);
    }

    /** A full-size buffer with the default headroom reserved. */
    public PacketBuffer acquire() {
        return acquire(bufferSize, DEFAULT_HEADROOM);
    }

    /** A large buffer (a whole super-segment) with the default headroom reserved. */
    public PacketBuffer acquireLarge() {
        return acquire(largeBufferSize, DEFAULT_HEADROOM);
    }

    void giveBack(PacketBuffer b) {
        (b.capacity() == bufferSize ? free : freeLarge).offer(b);
    }

    /** How many buffers have been allocated rather than reused (a measure of pool pressure). */
    public long allocations() {
        return allocations.sum();
    }

    /** MTU-sized buffers waiting to be reused. */
    public int pooled() {
        return free.size();
    }

    /** Large buffers waiting to be reused. */
    public int pooledLarge() {
        return freeLarge.size();
    }
}
