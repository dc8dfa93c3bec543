package dev.loomstack.tcp;

import static dev.loomstack.packet.TcpHeader.ACK;
import static dev.loomstack.packet.TcpHeader.FIN;
import static dev.loomstack.packet.TcpHeader.PSH;

import dev.loomstack.packet.TcpOptions;
import dev.loomstack.stack.Clock;
import dev.loomstack.stack.Stats;

/**
 * The send half of a connection: the send sequence space of RFC 9293 section 3.3.1 (ISS, SND.UNA,
 * SND.WND, SND.WL1, SND.WL2, and SND.MAX, the highest sequence sent, which is SND.NXT too: what is
 * sent again is taken from the record of segments sent, never by moving SND.NXT back), the send
 * buffer, and deciding what goes out next:
 * <ul>
 *   <li>segmentation to the MSS less the options carried (RFC 9293 section 3.7.1, RFC 6691);</li>
 *   <li>the usable window: cwnd less what is in flight as RFC 6675 section 4 counts it (pipe),
 *       within SND.WND (RFC 5681 section 3.1, RFC 9293 section 3.8.6);</li>
 *   <li>Nagle's algorithm (RFC 9293 section 3.7.4);</li>
 *   <li>the FIN after the last byte (RFC 9293 section 3.10.4);</li>
 *   <li>the send window update rule (RFC 9293 section 3.10.7.4);</li>
 *   <li>one timed segment at a time for RTT samples without timestamps, with Karn's rule
 *       (RFC 6298 section 3);</li>
 *   <li>restart after idle (RFC 5681 section 4.1);</li>
 *   <li>the tail loss probe's segment (RFC 8985 section 7.3).</li>
 * </ul>
 * Loss detection and recovery sit in {@link LossRecovery}, which this class consults on every ACK
 * and while sending; what it sends again goes through {@link #resend}.
 * The segments themselves are built by the endpoint behind {@link Wire}. Called only under the
 * endpoint's lock; not thread-safe on its own.
 */
final class TcpSender {
    /** What the sender needs from the endpoint: building segments and the timers they start. */
    interface Wire {
        /** Sends {@code len} bytes found {@code bufferOffset} into the send buffer as sequence {@code seq}. */
        void emitData(int seq, int flags, int bufferOffset, int len);

        /**
         * Sends {@code len} bytes, {@code segmentSize} to a segment, as one super-segment the link
         * cuts (segmentation offload); {@code flags} are those of its last segment.
         */
        default void emitSuperSegment(int seq, int flags, int bufferOffset, int len, int segmentSize) {
            throw new UnsupportedOperationException("no segmentation offload");
        }

        /**
         * How many segments of {@code segmentSize} data bytes one packet may carry for the link to
         * cut; 1 when the link does no segmentation offload.
         */
        default int segmentsPerPacket(int segmentSize) {
            return 1;
        }

        /** Sends, or sends again, the FIN at sequence {@code seq}. */
        void emitFin(int seq);

        /** Option bytes beyond the timestamps that the next data segment must leave room for (SACK blocks). */
        int sackOptionRoom();

        /** A segment went out: the retransmission timer starts if idle; new data moves the tail loss probe. */
        void segmentSent(boolean newData);

        /** Data waits and the peer's window is zero: the persist timer starts unless it runs. */
        void zeroWindow();

        /** The peer's window opened from zero: zero-window probes stop. */
        void windowOpened();

        /** RACK waits on segments that may yet arrive: look again after {@code delayNanos} (RFC 8985 section 6.3). */
        void lossDetectionTimer(long delayNanos);
    }

    /** Most segments one {@link #output} call sends before it yields (bounds the time under the lock). */
    static final int MAX_SEGMENTS_PER_OUTPUT = 1024;

    private final Stats.TcpStats stats;
    private final Clock clock;
    private final RttEstimator rtt;
    private final NegotiatedOptions options;
    private final Wire wire;
    private final ByteRing sendBuffer;
    private final LossRecovery recovery;
    private CongestionControl cc;

