package dev.loomstack.tcp;

import dev.loomstack.packet.Bytes;
import dev.loomstack.packet.TcpHeader;
import dev.loomstack.packet.TcpOptions;

/**
 * The TCP fields of one packet on a simulated wire, as a filter or a trace sees them. Sequence
 * numbers are also given as offsets into their direction's byte stream (0 is the first data byte,
 * the one after the SYN), so a scenario can name "the segment carrying byte 1 MiB" without knowing
 * the random initial sequence numbers. One view is refilled for every packet; keep numbers, not the view.
 */
final class WireSegment {
    /** An offset when the SYN it is relative to has not been seen. */
    static final long UNKNOWN = -1;
    private static final long U32 = 0xffff_ffffL;

    private boolean tcp;
    private int seq;
    private int ack;
    private int flags;
    private int payloadLength;
    private long offset;
    private long ackOffset;
    private final TcpOptions options = new TcpOptions();
    private final long[] sackStartOffset = new long[TcpOptions.MAX_SACK_BLOCKS];
    private final long[] sackEndOffset = new long[TcpOptions.MAX_SACK_BLOCKS];

    /**
     * Reads the IP packet in {@code b[off, off+len)}. {@code ownSyn} is the sequence number of the SYN
     * sent in this packet's direction, {@code peerSyn} that of the other direction, each null while unseen.
     */
    WireSegment parse(byte[] b, int off, int len, Integer ownSyn, Integer peerSyn) {
        tcp = false;
        if (len < 1) {
            return this;
        }
        int version = (b[off] & 0xff) >>> 4;
        int tcpAt;
        int ipPayload;
        if (version == 4 && len >= 20) {
            int ihl = (b[off] & 0x0f) * 4;
            if ((b[off + 9] & 0xff) != TcpHeader.PROTOCOL || (Bytes.u16(b, off + 6) & 0x3fff) != 0) {
                return this;
            }
            tcpAt = off + ihl;
            ipPayload = Math.min(Bytes.u16(b, off + 2), len) - ihl;
        } else if (version == 6 && len >= 40) {
            if ((b[off + 6] & 0xff) != TcpHeader.PROTOCOL) {
                return this;
            }
            tcpAt = off + 40;
            ipPayload = Math.min(Bytes.u16(b, off + 4), len - 40);
        } else {
            return this;
        }
        if (ipPayload < TcpHeader.MIN_LENGTH) {
            return this;
        }
        int headerLength = TcpHeader.headerLength(b, tcpAt);
        if (headerLength < TcpHeader.MIN_LENGTH || headerLength > ipPayload
                || !options.parse(b, tcpAt + TcpHeader.MIN_LENGTH, tcpAt + headerLength)) {
            return this;
        }
        tcp = true;
        seq = TcpHeader.sequence(b, tcpAt);
        ack = TcpHeader.acknowledgment(b, tcpAt);
        flags = TcpHeader.flags(b, tcpAt);
        payloadLength = ipPayload - headerLength;
        offset = relative(seq, ownSyn);
        ackOffset = (flags & TcpHeader.ACK) != 0 ? relative(ack, peerSyn) : UNKNOWN;
        for (int i = 0; i < options.sackCount; i++) {
            sackStartOffset[i] = relative(options.sackStart[i], peerSyn);
            sackEndOffset[i] = relative(options.sackEnd[i], peerSyn);
        }
        return this;
    }

    /** Bytes from the first data byte after {@code syn} to {@code seq}, modulo 2^32. */
    private static long relative(int seq, Integer syn) {
        return syn == null ? UNKNOWN : (seq - syn - 1) & U32;
    }

    /** False for anything but an unfragmented TCP segment with well-formed options. */
    boolean tcp() {
        return tcp;
    }

    int seq() {
        return seq;
    }

    int ack() {
        return ack;
    }

    int flags() {
        return flags;
    }

    boolean has(int flag) {
        return (flags & flag) != 0;
    }

    int payloadLength() {
        return payloadLength;
    }

    /** The stream offset of the first payload byte, or {@link #UNKNOWN}. */
    long offset() {
        return offset;
    }

    /** True when this segment carries the stream byte at {@code streamOffset}. */
    boolean carries(long streamOffset) {
        return tcp && payloadLength > 0 && offset != UNKNOWN && streamOffset >= offset
                && streamOffset < offset + payloadLength;
    }

    /** The acknowledgment as an offset into the other direction's stream, or {@link #UNKNOWN}. */
    long ackOffset() {
        return ackOffset;
    }

    int sackBlocks() {
        return tcp ? options.sackCount : 0;
    }

    /** Start of SACK block {@code i} as an offset into the other direction's stream. */
    long sackStartOffset(int i) {
        return sackStartOffset[i];
    }

    long sackEndOffset(int i) {
        return sackEndOffset[i];
    }

    @Override
    public String toString() {
        return tcp ? "TCP[" + TcpHeader.flagString(flags) + " off=" + offset + " len=" + payloadLength + " ack="
                + ackOffset + "]" : "not TCP";
    }
}
