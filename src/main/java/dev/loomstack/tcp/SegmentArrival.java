package dev.loomstack.tcp;

import static dev.loomstack.packet.TcpHeader.ACK;
import static dev.loomstack.packet.TcpHeader.FIN;
import static dev.loomstack.packet.TcpHeader.RST;
import static dev.loomstack.packet.TcpHeader.SYN;

import dev.loomstack.packet.TcpOptions;
import java.net.ConnectException;
import java.net.SocketException;

/**
 * A segment arriving in a synchronized state, SYN-RECEIVED through TIME-WAIT: RFC 9293 section
 * 3.10.7.4's checks in their order:
 * <ol>
 *   <li>sequence number: PAWS first (RFC 7323 section 5.3), then the receive window; data below
 *       RCV.NXT rejected here is reported as a duplicate (RFC 2883 section 4);</li>
 *   <li>RST: reset only on an exact match, challenge otherwise (RFC 5961 section 3.2);</li>
 *   <li>SYN: a challenge ACK, never a reset (RFC 5961 section 4.2), or our lost SYN-ACK again;</li>
 *   <li>ACK: completes SYN-RECEIVED ({@link TcpHandshake}); too new draws an ACK, far too old a
 *       challenge (RFC 5961 section 5.2); the rest goes to the {@link TcpSender}; a FIN of ours
 *       acknowledged moves the close on;</li>
 *   <li>data into the {@link TcpReceiver}, acknowledged at once when out of order or filling a hole
 *       (RFC 5681 section 4.2), else as RFC 9293 section 3.8.6.3's delayed ACK;</li>
 *   <li>FIN, taken in order only, even when it arrived beyond a hole.</li>
 * </ol>
 * Then whatever the windows allow goes out. Like {@link TcpHandshake} it keeps no state; it runs
 * under the endpoint's lock and the transitions it causes are the endpoint's.
 */
final class SegmentArrival {
    private SegmentArrival() {
    }

    static void arrived(TcpEndpoint ep, Segment seg) {
        TcpOptions o = seg.options;
        TcpReceiver receiver = ep.receiver;
        SegmentWriter writer = ep.writer;
        TcpState state = ep.currentState();
        // RFC 7323 section 5.3: PAWS rejects old duplicates by their timestamps.
        if (ep.options.pawsRejects(o, seg.has(RST), state == TcpState.SYN_RECEIVED)) {
            ep.stats.invalidSegmentsReceived.increment();
            if (!seg.has(RST)) {
                receiver.duplicateArrived(seg.sequence, seg.payloadLength);
            }
            writer.sendAck();
            return;
        }
        if (!receiver.acceptable(seg.sequence, seg.sequenceLength())) {
            ep.stats.invalidSegmentsReceived.increment();
            if (!seg.has(RST)) {
                // Wholly below RCV.NXT: a duplicate, for the D-SACK block of this ACK.
                receiver.duplicateArrived(seg.sequence, seg.payloadLength);
                writer.sendAck();
            }
            return;
        }
        ep.options.noteTimestamp(o, seg.sequence, receiver.lastAckSent());
        if (seg.has(RST)) {
            reset(ep, seg, state);
            return;
        }
        if (seg.has(SYN)) {
            if (state == TcpState.SYN_RECEIVED && seg.sequence == receiver.irs()) {
                // Our SYN-ACK was lost: the peer's SYN comes again.
                writer.sendSyn(true);
                return;
            }
            // RFC 5961 section 4.2: a SYN in a synchronized state earns a challenge ACK, never a reset.
            writer.challengeAck();
            return;
        }
        if (!seg.has(ACK)) {
            return;
        }
        if (state == TcpState.SYN_RECEIVED && !TcpHandshake.synReceivedAck(ep, seg)) {
            return;
        }
        if (!acknowledgment(ep, seg)) {
            return;
        }
        if (seg.payloadLength > 0) {
            data(ep, seg);
        }
        if (seg.has(FIN)) {
            fin(ep, seg);
        }
        if (ep.currentState() == TcpState.CLOSED) {
            return;
        }
        ep.output();
    }

    /** RFC 5961 section 3.2: only an exact match resets; in-window guesses get a challenge. */
    private static void reset(TcpEndpoint ep, Segment seg, TcpState state) {
        if (seg.sequence != ep.receiver.rcvNxt()) {
            ep.writer.challengeAck();
            return;
        }
        ep.stats.resetsReceived.increment();
        if (state.countsAsEstablished()) {
            ep.stats.establishedResets.increment();
        }
        String peer = ep.remoteAddress() + ":" + ep.remotePort();
        if (state == TcpState.SYN_RECEIVED) {
            ep.stats.failedConnectionAttempts.increment();
            ep.terminate(new ConnectException("handshake reset by " + peer));
        } else {
            ep.terminate(new SocketException("Connection reset by " + peer));
        }
    }

    /** The ACK field (RFC 9293 section 3.10.7.4, fifth check; RFC 5961 section 5). False to stop. */
    private static boolean acknowledgment(TcpEndpoint ep, Segment seg) {
        TcpSender sender = ep.sender;
        int ack = seg.acknowledgment;
        if (Seq.gt(ack, sender.sndMax())) {
            // Acknowledges something not yet sent.
            ep.stats.invalidSegmentsReceived.increment();
            ep.writer.sendAck();
            return false;
        }
        if (Seq.lt(ack, sender.sndUna() - sender.maxSndWnd())) {
            // RFC 5961 section 5.2: far below SND.UNA, likely forged.
            ep.stats.invalidSegmentsReceived.increment();
            ep.writer.challengeAck();
            return false;
        }
        ep.stats.validSegmentsReceived.increment();
        if (sender.ackArrived(seg, ep.now())) {
            ep.newDataAcknowledged();
        }
        if (sender.finSent() && Seq.gt(ack, sender.finSeq())) {
            return ep.ourFinAcknowledged();
        }
        return true;
    }

    private static void data(TcpEndpoint ep, Segment seg) {
        TcpState state = ep.currentState();
        if (state != TcpState.ESTABLISHED && state != TcpState.FIN_WAIT_1 && state != TcpState.FIN_WAIT_2) {
            return;
        }
        TcpReceiver receiver = ep.receiver;
        int placed = receiver.place(seg.sequence, seg.array, seg.payloadOffset, seg.payloadLength);
        if (placed == TcpReceiver.NOTHING_NEW || placed == TcpReceiver.OUT_OF_ORDER) {
            // RFC 5681 section 4.2: an out-of-order segment is acknowledged at once (a duplicate ACK).
            ep.writer.sendAck();
            return;
        }
        if (placed == TcpReceiver.FILLED_HOLE_TO_FIN) {
            ep.acceptFin();
        }
        ep.dataReadable();
        if (receiver.inOrderSegmentCounted(placed != TcpReceiver.IN_ORDER, seg.segments)) {
            ep.writer.sendAck();
        } else {
            ep.delayAck();
        }
    }

    private static void fin(TcpEndpoint ep, Segment seg) {
        TcpState state = ep.currentState();
        if (state == TcpState.CLOSE_WAIT || state == TcpState.CLOSING || state == TcpState.LAST_ACK) {
            ep.writer.sendAck();
            return;
        }
        if (state == TcpState.TIME_WAIT) {
            // RFC 9293 section 3.10.7.4: a retransmitted FIN restarts the 2 MSL timeout.
            ep.writer.sendAck();
            ep.restartTimeWait();
            return;
        }
        if (ep.receiver.finArrived(seg.sequence + seg.payloadLength)) {
            ep.acceptFin();
        }
    }
}