    private int iss;
    private int sndUna;
    /** SND.MAX, the sequence after the highest sent; with retransmissions taken from the record of segments sent, it is SND.NXT too. */
    private int sndMax;
    private int sndWnd;
    private int sndWl1;
    private int sndWl2;
    private int maxSndWnd;
    private int sndShift;
    private int sendMss;
    private boolean finQueued;
    private boolean finSent;
    private int finSeq;
    private boolean nagle;
    /** The segment timed for an RTT sample when timestamps are off, and when it left; -1: none. */
    private int rttSeq;
    private long rttStart = -1;
    private long lastSendNanos;

    TcpSender(int sendBufferSize, boolean nagle, RttEstimator rtt, NegotiatedOptions options, Stats.TcpStats stats,
              Clock clock, Wire wire) {
        this.sendBuffer = new ByteRing(sendBufferSize);
        this.nagle = nagle;
        this.rtt = rtt;
        this.options = options;
        this.stats = stats;
        this.clock = clock;
        this.wire = wire;
        this.recovery = new LossRecovery(this, options, stats);
    }

    // ---- synchronization -------------------------------------------------------------------------

    /** Our SYN takes ISS; data starts after it. */
    void open(int initialSendSequence) {
        iss = initialSendSequence;
        sndUna = iss;
        sndMax = iss + 1;
    }

    /** What the options of both SYNs settled: the peer's window scale, the segment size, the controller. */
    void negotiated(int peerShift, int mss, CongestionControl controller) {
        sndShift = peerShift;
        sendMss = mss;
        cc = controller;
    }

    /** The peer's SYN carried its first (never scaled, RFC 7323 section 2.2) window. */
    void peerWindow(int window) {
        sndWnd = window;
        maxSndWnd = sndWnd;
    }

    /** RFC 9293 section 3.10.7.3: in SYN-SENT, a SYN from the peer fixes SND.WL1 and SND.WL2. */
    void windowUpdateMark(int seq, int ack) {
        sndWl1 = seq;
        sndWl2 = ack;
    }

    /** RFC 9293 section 3.10.7.3: in SYN-SENT, an acceptable ACK of our SYN. */
    void acknowledgeSyn(int ack) {
        sndUna = ack;
    }

    /** RFC 9293 section 3.10.7.4: in SYN-RECEIVED, an acceptable ACK acknowledges our SYN and brings a window. */
    void synAcknowledged(int seq, int ack, int window) {
        sndUna = ack;
        sndWnd = window << sndShift;
        maxSndWnd = Math.max(maxSndWnd, sndWnd);
        sndWl1 = seq;
        sndWl2 = ack;
    }

    // ---- acknowledgments -------------------------------------------------------------------------

    /**
     * The acknowledgment of an acceptable segment (RFC 9293 section 3.10.7.4, fifth check, once the
     * endpoint's RFC 5961 section 5.2 checks passed): new data acknowledged, with its RTT sample
     * (RFC 6298 section 3, RFC 7323 section 4), then loss detection and recovery over the ACK and
     * its SACK blocks ({@link LossRecovery}), then the send window.
     *
     * @return whether SND.UNA advanced (the endpoint restarts the RTO and wakes writers)
     */
    boolean ackArrived(Segment seg, long now) {
        TcpOptions o = seg.options;
        int ack = seg.acknowledgment;
        int window = seg.window << sndShift;
        int priorUna = sndUna;
        boolean advanced = Seq.gt(ack, sndUna);
        // RFC 5681 section 2: a duplicate ACK carries no data, leaves the window and SND.UNA alone.
        boolean duplicate = !advanced && ack == sndUna && seg.payloadLength == 0 && !seg.has(FIN)
                && window == sndWnd && sndMax != sndUna;
        int dataAcked = 0;
        long sample = -1;
        if (advanced) {
            dataAcked = acknowledge(ack);
            if (options.tsOk() && o.hasTimestamps && o.tsEcr != 0) {
                sample = options.rttFromEcho(o.tsEcr);
            } else {
                sample = timedSample(ack, now);
            }
        }
        long reorderTimeout = recovery.ackArrived(o, ack, priorUna, dataAcked, duplicate, sample, now);
        if (reorderTimeout > 0) {
            wire.lossDetectionTimer(reorderTimeout);
        }
        // RFC 9293 section 3.10.7.4: update the send window from the newest segment.
        if (updateWindow(seg.sequence, ack, window)) {
            wire.windowOpened();
        }
        return advanced;
    }

