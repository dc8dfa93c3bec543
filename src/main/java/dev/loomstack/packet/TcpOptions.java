package dev.loomstack.packet;

/**
 * The TCP options Loomstack understands, parsed into a reusable holder (no allocation per
 * segment), and the writers for the options it sends: MSS (RFC 9293 3.7.1), window scale and
 * timestamps (RFC 7323), SACK-permitted and SACK blocks (RFC 2018). Unknown options are skipped by
 * their length; a zero length or one running past the header makes the segment malformed.
 */
public final class TcpOptions {
    public static final int END = 0;
    public static final int NOP = 1;
    public static final int MSS = 2;
    public static final int WINDOW_SCALE = 3;
    public static final int SACK_PERMITTED = 4;
    public static final int SACK = 5;
    public static final int TIMESTAMPS = 8;
    /** RFC 7323 section 2.3: shifts above 14 are treated as 14. */
    public static final int MAX_WINDOW_SCALE = 14;
    public static final int MAX_SACK_BLOCKS = 4;
    public static final int TIMESTAMPS_ALIGNED_LENGTH = 12;

    public int mss = -1;
    public int windowScale = -1;
    public boolean sackPermitted;
    public boolean hasTimestamps;
    public int tsVal;
    public int tsEcr;
    public int sackCount;
    public final int[] sackStart = new int[MAX_SACK_BLOCKS];
    public final int[] sackEnd = new int[MAX_SACK_BLOCKS];

    public void clear() {
        mss = -1;
        windowScale = -1;
        sackPermitted = false;
        hasTimestamps = false;
        sackCount = 0;
    }

    /** Parses the options in {@code b[from, to)}; false when they are malformed. */
    public boolean parse(byte[] b, int from, int to) {
        clear();
        int i = from;
        while (i < to) {
            int kind = b[i] & 0xff;
            if (kind == END) {
                return true;
            }
            if (kind == NOP) {
                i++;
                continue;
            }
            if (i + 1 >= to) {
                return false;
            }
            int len = b[i + 1] & 0xff;
            if (len < 2 || i + len > to) {
                return false;
            }
            switch (kind) {
                case MSS -> {
                    if (len != 4) {
                        return false;
                    }
                    mss = Bytes.u16(b, i + 2);
                }
                case WINDOW_SCALE -> {
                    if (len != 3) {
                        return false;
                    }
                    windowScale = Math.min(b[i + 2] & 0xff, MAX_WINDOW_SCALE);
                }
                case SACK_PERMITTED -> {
                    if (len != 2) {
                        return false;
                    }
                    sackPermitted = true;
                }
                case SACK -> {
                    if (len < 10 || (len - 2) % 8 != 0) {
                        return false;
                    }
                    int n = Math.min((len - 2) / 8, MAX_SACK_BLOCKS);
                    for (int k = 0; k < n; k++) {
                        sackStart[k] = Bytes.i32(b, i + 2 + k * 8);
                        sackEnd[k] = Bytes.i32(b, i + 6 + k * 8);
                    }
                    sackCount = n;
                }
                case TIMESTAMPS -> {
                    if (len != 10) {
                        return false;
                    }
                    hasTimestamps = true;
                    tsVal = Bytes.i32(b, i + 2);
                    tsEcr = Bytes.i32(b, i + 6);
                }
                default -> { }
            }
            i += len;
        }
        return true;
    }

    /** Writes MSS; returns bytes written (4). */
    public static int writeMss(byte[] b, int off, int mss) {
        b[off] = MSS;
        b[off + 1] = 4;
        Bytes.put16(b, off + 2, mss);
        return 4;
    }

    /** Writes NOP + window scale; returns 4. */
    public static int writeWindowScale(byte[] b, int off, int shift) {
        b[off] = NOP;
        b[off + 1] = WINDOW_SCALE;
        b[off + 2] = 3;
        b[off + 3] = (byte) shift;
        return 4;
    }

    /** Writes NOP, NOP, SACK-permitted; returns 4. */
    public static int writeSackPermitted(byte[] b, int off) {
        b[off] = NOP;
        b[off + 1] = NOP;
        b[off + 2] = SACK_PERMITTED;
        b[off + 3] = 2;
        return 4;
    }

    /** Writes NOP, NOP, timestamps (RFC 7323 appendix A layout); returns 12. */
    public static int writeTimestamps(byte[] b, int off, int tsVal, int tsEcr) {
        b[off] = NOP;
        b[off + 1] = NOP;
        b[off + 2] = TIMESTAMPS;
        b[off + 3] = 10;
        Bytes.put32(b, off + 4, tsVal);
        Bytes.put32(b, off + 8, tsEcr);
        return TIMESTAMPS_ALIGNED_LENGTH;
    }

    /** Writes NOP, NOP, SACK with {@code n} blocks; returns 4 + 8n. */
    public static int writeSack(byte[] b, int off, int[] starts, int[] ends, int n) {
        b[off] = NOP;
        b[off + 1] = NOP;
        b[off + 2] = SACK;
        b[off + 3] = (byte) (2 + 8 * n);
        for (int k = 0; k < n; k++) {
            Bytes.put32(b, off + 4 + k * 8, starts[k]);
            Bytes.put32(b, off + 8 + k * 8, ends[k]);
        }
        return 4 + 8 * n;
    }
}
