package dev.loomstack.packet;

/**
 * A flyweight view over an IPv6 header (RFC 8200 section 3) and its extension-header chain
 * (section 4), and the static writer for a fixed header. {@link #walk()} follows the chain once
 * and leaves the transport protocol, its offset and any fragment header's fields in this view.
 */
public final class Ipv6Header {
    public static final int VERSION = 6;
    public static final int LENGTH = 40;
    public static final int SOURCE_OFFSET = 8;
    public static final int DESTINATION_OFFSET = 24;
    public static final int DEFAULT_HOP_LIMIT = 64;
    /** RFC 8200 section 5: every link carries at least this much. */
    public static final int MIN_MTU = 1280;

    public static final int HOP_BY_HOP = 0;
    public static final int ROUTING = 43;
    public static final int FRAGMENT = 44;
    public static final int DESTINATION_OPTIONS = 60;
    public static final int NO_NEXT_HEADER = 59;
    public static final int FRAGMENT_HEADER_LENGTH = 8;
    /** A chain longer than this is refused rather than walked (bounded work per packet). */
    public static final int MAX_EXTENSION_HEADERS = 8;

    private byte[] b;
    private int off;
    private int len;

    // Results of walk().
    private int transportProtocol;
    private int transportOffset;
    private int fragmentHeaderOffset;
    private int fragmentablePartOffset;
    private int fragmentNextHeader;

    public Ipv6Header wrap(byte[] bytes, int offset, int length) {
        this.b = bytes;
        this.off = offset;
        this.len = length;
        this.fragmentHeaderOffset = -1;
        return this;
    }

    public byte[] array() {
        return b;
    }

    public int offset() {
        return off;
    }

    /** Version, and a payload length that fits the bytes at hand. */
    public Validity validate() {
        if (len < LENGTH) {
            return Validity.TRUNCATED;
        }
        if (version() != VERSION) {
            return Validity.BAD_VERSION;
        }
        if (LENGTH + payloadLength() > len) {
            return Validity.BAD_PAYLOAD_LENGTH;
        }
        return Validity.OK;
    }

    public int version() {
        return (b[off] & 0xff) >>> 4;
    }

    public int payloadLength() {
        return Bytes.u16(b, off + 4);
    }

    /** Header plus payload. */
    public int totalLength() {
        return LENGTH + payloadLength();
    }

    public int nextHeader() {
        return b[off + 6] & 0xff;
    }

    public int hopLimit() {
        return b[off + 7] & 0xff;
    }

    public int sourceOffset() {
        return off + SOURCE_OFFSET;
    }

    public int destinationOffset() {
        return off + DESTINATION_OFFSET;
    }

    /** Allocates; slow paths only. */
    public IpAddress source() {
        return IpAddress.read(b, sourceOffset(), 16);
    }

    /** Allocates; slow paths only. */
    public IpAddress destination() {
        return IpAddress.read(b, destinationOffset(), 16);
    }

    /**
     * Follows the extension-header chain (RFC 8200 section 4.1 order; hop-by-hop only directly after
     * the fixed header). Options are processed per section 4.2: an unrecognised option whose action
     * bits are not 00 discards the packet. A routing header with segments left is refused, since
     * Loomstack is not a source-routing hop (section 4.4).
     */
    public Validity walk() {
        int end = off + totalLength();
        int next = nextHeader();
        int i = off + LENGTH;
        fragmentHeaderOffset = -1;
        fragmentablePartOffset = i;
        for (int n = 0; ; n++) {
            switch (next) {
                case HOP_BY_HOP, DESTINATION_OPTIONS -> {
                    if (next == HOP_BY_HOP && n != 0) {
                        return Validity.BAD_EXTENSION_HEADER;
                    }
                    if (i + 8 > end) {
                        return Validity.TRUNCATED;
                    }
                    int hlen = ((b[i + 1] & 0xff) + 1) * 8;
                    if (i + hlen > end) {
                        return Validity.TRUNCATED;
                    }
                    if (!optionsAcceptable(i + 2, i + hlen)) {
                        return Validity.BAD_EXTENSION_HEADER;
                    }
                    next = b[i] & 0xff;
                    i += hlen;
                    if (fragmentHeaderOffset < 0) {
                        fragmentablePartOffset = i;
                    }
                }
                case ROUTING -> {
                    if (i + 8 > end) {
                        return Validity.TRUNCATED;
                    }
                    int hlen = ((b[i + 1] & 0xff) + 1) * 8;
                    if (i + hlen > end) {
                        return Validity.TRUNCATED;
                    }
                    if ((b[i + 3] & 0xff) != 0) {
                        return Validity.BAD_EXTENSION_HEADER;
                    }
                    next = b[i] & 0xff;
                    i += hlen;
                    if (fragmentHeaderOffset < 0) {
                        fragmentablePartOffset = i;
                    }
                }
                case FRAGMENT -> {
                    if (fragmentHeaderOffset >= 0) {
                        return Validity.BAD_EXTENSION_HEADER;
                    }
                    if (i + FRAGMENT_HEADER_LENGTH > end) {
                        return Validity.TRUNCATED;
                    }
                    fragmentHeaderOffset = i;
                    fragmentablePartOffset = i;
                    fragmentNextHeader = b[i] & 0xff;
                    next = fragmentNextHeader;
                    i += FRAGMENT_HEADER_LENGTH;
                    if (isFragment()) {
                        // RFC 8200 section 4.5: the rest of the chain may sit in later fragments;
                        // the reassembled packet is walked again.
                        transportProtocol = next;
                        transportOffset = i;
                        return Validity.OK;
                    }
                }
                default -> {
                    transportProtocol = next;
                    transportOffset = i;
                    return Validity.OK;
                }
            }
            if (n + 1 >= MAX_EXTENSION_HEADERS) {
                return Validity.BAD_EXTENSION_HEADER;
            }
        }
    }

