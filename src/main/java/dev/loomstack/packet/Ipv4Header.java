package dev.loomstack.packet;

/**
 * A flyweight view over an IPv4 header (RFC 791 section 3.1) and the static writer for one. A
 * reader thread keeps one instance and {@link #wrap re-wraps} it for every packet.
 */
public final class Ipv4Header {
    public static final int VERSION = 4;
    public static final int MIN_LENGTH = 20;
    public static final int MAX_LENGTH = 60;
    public static final int SOURCE_OFFSET = 12;
    public static final int DESTINATION_OFFSET = 16;
    public static final int FLAG_DONT_FRAGMENT = 0x4000;
    public static final int FLAG_MORE_FRAGMENTS = 0x2000;
    private static final int FRAGMENT_OFFSET_MASK = 0x1fff;
    /** RFC 791: the largest datagram the 16-bit total length can describe. */
    public static final int MAX_TOTAL_LENGTH = 65535;
    public static final int DEFAULT_TTL = 64;

    /** Option types this view recognises (RFC 791 section 3.1, RFC 2113). */
    public static final int OPTION_END = 0;
    public static final int OPTION_NOP = 1;
    public static final int OPTION_RECORD_ROUTE = 7;
    public static final int OPTION_TIMESTAMP = 68;
    public static final int OPTION_ROUTER_ALERT = 148;

    private byte[] b;
    private int off;
    private int len;

    public Ipv4Header wrap(byte[] bytes, int offset, int length) {
        this.b = bytes;
        this.off = offset;
        this.len = length;
        return this;
    }

    public byte[] array() {
        return b;
    }

    public int offset() {
        return off;
    }

    /**
     * Checks what must hold before any other getter is trusted: version, header length, total
     * length within the bytes at hand, and the header checksum.
     */
    public Validity validate() {
        if (len < MIN_LENGTH) {
            return Validity.TRUNCATED;
        }
        if (version() != VERSION) {
            return Validity.BAD_VERSION;
        }
        int hl = headerLength();
        if (hl < MIN_LENGTH || hl > len) {
            return Validity.BAD_HEADER_LENGTH;
        }
        int total = totalLength();
        if (total < hl || total > len) {
            return Validity.BAD_TOTAL_LENGTH;
        }
        if (Checksum.compute(b, off, hl) != 0) {
            return Validity.BAD_CHECKSUM;
        }
        return Validity.OK;
    }

    public int version() {
        return (b[off] & 0xff) >>> 4;
    }

    public int headerLength() {
        return (b[off] & 0x0f) * 4;
    }

    public int totalLength() {
        return Bytes.u16(b, off + 2);
    }

    public int identification() {
        return Bytes.u16(b, off + 4);
    }

    public boolean dontFragment() {
        return (Bytes.u16(b, off + 6) & FLAG_DONT_FRAGMENT) != 0;
    }

    public boolean moreFragments() {
        return (Bytes.u16(b, off + 6) & FLAG_MORE_FRAGMENTS) != 0;
    }

    /** The fragment's offset in bytes within the original datagram. */
    public int fragmentOffset() {
        return (Bytes.u16(b, off + 6) & FRAGMENT_OFFSET_MASK) * 8;
    }

    public boolean isFragment() {
        return moreFragments() || fragmentOffset() != 0;
    }

    public int ttl() {
        return b[off + 8] & 0xff;
    }

    public int protocol() {
        return b[off + 9] & 0xff;
    }

    public int sourceOffset() {
        return off + SOURCE_OFFSET;
    }

    public int destinationOffset() {
        return off + DESTINATION_OFFSET;
    }

    /** Allocates; slow paths only. */
    public IpAddress source() {
        return IpAddress.read(b, sourceOffset(), 4);
    }

    /** Allocates; slow paths only. */
    public IpAddress destination() {
        return IpAddress.read(b, destinationOffset(), 4);
    }

    public int payloadOffset() {
        return off + headerLength();
    }

    public int payloadLength() {
        return totalLength() - headerLength();
    }

    /**
     * Walks the options (RFC 791 section 3.1: single-octet END/NOP, otherwise type-length-value
     * with length counting both) and reports each to {@code sink}. Returns false when an option is
     * truncated, has a length below 2 or runs past the header.
     */
    public boolean walkOptions(OptionSink sink) {
        int end = off + headerLength();
        int i = off + MIN_LENGTH;
        while (i < end) {
            int type = b[i] & 0xff;
            if (type == OPTION_END) {
                return true;
            }
            if (type == OPTION_NOP) {
                i++;
                continue;
            }
            if (i + 1 >= end) {
                return false;
            }
            int olen = b[i + 1] & 0xff;
            if (olen < 2 || i + olen > end) {
                return false;
            }
            sink.option(type);
            i += olen;
        }
        return true;
    }

    /** Receives the type of each option {@link #walkOptions} meets. */
    @FunctionalInterface
    public interface OptionSink {
        void option(int type);
    }

    /**
     * Writes a 20-byte header without options at {@code offset}, checksum included.
     * {@code flagsAndOffset} is the raw flags/fragment-offset word (offset in 8-byte units).
     */
    public static void write(byte[] b, int offset, int totalLength, int identification, int flagsAndOffset,
                             int ttl, int protocol, IpAddress source, IpAddress destination) {
        b[offset] = 0x45;
        b[offset + 1] = 0;
        Bytes.put16(b, offset + 2, totalLength);
        Bytes.put16(b, offset + 4, identification);
        Bytes.put16(b, offset + 6, flagsAndOffset);
        b[offset + 8] = (byte) ttl;
        b[offset + 9] = (byte) protocol;
        Bytes.put16(b, offset + 10, 0);
        source.write(b, offset + SOURCE_OFFSET);
        destination.write(b, offset + DESTINATION_OFFSET);
        Bytes.put16(b, offset + 10, Checksum.compute(b, offset, MIN_LENGTH));
    }

    /** The flags/offset word for a fragment starting at {@code byteOffset}. */
    public static int fragmentWord(int byteOffset, boolean more) {
        return (byteOffset / 8) | (more ? FLAG_MORE_FRAGMENTS : 0);
    }

    /** Why a header was refused. */
    public enum Validity { OK, TRUNCATED, BAD_VERSION, BAD_HEADER_LENGTH, BAD_TOTAL_LENGTH, BAD_CHECKSUM }
}
