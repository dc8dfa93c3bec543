package dev.loomstack.link;

/**
 * What an {@link ImpairedLink} does to the packets written through it. Each of loss, duplication,
 * reordering and corruption is an independent probability per packet; {@code delayNanos} holds
 * every packet back that long; a reordered packet is held back {@code reorderNanos} more so later
 * packets overtake it. {@code seed} makes a run repeatable.
 */
public record Impairment(double loss, double duplicate, double reorder, double corrupt, long delayNanos,
                         long reorderNanos, long seed) {
    public static final long DEFAULT_REORDER_NANOS = 2_000_000;

    public Impairment {
        check("loss", loss);
        check("duplicate", duplicate);
        check("reorder", reorder);
        check("corrupt", corrupt);
        if (delayNanos < 0 || reorderNanos < 0) {
            throw new IllegalArgumentException("delays must not be negative");
        }
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

    public Impairment withDuplicate(double p) {
        return new Impairment(loss, p, reorder, corrupt, delayNanos, reorderNanos, seed);
    }

    public Impairment withReorder(double p) {
        return new Impairment(loss, duplicate, p, corrupt, delayNanos, reorderNanos, seed);
    }

    public Impairment withCorrupt(double p) {
        return new Impairment(loss, duplicate, reorder, p, delayNanos, reorderNanos, seed);
    }

    public Impairment withDelay(long nanos) {
        return new Impairment(loss, duplicate, reorder, corrupt, nanos, reorderNanos, seed);
    }
}
