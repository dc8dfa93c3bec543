package dev.loomstack.packet;

/** Static accessors and writer for the 8-byte UDP header (RFC 768). */
public final class UdpHeader {
    public static final int LENGTH = 8;
    public static final int PROTOCOL = 17;

    private UdpHeader() {}

    public static int sourcePort(byte[] b, int off) {
        return Bytes.u16(b, off);
    }

    public static int destinationPort(byte[] b, int off) {
        return Bytes.u16(b, off + 2);
    }

    public static int length(byte[] b, int off) {
        return Bytes.u16(b, off + 4);
    }

    public static int checksum(byte[] b, int off) {
        return Bytes.u16(b, off + 6);
    }

    /**
     * Writes the header in front of {@code payloadLength} bytes already at {@code off + 8} and fills
     * the checksum over the pseudo-header; a computed zero is sent as all ones (RFC 768).
     */
    public static void write(byte[] b, int off, int sourcePort, int destinationPort, int payloadLength,
                             IpAddress source, IpAddress destination) {
        int length = LENGTH + payloadLength;
        Bytes.put16(b, off, sourcePort);
        Bytes.put16(b, off + 2, destinationPort);
        Bytes.put16(b, off + 4, length);
        Bytes.put16(b, off + 6, 0);
        long sum = Checksum.add(Checksum.pseudoHeader(source, destination, PROTOCOL, length), b, off, length);
        int c = Checksum.finish(sum);
        Bytes.put16(b, off + 6, c == 0 ? 0xffff : c);
    }
}
