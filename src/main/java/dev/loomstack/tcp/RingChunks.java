package dev.loomstack.tcp;

import dev.loomstack.packet.ConcurrentBoundedQueue;

/**
 * The storage of every connection's send and receive rings, reused: a {@link ByteRing} that empties
 * gives its array back here, and the next data takes one from here, so a connection that sends
 * and receives in bursts (request and response, ping-pong) allocates nothing per burst, while an
 * idle connection still holds no array at all.
 *
 * <p>Arrays come in power-of-two size classes from {@link #MIN_CHUNK} to {@link #MAX_CHUNK} (a
 * ring of the largest default receive window, 6 MiB, takes 8 MiB); each class keeps at most
 * {@link #BYTES_PER_SMALL_CLASS} bytes of free arrays and at least two (a send ring and a receive
 * ring of the same class take turns), so the pool never holds more than {@link #MAX_RETAINED_BYTES}
 * (37 MiB: 1 MiB for each class up to 1 MiB, then two arrays each of 2, 4 and 8 MiB). Larger rings allocate and drop their arrays as before. Shared by all stacks in
 * the process; lock-free ({@link ConcurrentBoundedQueue}).
 */
final class RingChunks {
    static final int MIN_SHIFT = 12;
    static final int MAX_SHIFT = 23;
    static final int MIN_CHUNK = 1 << MIN_SHIFT;
    static final int MAX_CHUNK = 1 << MAX_SHIFT;
    static final int BYTES_PER_SMALL_CLASS = 1 << 20;
    static final long MAX_RETAINED_BYTES;

    @SuppressWarnings("unchecked")
    private static final ConcurrentBoundedQueue<byte[]>[] FREE = new ConcurrentBoundedQueue[MAX_SHIFT - MIN_SHIFT + 1];

    static {
        long bound = 0;
        for (int shift = MIN_SHIFT; shift <= MAX_SHIFT; shift++) {
            int kept = Math.max(2, BYTES_PER_SMALL_CLASS >>> shift);
            FREE[shift - MIN_SHIFT] = new ConcurrentBoundedQueue<>(kept);
            bound += (long) kept << shift;
        }
        MAX_RETAINED_BYTES = bound;
    }

    private RingChunks() {}

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
