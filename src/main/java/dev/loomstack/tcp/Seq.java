package dev.loomstack.tcp;

/**
 * TCP sequence-number arithmetic modulo 2^32 (RFC 9293 section 3.4, RFC 1982): sequence numbers are
 * plain ints and are compared by the sign of their difference, never with {@code <}.
 */
public final class Seq {
    private Seq() {}

    public static boolean lt(int a, int b) {
        return a - b < 0;
    }

    public static boolean leq(int a, int b) {
        return a - b <= 0;
    }

    public static boolean gt(int a, int b) {
        return a - b > 0;
    }

    public static boolean geq(int a, int b) {
        return a - b >= 0;
    }

    /** {@code b - a} as a distance; meaningful when {@code b} is not before {@code a}. */
    public static int diff(int a, int b) {
        return b - a;
    }

    /** True when {@code start <= s < end}. */
    public static boolean inRange(int s, int start, int end) {
        return geq(s, start) && lt(s, end);
    }

    public static int max(int a, int b) {
        return gt(a, b) ? a : b;
    }

    public static int min(int a, int b) {
        return lt(a, b) ? a : b;
    }
}
