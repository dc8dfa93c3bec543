package dev.loomstack.packet;

/** Static accessors and writer for the TCP header (RFC 9293 section 3.1). */
public final class TcpHeader {
    public static final int PROTOCOL = 6;
    public static final int MIN_LENGTH = 20;
    public static final int MAX_LENGTH = 60;

    public static final int FIN = 0x01;
    public static final int SYN = 0x02;
    public static final int RST = 0x04;
    public static final int PSH = 0x08;
    public static final int ACK = 0x10;
    public static final int URG = 0x20;
    public static final int ECE = 0x40;
    public static final int CWR = 0x80;

    private TcpHeader() {}

    public static int sourcePort(byte[] b, int off) {
        return Bytes.u16(b, off);
    }

    public static int destinationPort(byte[] b, int off) {
        return Bytes.u16(b, off + 2);
    }

    public static int sequence(byte[] b, int off) {
        return Bytes.i32(b, off + 4);
    }

    public static int acknowledgment(byte[] b, int off) {
        return Bytes.i32(b, off + 8);
    }

    /** Header length in bytes (data offset times four). */
    public static int headerLength(byte[] b, int off) {
        return ((b[off + 12] & 0xff) >>> 4) * 4;
    }

    public static int flags(byte[] b, int off) {
        return b[off + 13] & 0xff;
    }

    public static int window(byte[] b, int off) {
        return Bytes.u16(b, off + 14);
    }

    public static int checksum(byte[] b, int off) {
        return Bytes.u16(b, off + 16);
    }

    /**
     * Writes a header of {@code headerLength} bytes (options already in place after the first 20)
     * with a zero checksum; {@link #fillChecksum} completes it once the payload is in place.
     */
    public static void write(byte[] b, int off, int srcPort, int dstPort, int seq, int ack, int headerLength,
                             int flags, int window) {
        Bytes.put16(b, off, srcPort);
        Bytes.put16(b, off + 2, dstPort);
        Bytes.put32(b, off + 4, seq);
        Bytes.put32(b, off + 8, ack);
        b[off + 12] = (byte) ((headerLength / 4) << 4);
        b[off + 13] = (byte) flags;
        Bytes.put16(b, off + 14, window);
        Bytes.put16(b, off + 16, 0);
        Bytes.put16(b, off + 18, 0);
    }

    /** Fills the checksum over the pseudo-header and {@code length} bytes of segment. */
    public static void fillChecksum(byte[] b, int off, int length, IpAddress src, IpAddress dst) {
        long sum = Checksum.add(Checksum.pseudoHeader(src, dst, PROTOCOL, length), b, off, length);
        Bytes.put16(b, off + 16, Checksum.finish(sum));
    }

    /**
     * Fills the checksum field for a segment whose checksum the link completes (a super-segment,
     * or any segment marked {@code checksumPartial}): only the pseudo-header sum over all
     * {@code length} bytes of TCP header and payload, per {@link Checksum#partialPseudoHeader}.
     */
    public static void fillPartialChecksum(byte[] b, int off, int length, IpAddress src, IpAddress dst) {
        Bytes.put16(b, off + 16, Checksum.partialPseudoHeader(src, dst, PROTOCOL, length));
    }

    /** The flags as text ("SYN|ACK"), for logs and test messages. */
    public static String flagString(int flags) {
        StringBuilder s = new StringBuilder();
        String[] names = {"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"};
        for (int i = 0; i < names.length; i++) {
            if ((flags & (1 << i)) != 0) {
                if (!s.isEmpty()) {
                    s.append('|');
                }
                s.append(names[i]);
            }
        }
        return s.toString();
    }
}
