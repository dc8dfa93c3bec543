package dev.loomstack.tcp;

import dev.loomstack.packet.ConcurrentBoundedQueue;

/**
 * The storage of every connection's send and receive rings, reused: a {@link ByteRing} that empties
 * gives its array back here, and the next data takes one from here, so a connection that sends
 * and receives in bursts (request and response, ping-pong) allocates nothing per burst, while an
 * idle connection still holds no array at all.
 *
 * <p>Arrays come in power-of-two size classes from {@link #MIN_CHUNK} to {@link #MAX_CHUNK} (a
 * ring of the largest default receive window, 6 MiB, takes 8 MiB). Each class up to 1 MiB keeps at
 * most {@link #BYTES_PER_SMALL_CLASS} bytes of free arrays. Each larger class (2, 4 and 8 MiB) keeps
 * up to {@link #LARGE_CLASS_HEAP_DIVISOR 1/32} of the maximum heap and at least two arrays (a send
 * ring and a receive ring of the same class take turns): every busy connection whose window has
 * grown holds such an array, gives it back each time its reader drains the ring and takes it again
 * with the next segment, so a class that keeps fewer arrays than there are busy connections makes
 * the others allocate (and the JVM zero) a multi-megabyte array on nearly every burst. Four
 * parallel streams with two kept did exactly that: 5 GB of 8 MiB arrays in 20 s, 1 GiB resident,
 * and less throughput than one stream. A 1 GiB heap keeps four arrays of 8 MiB, a 256 MiB heap
 * the two of before. Larger rings allocate and drop their arrays as before. Shared by all stacks
 * in the process; lock-free ({@link ConcurrentBoundedQueue}).
 */
final class RingChunks {
    static final int MIN_SHIFT = 12;
    static final int MAX_SHIFT = 23;
    static final int MIN_CHUNK = 1 << MIN_SHIFT;
    static final int MAX_CHUNK = 1 << MAX_SHIFT;
    static final int BYTES_PER_SMALL_CLASS = 1 << 20;
    /** The share of the maximum heap each class above {@link #BYTES_PER_SMALL_CLASS} may keep. */
    static final int LARGE_CLASS_HEAP_DIVISOR = 32;
    /** Arrays every class keeps at least: a send ring and a receive ring take turns. */
    static final int MIN_KEPT = 2;
    /** The bound on the bytes of free arrays held, for this JVM's maximum heap. */
    static final long MAX_RETAINED_BYTES;

    @SuppressWarnings("unchecked")
    private static final ConcurrentBoundedQueue<byte[]>[] FREE = new ConcurrentBoundedQueue[MAX_SHIFT - MIN_SHIFT + 1];

    static {
        long bound = 0;
        long maxHeap = Runtime.getRuntime().maxMemory();
        for (int shift = MIN_SHIFT; shift <= MAX_SHIFT; shift++) {
            int kept = keptArrays(shift, maxHeap);
            FREE[shift - MIN_SHIFT] = new ConcurrentBoundedQueue<>(kept);
            bound += (long) kept << shift;
        }
        MAX_RETAINED_BYTES = bound;
    }

    private RingChunks() {}

    /**
     * How many free arrays of {@code 1 << shift} bytes are kept with a maximum heap of
     * {@code maxHeapBytes}: {@link #BYTES_PER_SMALL_CLASS} worth up to 1 MiB, a
     * {@link #LARGE_CLASS_HEAP_DIVISOR}th of the heap worth above it, never fewer than {@link #MIN_KEPT}.
     */
    static int keptArrays(int shift, long maxHeapBytes) {
        long bytes = (1L << shift) <= BYTES_PER_SMALL_CLASS ? BYTES_PER_SMALL_CLASS
                : Math.max(0, maxHeapBytes) / LARGE_CLASS_HEAP_DIVISOR;
        return (int) Math.max(MIN_KEPT, Math.min(Integer.MAX_VALUE, bytes >>> shift));
    }

    /** The size class that holds {@code n} bytes: the power of two at or above it, at least {@link #MIN_CHUNK}. */
    static int chunkSize(int n) {
        if (n <= MIN_CHUNK) {
            return MIN_CHUNK;
        }
        int p = Integer.highestOneBit(n - 1) << 1;
        return p > 0 ? p : n;
    }

    /** An array of {@code size} bytes (a {@link #chunkSize}), reused if one is free; its contents are stale. */
    static byte[] take(int size) {
        ConcurrentBoundedQueue<byte[]> q = queueFor(size);
        if (q != null) {
            byte[] b = q.poll();
            if (b != null) {
                return b;
            }
        }
        return new byte[size];
    }

    /** Gives an array back; kept if its class has room, else left to the garbage collector. */
    static void give(byte[] b) {
        ConcurrentBoundedQueue<byte[]> q = queueFor(b.length);
        if (q != null) {
            q.offer(b);
        }
    }

    /** Free arrays held now, in bytes (for tests and memory accounting). */
    static long retainedBytes() {
        long n = 0;
        for (int shift = MIN_SHIFT; shift <= MAX_SHIFT; shift++) {
            n += (long) FREE[shift - MIN_SHIFT].size() << shift;
        }
        return n;
    }

    private static ConcurrentBoundedQueue<byte[]> queueFor(int size) {
        if (Integer.bitCount(size) != 1 || size < MIN_CHUNK || size > MAX_CHUNK) {
            return null;
        }
        return FREE[Integer.numberOfTrailingZeros(size) - MIN_SHIFT];
    }
}
