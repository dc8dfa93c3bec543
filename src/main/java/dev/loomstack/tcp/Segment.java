package dev.loomstack.tcp;

import dev.loomstack.packet.TcpOptions;

/**
 * One inbound segment as TCP's input processing sees it, filled by {@link TcpProtocol} and reused
 * for every segment on the reader thread. Nothing may keep it past the call.
 */
final class Segment {
    int sequence;
    int acknowledgment;
    int flags;
    int window;
    byte[] array;
    int payloadOffset;
    int payloadLength;
    /**
     * The segments this one stands for: more than one for a super-segment the peer's kernel (or
     * the link's receive coalescing) handed over whole, counted at its segment size, so that ACKs
     * go as often as for the segments one by one (RFC 9293 section 3.8.6.3).
     */
    int segments = 1;
    final TcpOptions options = new TcpOptions();

    /** ceil(payload / segmentSize) for a super-segment; 1 for a plain segment (segmentSize 0). */
    static int segmentsIn(int payloadLength, int segmentSize) {
        if (segmentSize <= 0 || payloadLength <= segmentSize) {
            return 1;
        }
        return (payloadLength + segmentSize - 1) / segmentSize;
    }

    boolean has(int flag) {
        return (flags & flag) != 0;
    }

    /** SEG.LEN: data plus one for SYN and one for FIN (RFC 9293 section 3.4). */
    int sequenceLength() {
        int n = payloadLength;
        if (has(dev.loomstack.packet.TcpHeader.SYN)) {
            n++;
        }
        if (has(dev.loomstack.packet.TcpHeader.FIN)) {
            n++;
        }
        return n;
    }
}