    private boolean optionsAcceptable(int from, int to) {
        int i = from;
        while (i < to) {
            int type = b[i] & 0xff;
            if (type == 0) {
                i++;
                continue;
            }
            if (i + 1 >= to) {
                return false;
            }
            int olen = (b[i + 1] & 0xff) + 2;
            if (i + olen > to) {
                return false;
            }
            // PadN (1) and Router Alert (5) are known; others are judged by the action bits.
            if (type != 1 && type != 5 && (type >>> 6) != 0) {
                return false;
            }
            i += olen;
        }
        return true;
    }

    /** After {@link #walk()}: the upper-layer protocol (or the fragment's next header). */
    public int transportProtocol() {
        return transportProtocol;
    }

    /** After {@link #walk()}: where the upper-layer header (or fragment data) begins. */
    public int transportOffset() {
        return transportOffset;
    }

    public int transportLength() {
        return off + totalLength() - transportOffset;
    }

    public boolean hasFragmentHeader() {
        return fragmentHeaderOffset >= 0;
    }

    /** A fragment header that is not an atomic fragment (RFC 6946). */
    public boolean isFragment() {
        return fragmentHeaderOffset >= 0 && (fragmentOffset() != 0 || moreFragments());
    }

    public int fragmentHeaderOffset() {
        return fragmentHeaderOffset;
    }

    /** The offset where the per-fragment headers end (the unfragmentable part's end). */
    public int fragmentablePartOffset() {
        return fragmentablePartOffset;
    }

    public int fragmentOffset() {
        return Bytes.u16(b, fragmentHeaderOffset + 2) & 0xfff8;
    }

    public boolean moreFragments() {
        return (b[fragmentHeaderOffset + 3] & 1) != 0;
    }

    public long fragmentIdentification() {
        return Bytes.u32(b, fragmentHeaderOffset + 4);
    }

    /** Writes the fixed header at {@code offset}. */
    public static void write(byte[] b, int offset, int payloadLength, int nextHeader, int hopLimit,
                             IpAddress source, IpAddress destination) {
        Bytes.put32(b, offset, 0x60000000);
        Bytes.put16(b, offset + 4, payloadLength);
        b[offset + 6] = (byte) nextHeader;
        b[offset + 7] = (byte) hopLimit;
        source.write(b, offset + SOURCE_OFFSET);
        destination.write(b, offset + DESTINATION_OFFSET);
    }

    /** Writes a fragment header (RFC 8200 section 4.5) at {@code offset}. */
    public static void writeFragmentHeader(byte[] b, int offset, int nextHeader, int byteOffset, boolean more,
                                           long identification) {
        b[offset] = (byte) nextHeader;
        b[offset + 1] = 0;
        Bytes.put16(b, offset + 2, (byteOffset & 0xfff8) | (more ? 1 : 0));
        Bytes.put32(b, offset + 4, identification);
    }

    /** Why a header or chain was refused. */
    public enum Validity { OK, TRUNCATED, BAD_VERSION, BAD_PAYLOAD_LENGTH, BAD_EXTENSION_HEADER }
}
