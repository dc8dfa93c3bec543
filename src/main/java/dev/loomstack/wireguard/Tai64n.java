package dev.loomstack.wireguard;

import java.time.Instant;

/**
 * The TAI64N timestamp of the initiation (paper section 5.4.2; https://cr.yp.to/libtai/tai64.html):
 * 8 bytes big-endian of 2^62 + 10 + Unix seconds (the label of 1970 with the 10 s TAI-UTC offset of
 * 1972, as the Linux module and wireguard-go write it), then 4 bytes big-endian of nanoseconds.
 * The responder only compares them (unsigned, bytewise), to refuse replays.
 */
final class Tai64n {
    static final int LENGTH = 12;
    /** 2^62 + 10: what both reference implementations add to Unix seconds. */
    static final long BASE = 0x400000000000000aL;
    /**
     * Nanoseconds are rounded down to 2^24 ns (about 16.8 ms): the greatest power of two below
     * 1/50 s, the initiation rate a responder accepts anyway, so the stamp reveals no finer timing
     * (the Linux module's tai64n_now and wireguard-go's whitener mask do the same).
     */
    static final int GRANULE_NANOS = 1 << 24;
    private static final int NANOS_PER_SECOND = 1_000_000_000;

    private Tai64n() {}

    /** The seconds field (2^62 + 10 + Unix seconds) of {@code time}. */
    static long seconds(Instant time) {
        return BASE + time.getEpochSecond();
    }

    /** The nanoseconds field of {@code time}, rounded down to a granule. */
    static int nanos(Instant time) {
        return time.getNano() & -GRANULE_NANOS;
    }

    static void write(long seconds, int nanos, byte[] out, int offset) {
        for (int i = 0; i < Long.BYTES; i++) {
            out[offset + i] = (byte) (seconds >>> (56 - 8 * i));
        }
        for (int i = 0; i < Integer.BYTES; i++) {
            out[offset + 8 + i] = (byte) (nanos >>> (24 - 8 * i));
        }
    }

    /** Writes the stamp of {@code time} into {@code out[offset..+12)}. */
    static void write(Instant time, byte[] out, int offset) {
        write(seconds(time), nanos(time), out, offset);
    }

    /** The stamp one granule after {@code stamp} (carrying into the seconds). */
    static void next(byte[] stamp, byte[] out, int offset) {
        long seconds = readLong(stamp, 0);
        int nanos = readInt(stamp, 8) + GRANULE_NANOS;
        if (nanos >= NANOS_PER_SECOND) {
            nanos = 0;
            seconds++;
        }
        write(seconds, nanos, out, offset);
    }

    /** Compares two stamps as the unsigned big-endian numbers they are: negative, zero or positive. */
    static int compare(byte[] a, int aOffset, byte[] b, int bOffset) {
        return java.util.Arrays.compareUnsigned(a, aOffset, aOffset + LENGTH, b, bOffset, bOffset + LENGTH);
    }

    private static long readLong(byte[] in, int offset) {
        long v = 0;
        for (int i = 0; i < Long.BYTES; i++) {
            v = (v << 8) | (in[offset + i] & 0xff);
        }
        return v;
    }

    private static int readInt(byte[] in, int offset) {
        int v = 0;
        for (int i = 0; i < Integer.BYTES; i++) {
            v = (v << 8) | (in[offset + i] & 0xff);
        }
        return v;
    }
}
