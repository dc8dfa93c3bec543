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
    final TcpOptions options = new TcpOptions();

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