    /**
     * RFC 9293 section 3.10.7.4: takes the send window from the newest segment, judged by SND.WL1
     * and SND.WL2. {@code window} is already scaled.
     *
     * @return true when a zero window opened
     */
    boolean updateWindow(int seq, int ack, int window) {
        if (Seq.lt(sndWl1, seq) || (sndWl1 == seq && Seq.leq(sndWl2, ack))) {
            boolean opened = sndWnd == 0 && window > 0;
            sndWnd = window;
            maxSndWnd = Math.max(maxSndWnd, window);
            sndWl1 = seq;
            sndWl2 = ack;
            return opened;
        }
        return false;
    }

    /**
     * Moves SND.UNA to {@code ack} (beyond it) and frees the acknowledged bytes.
     *
     * @return data bytes acknowledged (the SYN or FIN's sequence number is not data)
     */
    int acknowledge(int ack) {
        int acked = ack - sndUna;
        int dataEnd = dataEnd();
        int dataAcked = Seq.gt(ack, dataEnd) ? dataEnd - sndUna : acked;
        sendBuffer.skip(dataAcked);
        sndUna = ack;
        return dataAcked;
    }

    /** The RTT sample from the timed segment if {@code ack} covers it (RFC 6298 section 3), else -1. */
    long timedSample(int ack, long now) {
        if (rttStart >= 0 && Seq.gt(ack, rttSeq)) {
            long sample = now - rttStart;
            rttStart = -1;
            return sample;
        }
        return -1;
    }

    // ---- sending ---------------------------------------------------------------------------------

    /**
     * Sends what the windows allow (RFC 9293 section 3.8.6, with in flight counted as RFC 6675's
     * pipe; {@link LossRecovery#sendOne} during recovery), the FIN when its turn comes, and starts
     * the persist timer on a zero window.
     *
     * @return whether anything went out
     */
    boolean output(long now) {
        if (sndUna == sndMax && lastSendNanos != 0 && now - lastSendNanos > rtt.rtoNanos()) {
            // RFC 5681 section 4.1: restart from a small window after an idle period.
            cc.onIdleRestart(now);
        }
        boolean sent = false;
        for (int guard = 0; guard < MAX_SEGMENTS_PER_OUTPUT; guard++) {
            if (recovery.inRecovery()) {
                if (!recovery.sendOne(now)) {
                    break;
                }
                sent = true;
                continue;
            }
            int dataEnd = dataEnd();
            int usable = Math.min(cc.congestionWindow() - recovery.pipe(), sndUna + sndWnd - sndMax);
            int avail = dataEnd - sndMax;
            int full = Math.min(sendMss - wire.sackOptionRoom(), avail);
            int len = Math.min(full, usable);
            if (len > 0 && len < full && sndMax != sndUna && len < maxSndWnd / 2) {
                // Window-limited: wait for room for a whole segment rather than send a runt, which
                // costs a packet like any other and may sit in the receiver's delayed-ACK timer
                // (RFC 9293 section 3.8.6.2.1: a full segment, or half the largest window seen).
                break;
            }
            if (len > 0) {
                // Nagle (RFC 9293 section 3.7.4): hold a small segment while data is unacknowledged.
                if (len < sendMss && len == avail && nagle && sndMax != sndUna && !finQueued) {
                    break;
                }
                // Several whole segments the windows allow now leave as one super-segment for the
                // link to cut: the same segments this loop would send one by one.
                int pieces = Math.min(Math.min(usable, avail) / full,
                        Math.min(wire.segmentsPerPacket(full), MAX_SEGMENTS_PER_OUTPUT - guard));
                if (pieces >= 2) {
                    int sentPieces = sendSegments(full, pieces, usable - pieces * full < full);
                    if (sentPieces == 0) {
                        break;
                    }
                    guard += sentPieces - 1;
                    sent = true;
                    continue;
                }
                // The last segment the windows allow now is pushed: the sender waits on its ACK.
                if (sendNewData(len, usable - len < full) == 0) {
                    break;
                }
                sent = true;
                continue;
            }
            if (avail == 0 && finQueued && !finSent) {
                finSeq = dataEnd;
                finSent = true;
                wire.emitFin(finSeq);
                sndMax = finSeq + 1;
                wire.segmentSent(true);
                sent = true;
            }
            if (avail > 0 && sndWnd == 0 && sndUna == sndMax) {
                // RFC 9293 section 3.8.6.1: probe a zero window so its reopening is never missed.
                wire.zeroWindow();
            }
            break;
        }
        return sent;
    }

