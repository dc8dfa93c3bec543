package dev.loomstack.packet;

/**
 * ICMPv4 (RFC 792) and ICMPv6 (RFC 4443) share the first eight bytes: type, code, checksum and a
 * 32-bit rest-of-header (identifier and sequence for echo, the MTU for packet-too-big). Static
 * accessors over a buffer; the type constants per family live in {@link Icmpv4} and {@link Icmpv6}.
 */
public final class IcmpHeader {
    public static final int LENGTH = 8;

    private IcmpHeader() {}

    public static int type(byte[] b, int off) {
        return b[off] & 0xff;
    }

    public static int code(byte[] b, int off) {
        return b[off + 1] & 0xff;
    }

    public static int checksum(byte[] b, int off) {
        return Bytes.u16(b, off + 2);
    }

    public static int identifier(byte[] b, int off) {
        return Bytes.u16(b, off + 4);
    }

    public static int sequence(byte[] b, int off) {
        return Bytes.u16(b, off + 6);
    }

    /** The rest-of-header word (the MTU of an ICMPv6 packet-too-big, the pointer of a parameter problem). */
    public static long restOfHeader(byte[] b, int off) {
        return Bytes.u32(b, off + 4);
    }

    public static void writeHeader(byte[] b, int off, int type, int code, long restOfHeader) {
        b[off] = (byte) type;
        b[off + 1] = (byte) code;
        Bytes.put16(b, off + 2, 0);
        Bytes.put32(b, off + 4, restOfHeader);
    }

    /** ICMPv4 checksum: over the message alone. */
    public static void fillChecksumV4(byte[] b, int off, int len) {
        Bytes.put16(b, off + 2, 0);
        Bytes.put16(b, off + 2, Checksum.compute(b, off, len));
    }

    /** ICMPv6 checksum: over the IPv6 pseudo-header and the message (RFC 4443 section 2.3). */
    public static void fillChecksumV6(byte[] b, int off, int len, IpAddress src, IpAddress dst) {
        Bytes.put16(b, off + 2, 0);
        long sum = Checksum.add(Checksum.pseudoHeader(src, dst, Icmpv6.PROTOCOL, len), b, off, len);
        Bytes.put16(b, off + 2, Checksum.finish(sum));
    }

    /** ICMPv4 type and code values used by Loomstack (RFC 792). */
    public static final class Icmpv4 {
        public static final int PROTOCOL = 1;
        public static final int ECHO_REPLY = 0;
        public static final int DESTINATION_UNREACHABLE = 3;
        public static final int ECHO_REQUEST = 8;
        public static final int TIME_EXCEEDED = 11;
        public static final int PARAMETER_PROBLEM = 12;
        public static final int CODE_PORT_UNREACHABLE = 3;
        public static final int CODE_FRAGMENTATION_NEEDED = 4;

        private Icmpv4() {}

        public static boolean isError(int type) {
            return type == DESTINATION_UNREACHABLE || type == TIME_EXCEEDED || type == PARAMETER_PROBLEM
                    || type == 4 || type == 5;
        }
    }

    /** ICMPv6 type and code values used by Loomstack (RFC 4443). */
    public static final class Icmpv6 {
        public static final int PROTOCOL = 58;
        public static final int DESTINATION_UNREACHABLE = 1;
        public static final int PACKET_TOO_BIG = 2;
        public static final int TIME_EXCEEDED = 3;
        public static final int PARAMETER_PROBLEM = 4;
        public static final int ECHO_REQUEST = 128;
        public static final int ECHO_REPLY = 129;
        public static final int CODE_PORT_UNREACHABLE = 4;

        private Icmpv6() {}

        /** RFC 4443 section 2.1: error messages have types 0-127. */
        public static boolean isError(int type) {
            return type < 128;
        }
    }
}
