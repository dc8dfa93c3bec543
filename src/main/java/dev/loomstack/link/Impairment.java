package dev.loomstack.link;

/**
 * What an {@link ImpairedLink} does to the packets written through it. Each of loss, duplication,
 * reordering and corruption is an independent probability per packet; {@code delayNanos} holds
 * every packet back that long; a reordered packet is held back {@code reorderNanos} more so later
 * packets overtake it (with {@code reorderUniform}, a uniformly random extra in
 * {@code (0, reorderNanos]}, so some packets are overtaken by many and some by few, as on real
 * paths). {@code seed} makes a run repeatable.
 *
 * <p>A bottleneck is optional: with {@code rateBitsPerSecond > 0} packets leave one after another
 * at that rate, each departing when the one before it has been serialised
 * ({@code departure = max(now, lastDeparture) + size * 8 / rate}), and the delay starts after
 * departure. A packet that would find more than {@code queueLimitBytes} waiting ahead of it is
 * dropped (tail drop, counted apart from random loss); a limit of {@link #UNLIMITED_QUEUE} never drops.
 *
 * @param reorderUniform    hold each reordered packet a random extra up to {@code reorderNanos}
 *                          rather than exactly that
 * @param rateBitsPerSecond the bottleneck's rate, or {@link #NO_BOTTLENECK}
 * @param queueLimitBytes   bytes that may wait for the bottleneck, or {@link #UNLIMITED_QUEUE};
 *                          a limit needs a rate
 */
public record Impairment(double loss, double duplicate, double reorder, double corrupt, long delayNanos,
                         long reorderNanos, boolean reorderUniform, long seed, long rateBitsPerSecond,
                         long queueLimitBytes) {
    public static final long DEFAULT_REORDER_NANOS = 2_000_000;
    /** {@code rateBitsPerSecond} of a link without a bottleneck: packets leave as they are written. */
    public static final long NO_BOTTLENECK = 0;
    /** {@code queueLimitBytes} of a bottleneck whose queue never overflows. */
    public static final long UNLIMITED_QUEUE = 0;

    public Impairment {
        check("loss", loss);
        check("duplicate", duplicate);
        check("reorder", reorder);
        check("corrupt", corrupt);
        if (delayNanos < 0 || reorderNanos < 0) {
            throw new IllegalArgumentException("delays must not be negative");
        }
        if (reorderUniform && reorderNanos == 0) {
            throw new IllegalArgumentException("a uniformly random reordering extra needs a positive upper bound");
        }
        if (rateBitsPerSecond < 0) {
            throw new IllegalArgumentException("the bottleneck rate must not be negative, got " + rateBitsPerSecond);
        }
        if (queueLimitBytes < 0) {
            throw new IllegalArgumentException("the queue limit must not be negative, got " + queueLimitBytes);
        }
        if (queueLimitBytes != UNLIMITED_QUEUE && rateBitsPerSecond == NO_BOTTLENECK) {
            throw new IllegalArgumentException("a queue limit needs a bottleneck rate: packets queue only behind one");
        }
    }

    /** The impairments without a bottleneck, as before bottlenecks existed. */
    public Impairment(double loss, double duplicate, double reorder, double corrupt, long delayNanos,
                      long reorderNanos, long seed) {
        this(loss, duplicate, reorder, corrupt, delayNanos, reorderNanos, false, seed, NO_BOTTLENECK, UNLIMITED_QUEUE);
    }

    private static void check(String name, double p) {
        if (!(p >= 0 && p <= 1)) {
            throw new IllegalArgumentException(name + " must be a probability in [0, 1], got " + p);
        }
    }

    public static Impairment none(long seed) {
        return new Impairment(0, 0, 0, 0, 0, DEFAULT_REORDER_NANOS, seed);
    }

    public static Impairment loss(double p, long seed) {
        return new Impairment(p, 0, 0, 0, 0, DEFAULT_REORDER_NANOS, seed);
    }

    public boolean hasBottleneck() {
        return rateBitsPerSecond != NO_BOTTLENECK;
    }

    public boolean hasQueueLimit() {
        return queueLimitBytes != UNLIMITED_QUEUE;
    }

    public Impairment withLoss(double p) {
        return new Impairment(p, duplicate, reorder, corrupt, delayNanos, reorderNanos, reorderUniform, seed,
                rateBitsPerSecond, queueLimitBytes);
    }

    public Impairment withDuplicate(double p) {
        return new Impairment(loss, p, reorder, corrupt, delayNanos, reorderNanos, reorderUniform, seed,
                rateBitsPerSecond, queueLimitBytes);
    }

    public Impairment withReorder(double p) {
        return new Impairment(loss, duplicate, p, corrupt, delayNanos, reorderNanos, reorderUniform, seed,
                rateBitsPerSecond, queueLimitBytes);
    }

    /** Reorders with probability {@code p}, holding a reordered packet {@code extraNanos} beyond the delay. */
    public Impairment withReorder(double p, long extraNanos) {
        return new Impairment(loss, duplicate, p, corrupt, delayNanos, extraNanos, false, seed,
                rateBitsPerSecond, queueLimitBytes);
    }

    /**
     * Reorders with probability {@code p}, holding a reordered packet a uniformly random extra in
     * {@code (0, maxExtraNanos]} beyond the delay.
     */
    public Impairment withReorderUpTo(double p, long maxExtraNanos) {
        return new Impairment(loss, duplicate, p, corrupt, delayNanos, maxExtraNanos, true, seed,
                rateBitsPerSecond, queueLimitBytes);
    }

    public Impairment withCorrupt(double p) {
        return new Impairment(loss, duplicate, reorder, p, delayNanos, reorderNanos, reorderUniform, seed,
                rateBitsPerSecond, queueLimitBytes);
    }

    public Impairment withDelay(long nanos) {
        return new Impairment(loss, duplicate, reorder, corrupt, nanos, reorderNanos, reorderUniform, seed,
                rateBitsPerSecond, queueLimitBytes);
    }

    public Impairment withSeed(long s) {
        return new Impairment(loss, duplicate, reorder, corrupt, delayNanos, reorderNanos, reorderUniform, s,
                rateBitsPerSecond, queueLimitBytes);
    }

    /**
     * A bottleneck of {@code bitsPerSecond} with room for {@code queueBytes} waiting behind it
     * ({@link #UNLIMITED_QUEUE}: no tail drop).
     */
    public Impairment withBottleneck(long bitsPerSecond, long queueBytes) {
        if (bitsPerSecond <= 0) {
            throw new IllegalArgumentException("a bottleneck needs a positive rate, got " + bitsPerSecond);
        }
        return new Impairment(loss, duplicate, reorder, corrupt, delayNanos, reorderNanos, reorderUniform, seed,
                bitsPerSecond, queueBytes);
    }

    /** Nanoseconds the bottleneck takes to serialise {@code bytes}; 0 without a bottleneck. */
    public long serialisationNanos(int bytes) {
        return hasBottleneck() ? bytes * 8_000_000_000L / rateBitsPerSecond : 0;
    }
}