    /**
     * Sends up to {@code max} bytes of new data at SND.MAX, as the peer's window and the record of
     * segments in flight allow. SACK blocks take their room from the MSS (RFC 9293 section 3.7.1,
     * RFC 6691: the sender reduces the data for the options it includes).
     *
     * @return the bytes sent, 0 if none could be
     */
    int sendNewData(int max, boolean push) {
        int len = Math.min(Math.min(max, sendMss - wire.sackOptionRoom()),
                Math.min(dataEnd() - sndMax, sndUna + sndWnd - sndMax));
        if (len <= 0 || recovery.sent().isFull()) {
            return 0;
        }
        int seq = sndMax;
        long now = clock.nanoTime();
        lastSendNanos = now;
        emit(seq, len, push);
        if (rttStart < 0 && !options.tsOk()) {
            // Without timestamps (RFC 7323 section 4) one segment at a time is timed.
            rttSeq = seq;
            rttStart = now;
        }
        sndMax = seq + len;
        recovery.sent().sent(seq, seq + len, now);
        wire.segmentSent(true);
        return len;
    }

    /**
     * Sends {@code pieces} whole segments of {@code mss} bytes of new data at SND.MAX as one
     * super-segment (segmentation offload), as many as the record of segments in flight has room
     * for. Each piece is recorded as its own segment with the same send time, so SACK, RACK and
     * retransmission keep the granularity of the segments the peer receives.
     *
     * @param push whether the last piece is the last the windows allow now
     * @return the pieces sent, 0 if none could be
     */
    int sendSegments(int mss, int pieces, boolean push) {
        SentSegments record = recovery.sent();
        int n = Math.min(pieces, record.room());
        if (n <= 1) {
            return n == 1 && sendNewData(mss, push) > 0 ? 1 : 0;
        }
        int seq = sndMax;
        int len = n * mss;
        long now = clock.nanoTime();
        lastSendNanos = now;
        boolean last = seq + len == dataEnd();
        wire.emitSuperSegment(seq, ACK | (last || push || n < pieces ? PSH : 0), seq - sndUna, len, mss);
        if (rttStart < 0 && !options.tsOk()) {
            rttSeq = seq;
            rttStart = now;
        }
        sndMax = seq + len;
        for (int i = 0; i < n; i++) {
            record.sent(seq + i * mss, seq + (i + 1) * mss, now);
        }
        wire.segmentSent(true);
        return n;
    }

    /**
     * Sends {@code len} bytes from {@code seq} again (at most what one segment carries); counted,
     * and never timed (Karn's rule, RFC 6298 section 3).
     *
     * @return the bytes sent
     */
    int resend(int seq, int len) {
        len = Math.min(len, sendMss - wire.sackOptionRoom());
        lastSendNanos = clock.nanoTime();
        emit(seq, len, true);
        stats.retransmits.increment();
        if (cc.congestionWindow() < cc.slowStartThreshold()) {
            stats.slowStartRetransmits.increment();
        }
        if (rttStart >= 0 && Seq.leq(seq, rttSeq)) {
            rttStart = -1;
        }
        wire.segmentSent(false);
        return len;
    }

