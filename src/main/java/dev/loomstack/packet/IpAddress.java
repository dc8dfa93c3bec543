package dev.loomstack.packet;

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * An IPv4 or IPv6 address as a value: 128 bits in two longs. An IPv4 address keeps its 32 bits in
 * the low word with {@code high == 0} and {@code v4 == true}; it is never equal to its IPv4-mapped
 * IPv6 form.
 *
 * <p>Parsing is strict and never resolves names. Comparing against bytes inside a packet
 * ({@link #equalsAt}) allocates nothing, so the hot path can test addresses without building one.
 */
public record IpAddress(long high, long low, boolean v4) implements Comparable<IpAddress> {
    public static final IpAddress V4_ANY = ofV4(0);
    public static final IpAddress V6_ANY = ofV6(0, 0);
    public static final IpAddress V4_BROADCAST = ofV4(0xffffffff);

    public IpAddress {
        if (v4 && (high != 0 || (low >>> 32) != 0)) {
            throw new IllegalArgumentException("IPv4 address wider than 32 bits");
        }
    }

    public static IpAddress ofV4(int bits) {
        return new IpAddress(0, bits & 0xffffffffL, true);
    }

    public static IpAddress ofV6(long high, long low) {
        return new IpAddress(high, low, false);
    }

    public static IpAddress readV4(byte[] b, int off) {
        return ofV4(Bytes.i32(b, off));
    }

    public static IpAddress readV6(byte[] b, int off) {
        return ofV6(Bytes.i64(b, off), Bytes.i64(b, off + 8));
    }

    /** Reads an address of {@code len} bytes (4 or 16). */
    public static IpAddress read(byte[] b, int off, int len) {
        return switch (len) {
            case 4 -> readV4(b, off);
            case 16 -> readV6(b, off);
            default -> throw new IllegalArgumentException("address length " + len);
        };
    }

    public static IpAddress fromBytes(byte[] b) {
        return read(b, 0, b.length);
    }

    public static IpAddress of(InetAddress a) {
        return fromBytes(a.getAddress());
    }

    /**
     * Parses a literal IPv4 (dotted quad, four decimal parts, no leading zeros) or IPv6 address
     * (RFC 4291 text forms, with an optional embedded IPv4 tail; no zone).
     */
    public static IpAddress parse(String s) {
        if (s == null || s.isEmpty()) {
            throw new IllegalArgumentException("empty IP address");
        }
        if (s.indexOf(':') >= 0) {
            return parseV6(s);
        }
        return ofV4(parseV4(s, s));
    }

    private static int parseV4(String s, String whole) {
        int value = 0;
        int parts = 0;
        int i = 0;
        while (i <= s.length()) {
            int j = s.indexOf('.', i);
            if (j < 0) {
                j = s.length();
            }
            if (j == i || j - i > 3) {
                throw bad(whole);
            }
            int part = 0;
            for (int k = i; k < j; k++) {
                char c = s.charAt(k);
                if (c < '0' || c > '9') {
                    throw bad(whole);
                }
                part = part * 10 + (c - '0');
            }
            if (part > 255 || (j - i > 1 && s.charAt(i) == '0')) {
                throw bad(whole);
            }
            value = (value << 8) | part;
            parts++;
            i = j + 1;
            if (j == s.length()) {
                break;
            }
        }
        if (parts != 4) {
            throw bad(whole);
        }
        return value;
    }

    private static IpAddress parseV6(String s) {
        int[] words = new int[8];
        int n = 0;
        int gap = -1;
        int i = 0;
        int len = s.length();
        if (s.startsWith("::")) {
            gap = 0;
            i = 2;
            if (len == 2) {
                return V6_ANY;
            }
        } else if (s.startsWith(":")) {
            throw bad(s);
        }
        while (i < len) {
            int j = s.indexOf(':', i);
            if (j < 0) {
                j = len;
            }
            String part = s.substring(i, j);
            if (part.indexOf('.') >= 0) {
                if (j != len || n > 6) {
                    throw bad(s);
                }
                int v4 = parseV4(part, s);
                words[n++] = v4 >>> 16;
                words[n++] = v4 & 0xffff;
                i = len;
                break;
            }
            if (part.isEmpty() || part.length() > 4 || n >= 8) {
                throw bad(s);
            }
            int w = 0;
            for (int k = 0; k < part.length(); k++) {
                int d = hexDigit(part.charAt(k));
                if (d < 0) {
                    throw bad(s);
                }
                w = (w << 4) | d;
            }
            words[n++] = w;
            if (j == len) {
                i = len;
                break;
            }
            if (j + 1 < len && s.charAt(j + 1) == ':') {
                if (gap >= 0) {
                    throw bad(s);
                }
                gap = n;
                i = j + 2;
                if (i == len) {
                    break;
                }
            } else {
                i = j + 1;
                if (i == len) {
                    throw bad(s);
                }
            }
        }
        if (gap >= 0) {
            if (n == 8) {
                throw bad(s);
            }
            int move = n - gap;
            System.arraycopy(words, gap, words, 8 - move, move);
            for (int k = gap; k < 8 - move; k++) {
                words[k] = 0;
            }
        } else if (n != 8) {
            throw bad(s);
        }
        long hi = 0;
        long lo = 0;
        for (int k = 0; k < 4; k++) {
            hi = (hi << 16) | words[k];
            lo = (lo << 16) | words[k + 4];
        }
        return ofV6(hi, lo);
    }

    /**
     * RFC 4291 section 2.2: the pieces are ASCII hex digits. {@link Character#digit} would also take
     * fullwidth and other scripts' digits, letting a second spelling of an address through.
     */
    private static int hexDigit(char c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    }

    private static IllegalArgumentException bad(String s) {
        return new IllegalArgumentException("not an IP address: '" + s + "'");
    }

    public boolean isV6() {
        return !v4;
    }

    /** Address length in bytes: 4 or 16. */
    public int byteLength() {
        return v4 ? 4 : 16;
    }

    public int bitLength() {
        return v4 ? 32 : 128;
    }

    /** The IPv4 address as an int; only for IPv4. */
    public int v4Bits() {
        if (!v4) {
            throw new IllegalStateException("not IPv4: " + this);
        }
        return (int) low;
    }

    public void write(byte[] b, int off) {
        if (v4) {
            Bytes.put32(b, off, (int) low);
        } else {
            Bytes.put64(b, off, high);
            Bytes.put64(b, off + 8, low);
        }
    }

    public byte[] toBytes() {
        byte[] b = new byte[byteLength()];
        write(b, 0);
        return b;
    }

    /** True when the {@link #byteLength()} bytes at {@code off} hold this address. */
    public boolean equalsAt(byte[] b, int off, int len) {
        if (len != byteLength()) {
            return false;
        }
        if (v4) {
            return Bytes.i32(b, off) == (int) low;
        }
        return Bytes.i64(b, off) == high && Bytes.i64(b, off + 8) == low;
    }

    /** The address's 16-bit words summed, for checksum pseudo-headers. */
    public long checksumWords() {
        long s = (low & 0xffff) + ((low >>> 16) & 0xffff);
        if (!v4) {
            s += ((low >>> 32) & 0xffff) + (low >>> 48);
            s += (high & 0xffff) + ((high >>> 16) & 0xffff) + ((high >>> 32) & 0xffff) + (high >>> 48);
        }
        return s;
    }

    /** Bit {@code i} counted from the most significant (0) end. */
    public boolean bit(int i) {
        if (v4) {
            return ((low >>> (31 - i)) & 1) != 0;
        }
        return i < 64 ? ((high >>> (63 - i)) & 1) != 0 : ((low >>> (127 - i)) & 1) != 0;
    }

    /** This address with all bits after the first {@code bits} cleared. */
    public IpAddress masked(int bits) {
        if (bits < 0 || bits > bitLength()) {
            throw new IllegalArgumentException("prefix length " + bits + " for " + this);
        }
        if (v4) {
            long mask = bits == 0 ? 0 : (0xffffffffL << (32 - bits)) & 0xffffffffL;
            return new IpAddress(0, low & mask, true);
        }
        long hm = bits >= 64 ? -1L : (bits == 0 ? 0 : -1L << (64 - bits));
        long lm = bits <= 64 ? 0 : (bits == 128 ? -1L : -1L << (128 - bits));
        return new IpAddress(high & hm, low & lm, false);
    }

    public boolean isUnspecified() {
        return high == 0 && low == 0;
    }

    public boolean isLoopback() {
        return v4 ? (low >>> 24) == 127 : (high == 0 && low == 1);
    }

    public boolean isMulticast() {
        return v4 ? (low >>> 28) == 0xe : (high >>> 56) == 0xff;
    }

    public boolean isLinkLocalUnicast() {
        return v4 ? (low >>> 16) == 0xa9fe : (high >>> 54) == (0xfe80L >>> 6);
    }

    public InetAddress toInetAddress() {
        try {
            return InetAddress.getByAddress(toBytes());
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    @Override
    public int compareTo(IpAddress o) {
        if (v4 != o.v4) {
            return v4 ? -1 : 1;
        }
        int c = Long.compareUnsigned(high, o.high);
        return c != 0 ? c : Long.compareUnsigned(low, o.low);
    }

    /** Canonical text: dotted quad, or RFC 5952 for IPv6. */
    @Override
    public String toString() {
        if (v4) {
            return ((low >>> 24) & 0xff) + "." + ((low >>> 16) & 0xff) + "." + ((low >>> 8) & 0xff) + "." + (low & 0xff);
        }
        int[] w = new int[8];
        for (int k = 0; k < 4; k++) {
            w[k] = (int) ((high >>> (48 - 16 * k)) & 0xffff);
            w[k + 4] = (int) ((low >>> (48 - 16 * k)) & 0xffff);
        }
        int bestStart = -1;
        int bestLen = 1;
        for (int k = 0; k < 8; ) {
            if (w[k] == 0) {
                int e = k;
                while (e < 8 && w[e] == 0) {
                    e++;
                }
                if (e - k > bestLen) {
                    bestStart = k;
                    bestLen = e - k;
                }
                k = e;
            } else {
                k++;
            }
        }
        StringBuilder sb = new StringBuilder(39);
        for (int k = 0; k < 8; k++) {
            if (k == bestStart) {
                sb.append("::");
                k += bestLen - 1;
                continue;
            }
            if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') {
                sb.append(':');
            }
            sb.append(Integer.toHexString(w[k]));
        }
        return sb.toString();
    }
}
