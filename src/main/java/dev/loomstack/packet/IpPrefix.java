package dev.loomstack.packet;

/**
 * An address prefix ({@code 10.0.0.0/24}, {@code fd7a:115c:a1e0::/48}). The address is stored as
 * given; {@link #parseStrict} rejects one with host bits set, {@link #parse} masks them.
 */
public record IpPrefix(IpAddress address, int bits) implements Comparable<IpPrefix> {
    public IpPrefix {
        if (address == null) {
            throw new IllegalArgumentException("prefix address is null");
        }
        if (bits < 0 || bits > address.bitLength()) {
            throw new IllegalArgumentException("prefix length /" + bits + " out of range for " + address);
        }
    }

    /** The single-address prefix (/32 or /128). */
    public static IpPrefix host(IpAddress a) {
        return new IpPrefix(a, a.bitLength());
    }

    /** Parses {@code addr/bits}, or a bare address as a host prefix; host bits are kept. */
    public static IpPrefix parseLenient(String s) {
        if (s == null) {
            throw new IllegalArgumentException("prefix is null");
        }
        int slash = s.indexOf('/');
        if (slash < 0) {
            return host(IpAddress.parse(s));
        }
        IpAddress a = IpAddress.parse(s.substring(0, slash));
        String b = s.substring(slash + 1);
        if (b.isEmpty() || b.length() > 3 || !b.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException("bad prefix length in '" + s + "'");
        }
        return new IpPrefix(a, Integer.parseInt(b));
    }

    /** Parses and masks host bits away. */
    public static IpPrefix parse(String s) {
        return parseLenient(s).masked();
    }

    /** Parses and rejects a prefix with host bits set. */
    public static IpPrefix parseStrict(String s) {
        IpPrefix p = parseLenient(s);
        if (!p.address.equals(p.address.masked(p.bits))) {
            throw new IllegalArgumentException("prefix '" + s + "' has host bits set (did you mean " + p.masked() + "?)");
        }
        return p;
    }

    public IpPrefix masked() {
        return new IpPrefix(address.masked(bits), bits);
    }

    public boolean isSingleAddress() {
        return bits == address.bitLength();
    }

    public boolean contains(IpAddress a) {
        return a.v4() == address.v4() && a.masked(bits).equals(address.masked(bits));
    }

    public boolean overlaps(IpPrefix o) {
        if (o.address.v4() != address.v4()) {
            return false;
        }
        int b = Math.min(bits, o.bits);
        return address.masked(b).equals(o.address.masked(b));
    }

    @Override
    public int compareTo(IpPrefix o) {
        int c = address.compareTo(o.address);
        return c != 0 ? c : Integer.compare(bits, o.bits);
    }

    @Override
    public String toString() {
        return address + "/" + bits;
    }
}
