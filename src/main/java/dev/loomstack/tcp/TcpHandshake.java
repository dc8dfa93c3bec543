package dev.loomstack.tcp;

import static dev.loomstack.packet.TcpHeader.ACK;
import static dev.loomstack.packet.TcpHeader.RST;
import static dev.loomstack.packet.TcpHeader.SYN;

import dev.loomstack.packet.TcpOptions;
import java.net.ConnectException;

/**
 * The three-way handshake of one endpoint: active open (RFC 9293 section 3.10.1), passive open
 * from a SYN (section 3.10.7.2 as the listener and forwarder hand it over), a segment in SYN-SENT
 * (section 3.10.7.3, including simultaneous open, section 3.5 figure 7), and the ACK that completes
 * SYN-RECEIVED (section 3.10.7.4). It applies the options both SYNs settled (RFC 7323 section 2.2,
 * RFC 2018 section 2, RFC 6691) to the sender and receiver.
 *
 * <p>It keeps no state of its own (ISS sits with the sender, IRS with the receiver, the options in
 * {@link NegotiatedOptions}), so it costs an idle connection nothing. Called only under the
 * endpoint's lock; the state transitions it causes are the endpoint's.
 */
final class TcpHandshake {
    private TcpHandshake() {
    }

    /** Active open: SYN out, SYN-SENT. */
    static void connect(TcpEndpoint ep) {
        ep.sender.open(ep.protocol().isn(ep.localAddress(), ep.localPort(), ep.remoteAddress(), ep.remotePort()));
        ep.setState(TcpState.SYN_SENT);
        ep.stats.activeConnectionOpenings.increment();
        ep.writer.sendSyn(false);
        ep.timers.armRetransmit();
    }

    /** Passive open from a SYN (listener or forwarder): SYN-ACK out, SYN-RECEIVED. */
    static void acceptSyn(TcpEndpoint ep, SynInfo syn) {
        ep.receiver.synchronize(syn.sequence());
        applyPeerSynOptions(ep, syn.mss(), syn.windowScale(), syn.sackPermitted(), syn.hasTimestamps(), syn.tsVal());
        ep.sender.peerWindow(syn.window());
        ep.sender.open(ep.protocol().isn(ep.localAddress(), ep.localPort(), ep.remoteAddress(), ep.remotePort()));
        ep.setState(TcpState.SYN_RECEIVED);
        ep.stats.passiveConnectionOpenings.increment();
        ep.writer.sendSyn(true);
        ep.timers.armRetransmit();
    }

    private static void applyPeerSynOptions(TcpEndpoint ep, int peerMss, int peerShift, boolean peerSack,
                                            boolean peerTs, int peerTsVal) {
        NegotiatedOptions options = ep.options;
        int sendMss = options.agree(ep.localAddress().v4(), peerMss, peerShift, peerSack, peerTs, peerTsVal);
        ep.receiver.windowScaling(options.wsOk());
        ep.receiver.sackAgreed(options.sackOk());
        ep.sender.negotiated(options.wsOk() ? peerShift : 0, sendMss,
                ep.settings.congestionControl().create(sendMss));
        ep.heardFromPeer();
    }

    /** RFC 9293 section 3.10.7.3: a segment in SYN-SENT. */
    static void synSentArrived(TcpEndpoint ep, Segment seg) {
        TcpSender sender = ep.sender;
        boolean ack = seg.has(ACK);
        if (ack && (Seq.leq(seg.acknowledgment, sender.iss()) || Seq.gt(seg.acknowledgment, sender.sndMax()))) {
            if (!seg.has(RST)) {
                ep.writer.sendControl(seg.acknowledgment, 0, RST);
            }
            ep.stats.invalidSegmentsReceived.increment();
            return;
        }
        if (seg.has(RST)) {
            if (ack) {
                ep.stats.resetsReceived.increment();
                ep.stats.failedConnectionAttempts.increment();
                ep.terminate(new ConnectException("Connection refused by " + ep.remoteAddress() + ":" + ep.remotePort()));
            }
            return;
        }
        if (!seg.has(SYN)) {
            return;
        }
        TcpOptions o = seg.options;
        ep.receiver.synchronize(seg.sequence);
        applyPeerSynOptions(ep, o.mss, o.windowScale, o.sackPermitted, o.hasTimestamps, o.tsVal);
        sender.peerWindow(seg.window);
        sender.windowUpdateMark(seg.sequence, seg.acknowledgment);
        if (ack) {
            sender.acknowledgeSyn(seg.acknowledgment);
            if (ep.options.tsOk() && o.tsEcr != 0) {
                ep.rtt.sample(ep.options.rttFromEcho(o.tsEcr));
            }
            ep.handshakeAcknowledged();
            ep.writer.sendAck();
        } else {
            // Simultaneous open (RFC 9293 section 3.5, figure 7).
            ep.setState(TcpState.SYN_RECEIVED);
            ep.writer.sendSyn(true);
        }
    }

    /**
     * RFC 9293 section 3.10.7.4, in SYN-RECEIVED: an ACK of our SYN establishes the connection; any
     * other ACK draws a reset.
     *
     * @return false when the segment was answered with a reset and goes no further
     */
    static boolean synReceivedAck(TcpEndpoint ep, Segment seg) {
        TcpSender sender = ep.sender;
        if (Seq.gt(seg.acknowledgment, sender.sndUna()) && Seq.leq(seg.acknowledgment, sender.sndMax())) {
            sender.synAcknowledged(seg.sequence, seg.acknowledgment, seg.window);
            TcpOptions o = seg.options;
            if (ep.options.tsOk() && o.hasTimestamps && o.tsEcr != 0) {
                ep.rtt.sample(ep.options.rttFromEcho(o.tsEcr));
            }
            ep.handshakeAcknowledged();
            return true;
        }
        ep.writer.sendControl(seg.acknowledgment, 0, RST);
        return false;
    }
}