    /**
     * PSH (RFC 9293 section 3.9.1) marks the end of what the sender has, and also the last segment
     * before it must wait for an ACK (the windows are full, or it sends during recovery): a
     * receiver that delays its ACKs until a second segment or a push (Linux) then acknowledges
     * as soon as its application has read the data, instead of after its delayed-ACK timer.
     */
    private void emit(int seq, int len, boolean push) {
        boolean last = seq + len == dataEnd();
        wire.emitData(seq, ACK | (last || push ? PSH : 0), seq - sndUna, len);
    }

    /** Sends the FIN again: it sits at {@code finSeq}, after the last byte of data. */
    void retransmitFin() {
        wire.emitFin(finSeq);
        stats.retransmits.increment();
        wire.segmentSent(false);
    }

    /**
     * RFC 6298 section 5.4: the retransmission timer expired. Recovery marks what is lost
     * ({@link LossRecovery#retransmitTimeout}); the earliest segment not acknowledged goes again
     * now, whatever pipe says, and the rest as the window allows.
     */
    void retransmitOnTimeout(long now) {
        rttStart = -1;
        recovery.retransmitTimeout(now);
        recovery.retransmitFirst(now);
        output(now);
    }

    /**
     * RFC 8985 section 7.3: a tail loss probe sends one new segment if the windows allow, or else
     * the last segment sent again (the FIN, if that was last).
     */
    void sendTailLossProbe() {
        stats.tlpRecovery.increment();
        SentSegments sent = recovery.sent();
        if (sendNewData(sendMss, true) > 0) {
            recovery.probeSent(false);
        } else if (finSent && Seq.leq(sndUna, finSeq)
                && (sent.isEmpty() || Seq.leq(sent.end(sent.size() - 1), sndUna))) {
            retransmitFin();
            recovery.probeSent(true);
        } else if (!sent.isEmpty()) {
            recovery.retransmit(sent.size() - 1, clock.nanoTime());
            recovery.probeSent(true);
        }
    }

    // ---- application -----------------------------------------------------------------------------

    /** Copies what fits of {@code len} bytes into the send buffer; returns how many. */
    int buffer(byte[] b, int off, int len) {
        return sendBuffer.write(b, off, len);
    }

    /** Reads {@code len} buffered bytes from {@code from} bytes past SND.UNA, for a segment. */
    void peek(int from, byte[] dst, int off, int len) {
        sendBuffer.peek(from, dst, off, len);
    }

    /** Forgets everything buffered: nothing more will be sent. */
    void discardBuffered() {
        sendBuffer.skip(sendBuffer.size());
    }

    /** The application closed its side: a FIN follows the data already written. */
    void queueFin() {
        finQueued = true;
    }

    void nagle(boolean on) {
        nagle = on;
    }

    // ---- state -----------------------------------------------------------------------------------

    int iss() {
        return iss;
    }

    int sndUna() {
        return sndUna;
    }

    int sndMax() {
        return sndMax;
    }

    int sndWnd() {
        return sndWnd;
    }

    int maxSndWnd() {
        return maxSndWnd;
    }

    int sndShift() {
        return sndShift;
    }

    int sendMss() {
        return sendMss;
    }

    long srttNanos() {
        return rtt.srttNanos();
    }

    /** A round-trip measurement for the RTO (RFC 6298 section 2). */
    void rttSample(long nanos) {
        rtt.sample(nanos);
    }

    /** SND.MAX - SND.UNA: sequence space sent and not yet acknowledged. */
    int flightSize() {
        return sndMax - sndUna;
    }

    /** The sequence number after the last byte written to the send buffer. */
    int dataEnd() {
        return sndUna + sendBuffer.size();
    }

    int buffered() {
        return sendBuffer.size();
    }

    int allocated() {
        return sendBuffer.allocated();
    }

    boolean finQueued() {
        return finQueued;
    }

    boolean finSent() {
        return finSent;
    }

    int finSeq() {
        return finSeq;
    }

    /** Null until the SYN options are settled. */
    CongestionControl congestionControl() {
        return cc;
    }

    LossRecovery recovery() {
        return recovery;
    }
}
