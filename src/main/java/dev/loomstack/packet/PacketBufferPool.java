package dev.loomstack.packet;

import java.util.concurrent.atomic.LongAdder;

/**
 * A bounded pool of {@link PacketBuffer}s in size classes: MTU-sized buffers, and for TCP
 * super-segments (segmentation offload) buffers of 8, 16, 32 and 64 KiB plus headroom, so that a
 * super-segment of two segments does not hold a 64 KiB array while it waits in a queue. Acquiring
 * never blocks: when a class is empty a fresh buffer is made (counted), and a released buffer
 * beyond its class's capacity is left to the garbage collector, so the memory the pool holds stays
 * bounded: {@code maxPooled} MTU buffers, and {@code maxLargePooled × 64 KiB} bytes in each larger
 * class ({@code maxLargePooled} 64 KiB buffers, twice as many 32 KiB ones, and so on).
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
    /** The smallest of the larger classes (packet bytes); each next class doubles it up to {@link #LARGE_PACKET}. */
    static final int FIRST_LARGER_PACKET = 8 << 10;
    /** 64 KiB buffers kept by default: 64 × 64 KiB = 4 MiB at most in each larger class. */
    public static final int DEFAULT_MAX_LARGE_POOLED = 64;

    private final int bufferSize;
    /** Buffer size of each class, ascending; class 0 holds MTU-sized buffers. */
    private final int[] sizes;
    private final ConcurrentBoundedQueue<PacketBuffer>[] free;
    private final LongAdder allocations = new LongAdder();

    public PacketBufferPool(int bufferSize, int maxPooled) {
        this(bufferSize, maxPooled, DEFAULT_MAX_LARGE_POOLED);
    }

    @SuppressWarnings("unchecked")
    public PacketBufferPool(int bufferSize, int maxPooled, int maxLargePooled) {
        if (bufferSize <= 0 || maxPooled <= 0 || maxLargePooled <= 0) {
            throw new IllegalArgumentException("bufferSize, maxPooled and maxLargePooled must be positive");
        }
        this.bufferSize = bufferSize;
        int classes = 1;
        for (int p = FIRST_LARGER_PACKET; p <= LARGE_PACKET; p <<= 1) {
            if (p + DEFAULT_HEADROOM > bufferSize) {
                classes++;
            }
        }
        sizes = new int[classes];
        free = new ConcurrentBoundedQueue[classes];
        sizes[0] = bufferSize;
        free[0] = new ConcurrentBoundedQueue<>(maxPooled);
        int c = 1;
        for (int p = FIRST_LARGER_PACKET; p <= LARGE_PACKET; p <<= 1) {
            if (p + DEFAULT_HEADROOM > bufferSize) {
                sizes[c] = p + DEFAULT_HEADROOM;
                free[c] = new ConcurrentBoundedQueue<>((int) Math.min(1 << 20,
                        (long) maxLargePooled * (LARGE_PACKET / p)));
                c++;
            }
        }
    }

    /** A pool whose buffers hold a packet of {@code mtu} bytes plus the default headroom. */
    public static PacketBufferPool forMtu(int mtu, int maxPooled) {
        return new PacketBufferPool(mtu + DEFAULT_HEADROOM, maxPooled);
    }

    public int bufferSize() {
        return bufferSize;
    }

    /** The size of the largest pooled buffer (a whole super-segment with headroom). */
    public int largeBufferSize() {
        return sizes[sizes.length - 1];
    }

    /** A buffer with at least {@code capacity} bytes, emptied, with {@code headroom} reserved. */
    public PacketBuffer acquire(int capacity, int headroom) {
        for (int c = 0; c < sizes.length; c++) {
            if (capacity <= sizes[c]) {
                PacketBuffer b = free[c].poll();
                if (b == null) {
                    allocations.increment();
                    b = new PacketBuffer(sizes[c], this);
                }
                return b.reset(headroom);
            }
        }
        allocations.increment();
        return PacketBuffer.unpooled(capacity).reset(headroom);
    }

    /** A full-size buffer with the default headroom reserved. */
    public PacketBuffer acquire() {
        return acquire(bufferSize, DEFAULT_HEADROOM);
    }

    /** A large buffer (a whole super-segment) with the default headroom reserved. */
    public PacketBuffer acquireLarge() {
        return acquire(largeBufferSize(), DEFAULT_HEADROOM);
    }

    void giveBack(PacketBuffer b) {
        int size = b.capacity();
        for (int c = 0; c < sizes.length; c++) {
            if (size == sizes[c]) {
                free[c].offer(b);
                return;
            }
        }
    }

    /** How many buffers have been allocated rather than reused (a measure of pool pressure). */
    public long allocations() {
        return allocations.sum();
    }

    /** MTU-sized buffers waiting to be reused. */
    public int pooled() {
        return free[0].size();
    }

    /** Buffers of the larger classes waiting to be reused. */
    public int pooledLarge() {
        int n = 0;
        for (int c = 1; c < free.length; c++) {
            n += free[c].size();
        }
        return n;
    }
}
