package dev.loomstack.wireguard;

/**
 * The receive side's sliding window over transport counters (paper section 5.4.6, RFC 6479's
 * bitmap ring as wireguard-go's replay.go uses it): a ring of 128 64-bit blocks covers 8192
 * counters, of which the newest 8128 ({@link #WINDOW}) are tracked; moving past the greatest
 * counter seen clears the blocks it skips, so a step costs at most one pass over the ring.
 *
 * <p>Counters are unsigned 64-bit. Not thread-safe: the device checks it on its one delivery thread,
 * after decryption (a forged packet must never move the window).
 */
final class ReplayWindow {
    private static final int BLOCK_BITS = 64;
    private static final int BLOCKS = 128;
    private static final int BLOCK_MASK = BLOCKS - 1;
    /** Counters behind the greatest one seen that are still told apart. */
    static final long WINDOW = (long) (BLOCKS - 1) * BLOCK_BITS;

    private final long[] ring = new long[BLOCKS];
    /** The greatest counter accepted so far (0 before any). */
    private long last;

    /**
     * True, and the counter marked seen, when {@code counter} is below {@code limit} and neither
     * seen before nor behind the window; false for a replay, a too old counter or one at the limit.
     */
    boolean accept(long counter, long limit) {
        if (ProtocolLimits.atOrPast(counter, limit)) {
            return false;
        }
        long block = counter >>> 6;
        if (Long.compareUnsigned(counter, last) > 0) {
            long current = last >>> 6;
            long skipped = Math.min(block - current, BLOCKS);
            for (long i = 1; i <= skipped; i++) {
                ring[(int) ((current + i) & BLOCK_MASK)] = 0;
            }
            last = counter;
        } else if (last - counter > WINDOW) {
            return false;
        }
        int at = (int) (block & BLOCK_MASK);
        long bit = 1L << (counter & (BLOCK_BITS - 1));
        long old = ring[at];
        ring[at] = old | bit;
        return (old & bit) == 0;
    }

    void reset() {
        java.util.Arrays.fill(ring, 0);
        last = 0;
    }
}
