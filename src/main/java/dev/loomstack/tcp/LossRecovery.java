package dev.loomstack.tcp;

import dev.loomstack.packet.TcpOptions;
import dev.loomstack.stack.Stats;

/**
 * Loss detection and recovery, one ACK at a time:
 * <ul>
 *   <li>the per-segment record ({@link SentSegments}) kept up to date from cumulative ACKs and
 *       SACK blocks (RFC 2018 section 5);</li>
 *   <li>loss detection by RACK (RFC 8985 section 6, {@link Rack}) when the peer SACKs, with its
 *       reordering timer; by three duplicate ACKs and NewReno's partial ACKs (RFC 5681 section
 *       3.2, RFC 6582 section 3.2) when it does not;</li>
 *   <li>three states, as Linux names them: open; fast recovery, sending by Proportional Rate
 *       Reduction (RFC 6937, {@link ProportionalRateReduction}) until SND.MAX at its start is
 *       acknowledged; and timeout recovery after the retransmission timer fired (RFC 6298 section
 *       5, RFC 8985 section 6.3), sending in slow start, lost segments first, never what the
 *       receiver SACKed;</li>
 *   <li>D-SACK (RFC 2883 section 4) read from every ACK: it widens RACK's reordering window and
 *       shows retransmissions that were needless;</li>
 *   <li>undo of a needless reduction ({@link ReductionUndo}: RFC 3708 section 4 with D-SACK, and
 *       the Eifel detection of RFC 3522 with timestamps): a recovery whose every retransmission came back as a duplicate,
 *       or a timeout answered by an echo of a timestamp older than the first retransmission, gives
 *       back the window it took;</li>
 *   <li>the outcome of a tail loss probe (RFC 8985 section 7.4): a probe that repaired a loss costs
 *       the window a loss costs.</li>
 * </ul>
 * Called only under the endpoint's lock; not thread-safe on its own.
 */
final class LossRecovery implements SentSegments.Delivery {
    /** RFC 5681 section 3.2 and RFC 6675 section 2: DupThresh. */
    static final int DUP_THRESH = 3;
    /** How far back from SND.MAX a recovery probe looks for the latest repair before it takes the last segment. */
    static final int PROBE_SCAN_LIMIT = 256;

    /** Where the sender stands with respect to loss. */
    enum State {
        /** No loss being repaired. */
        OPEN,
        /** Loss found by RACK or duplicate ACKs: repairs and new data paced by PRR. */
        FAST_RECOVERY,
        /** The retransmission timer fired: repairs and new data in slow start. */
        TIMEOUT_RECOVERY
    }

    private final TcpSender sender;
    private final NegotiatedOptions options;
    private final Stats.TcpStats stats;
    private final SentSegments sent = new SentSegments();
    private final Rack rack = new Rack();
    private final ProportionalRateReduction prr = new ProportionalRateReduction();
    private State state = State.OPEN;
    /** RFC 6582's "recover": SND.MAX when the episode began; acknowledging it ends the episode. */
    private int recoverPoint;
    private boolean hadEpisode;
    private int dupAcks;
    /**
     * Without SACK, each duplicate ACK stands for one segment that left the network (as Linux
     * counts them): pipe and PRR's delivered data take these as SACKed segments.
     */
    private int dupAckedSegments;
    /** The FIN was sent, then taken for lost by the timeout: it goes again once the data before it is repaired. */
    private boolean finLost;

    private final ReductionUndo undo = new ReductionUndo();

    // RFC 8985 section 7.4: the latest tail loss probe, until its outcome is known.
    private boolean probeOutstanding;
    private int probeEnd;
    /** FlightSize when the probe went: the flight a loss it repairs was lost from (RFC 5681 section 3.2 step 2). */
    private int probeFlight;
    private boolean probeWasRetransmission;
    /** The end of the latest probe that sent data again: a D-SACK ending there reports the probe, not a repair. */
    private int lastProbeRetransmissionEnd;
    private boolean probedByRetransmission;

    // The ACK being processed, for the per-segment callback.
    private long ackNow;
    private long ackRttSample;
    private boolean ackCoversRetransmission;
    private int ackTsEcr;
    private boolean ackHasEcho;

    LossRecovery(TcpSender sender, NegotiatedOptions options, Stats.TcpStats stats) {
        this.sender = sender;
        this.options = options;
        this.stats = stats;
    }

    State state() {
        return state;
    }

    boolean inRecovery() {
        return state != State.OPEN;
    }

    SentSegments sent() {
        return sent;
    }

    Rack rack() {
        return rack;
    }

    /** RFC 6675 section 4's pipe, as counted by {@link SentSegments}: bytes thought to be in the network. */
    int pipe() {
        int left = sent.sackedBytes() + dupAckedSegments * sender.sendMss();
        return Math.max(0, sender.flightSize() - left - sent.lostBytes() + sent.retransmittedBytes());
    }

    // ---- acknowledgments -----------------------------------------------------------------------------

    /**
     * One acceptable ACK. SND.UNA has already moved to its acknowledgment number (by
     * {@code dataAcked} data bytes, from {@code priorUna}); {@code duplicate} says whether it is
     * an RFC 5681 section 2 duplicate ACK; {@code rttSample} is the RTT its timestamp echo or the
     * timed segment measured, or -1, used when no segment it delivered measures one more finely.
     *
     * @return nanoseconds until RACK's reordering timer should fire (RFC 8985 section 6.3), or 0
     */
    long ackArrived(TcpOptions o, int ack, int priorUna, int dataAcked, boolean duplicate, long rttSample, long now) {
        boolean sack = options.sackOk();
        ackNow = now;
        ackHasEcho = options.tsOk() && o.hasTimestamps && o.tsEcr != 0;
        ackTsEcr = o.tsEcr;
        int sackedBefore = sent.sackedBytes() + dupAckedSegments * sender.sendMss();
        boolean advanced = Seq.gt(ack, priorUna);
        ackRttSample = -1;
        ackCoversRetransmission = false;
        if (advanced) {
            sent.acknowledge(ack, this);
            if (ackCoversRetransmission) {
                // Karn's rule over the whole cumulative ACK (as Linux applies it): it may have been
                // sent for the retransmission, so no segment it covers measures the round trip.
                ackRttSample = -1;
            }
        }
        boolean dsack = false;
        if (sack && o.sackCount > 0) {
            dsack = isDuplicateSack(o, ack);
            for (int b = dsack ? 1 : 0; b < o.sackCount; b++) {
                if (Seq.gt(o.sackEnd[b], ack) && Seq.leq(o.sackEnd[b], sender.sndMax())) {
                    sent.sack(Seq.max(o.sackStart[b], ack), o.sackEnd[b], this);
                }
            }
            if (dsack) {
                duplicateSackArrived(o.sackStart[0], o.sackEnd[0]);
            }
        }
        if (!sack) {
            countDupAckedSegments(advanced, duplicate, dataAcked);
        }
        // RFC 6298 section 3 from the record of segments sent (to the nanosecond, where a timestamp
        // echo measures whole milliseconds), else what the caller measured: the echo or the timed segment.
        if (ackRttSample > 0) {
            rttSample = ackRttSample;
        }
        if (rttSample > 0) {
            sender.rttSample(rttSample);
            rack.rttSample(rttSample, now);
        }
        int delivered = Math.max(0, dataAcked + (sent.sackedBytes() + dupAckedSegments * sender.sendMss() - sackedBefore));
        if (probeOutstanding) {
            probeOutcome(ack, dsack, duplicate && o.sackCount == 0, now);
        }
        if (state == State.TIMEOUT_RECOVERY && advanced && undo.needless(ackHasEcho, ackTsEcr)) {
            // RFC 3522 / RFC 3708: the timeout was spurious, the original flight had arrived.
            undo(now);
            stats.spuriousRtoRecovery.increment();
            RecoveryEvent.emit("spurious-timeout-undone", this, sender);
        }
        boolean ended = false;
        if (state != State.OPEN && Seq.geq(sender.sndUna(), recoverPoint)) {
            endEpisode(now);
            ended = true;
        }
        int marked;
        if (sack) {
            long reoWnd = rack.reorderWindow(state != State.OPEN, sent.sackedSegments(), sender.srttNanos());
            marked = rack.detectLoss(sent, now, reoWnd);
        } else {
            marked = newRenoLoss(advanced, duplicate);
        }
        if (marked > 0) {
            lossDetected(marked, now);
        }
        if (state == State.FAST_RECOVERY) {
            prr.onAck(delivered, pipe(),
                    sender.congestionControl().slowStartThreshold(), sender.sendMss());
        } else if (advanced && !ended) {
            // Open, or in slow start after a timeout: the window grows (RFC 5681 section 3.1).
            sender.congestionControl().onAck(dataAcked, rttSample, sender.flightSize(), now);
        }
        return sack ? rack.reorderTimeout() : 0;
    }

    /** RFC 8985 step 2 and 3 for one segment this ACK newly delivered (called by {@link SentSegments}). */
    @Override
    public void segment(int start, int end, long sentAt, boolean retransmitted) {
        if (retransmitted) {
            ackCoversRetransmission = true;
        } else if (ackRttSample < 0) {
            // Karn's rule: only a segment sent once measures the round trip; the earliest delivered, as Linux does.
            ackRttSample = Math.max(1, ackNow - sentAt);
        }
        boolean echoesEarlier = retransmitted && ackHasEcho && Seq.lt(ackTsEcr, options.tsValAt(sentAt));
        rack.delivered(end, sentAt, retransmitted, echoesEarlier, ackNow);
    }

    /**
     * RFC 2883 section 4: the first block reports a duplicate when it lies at or below the
     * cumulative ACK, or inside the second block.
     */
    static boolean isDuplicateSack(TcpOptions o, int ack) {
        int s0 = o.sackStart[0];
        int e0 = o.sackEnd[0];
        if (Seq.leq(e0, s0)) {
            return false;
        }
        if (Seq.leq(e0, ack)) {
            return true;
        }
        return o.sackCount > 1 && Seq.leq(o.sackStart[1], s0) && Seq.leq(e0, o.sackEnd[1]);
    }

    /**
     * A D-SACK for [start, end): a copy arrived twice, so a retransmission of ours was needless.
     * RACK's reordering window grows (RFC 8985 section 6.2 step 4) and, if the copy was one of
     * this episode's retransmissions, one fewer stands between the episode and its undo.
     */
    private void duplicateSackArrived(int start, int end) {
        stats.segmentsAckedWithDsack.increment();
        rack.dsackArrived(sender.sndUna(), sender.sndMax());
        boolean probeCopy = probedByRetransmission && end == lastProbeRetransmissionEnd;
        if (!probeCopy && undo.duplicateReported(start, end, sender.sendMss()) && state != State.TIMEOUT_RECOVERY) {
            // RFC 3708 section 4: every retransmission of the recovery arrived twice; no loss.
            undo(ackNow);
            stats.spuriousRecovery.increment();
            RecoveryEvent.emit("spurious-recovery-undone", this, sender);
        }
    }

    /** Gives back what the episode took and forgets what it marked lost. */
    private void undo(long now) {
        undo.undo(sender.congestionControl());
        sent.clearLostMarks();
        finLost = false;
        // Not one of RACK's recoveries without D-SACK (RFC 8985 section 6.2 step 4): it was found needless.
        state = State.OPEN;
    }

    /**
     * RFC 6937 section 3's estimate without SACK: a duplicate ACK delivered one segment, and an
     * ACK of new data covers the segments those stood for (all but one of those it acknowledges).
     */
    private void countDupAckedSegments(boolean advanced, boolean duplicate, int dataAcked) {
        if (advanced) {
            int mss = Math.max(1, sender.sendMss());
            int segments = (dataAcked + mss - 1) / mss;
            dupAckedSegments = Math.max(0, dupAckedSegments - Math.max(0, segments - 1));
            if (state == State.OPEN) {
                dupAckedSegments = 0;
            }
        } else if (duplicate && (dupAckedSegments + 1) * sender.sendMss() < sender.flightSize()) {
            dupAckedSegments++;
        }
    }

    /** RFC 6582 section 3.2: no SACK, so duplicate ACKs and partial ACKs are all there is. */
    private int newRenoLoss(boolean advanced, boolean duplicate) {
        if (advanced) {
            dupAcks = 0;
            if (state == State.FAST_RECOVERY && !sent.isEmpty() && !sent.has(0, SentSegments.RETRANSMITTED)) {
                // Step 5: a partial ACK shows the next hole.
                return sent.markLost(0) ? 1 : 0;
            }
            return 0;
        }
        if (!duplicate || state != State.OPEN) {
            return 0;
        }
        dupAcks++;
        // Step 1: no new recovery until what the last one covered is acknowledged.
        if (dupAcks < DUP_THRESH || sent.isEmpty() || (hadEpisode && Seq.lt(sender.sndUna(), recoverPoint))) {
            return 0;
        }
        return sent.markLost(0) ? 1 : 0;
    }

    /** Segments were marked lost: counted, and fast recovery begins unless an episode runs. */
    private void lossDetected(int marked, long now) {
        if (options.sackOk()) {
            stats.rackLostSegments.add(marked);
        }
        if (state == State.OPEN) {
            enterFastRecovery(now);
        } else {
            RecoveryEvent.emit("lost", this, sender);
        }
    }

    /** RFC 6675 section 5 / RFC 8985 section 6.2: loss found, fast recovery with PRR begins. */
    private void enterFastRecovery(long now) {
        startEpisode();
        state = State.FAST_RECOVERY;
        int flight = sender.flightSize();
        sender.congestionControl().onLossDetected(flight, now);
        prr.start(flight);
        if (options.sackOk()) {
            stats.sackRecovery.increment();
        } else {
            stats.fastRecovery.increment();
        }
        RecoveryEvent.emit("fast-recovery", this, sender);
    }

    /** A new loss episode: its end is SND.MAX now; undo information is taken if none is held. */
    private void startEpisode() {
        if (state == State.OPEN) {
            undo.begin(sender.sndUna(), sender.congestionControl());
        }
        recoverPoint = sender.sndMax();
        hadEpisode = true;
        dupAcks = 0;
    }

    /** RFC 6582 section 3.2 step 3: everything the episode covered is acknowledged. */
    private void endEpisode(long now) {
        State was = state;
        state = State.OPEN;
        dupAckedSegments = 0;
        if (was == State.FAST_RECOVERY) {
            if (undo.needless(ackHasEcho, ackTsEcr)) {
                undo(now);
                stats.spuriousRecovery.increment();
                RecoveryEvent.emit("spurious-recovery-undone", this, sender);
                return;
            }
            sender.congestionControl().onRecoveryComplete(sender.flightSize(), now);
        }
        rack.recoveryEnded();
        RecoveryEvent.emit("recovered", this, sender);
    }

    // ---- timers -----------------------------------------------------------------------------------------

    /**
     * RFC 8985 section 6.3: the reordering timer fired; segments it waited on are lost now.
     *
     * @return nanoseconds until it should fire again, or 0
     */
    long reorderTimerFired(long now) {
        if (!options.sackOk()) {
            return 0;
        }
        ackNow = now;
        long reoWnd = rack.reorderWindow(state != State.OPEN, sent.sackedSegments(), sender.srttNanos());
        int marked = rack.detectLoss(sent, now, reoWnd);
        if (marked > 0) {
            lossDetected(marked, now);
            if (state == State.FAST_RECOVERY) {
                prr.onAck(0, pipe(), sender.congestionControl().slowStartThreshold(), sender.sendMss());
            }
        }
        return rack.reorderTimeout();
    }

    /**
     * The retransmission timer fired (RFC 6298 section 5.4, RFC 8985 section 6.3): the window
     * collapses (ssthresh only on the episode's first timeout, RFC 5681 section 3.1), the first
     * unacknowledged segment and whatever was sent longer than RACK.rtt ago are lost, and timeout
     * recovery resends them in slow start. The SACK record is kept (RFC 6675 section 5.1 allows
     * it): what the receiver holds is not sent again.
     */
    void retransmitTimeout(long now) {
        CongestionControl cc = sender.congestionControl();
        boolean repeated = state == State.TIMEOUT_RECOVERY;
        startEpisode();
        if (repeated) {
            cc.onRepeatedTimeout(now);
        } else {
            cc.onRetransmitTimeout(sender.flightSize(), now);
        }
        state = State.TIMEOUT_RECOVERY;
        probeOutstanding = false;
        dupAckedSegments = 0;
        long reoWnd = rack.reorderWindow(true, sent.sackedSegments(), sender.srttNanos());
        rack.markLossesOnTimeout(sent, now, reoWnd);
        if (sender.finSent() && Seq.leq(sender.sndUna(), sender.finSeq())) {
            finLost = true;
        }
        RecoveryEvent.emit("timeout", this, sender);
    }

    /** RFC 8985 section 7.3: a tail loss probe went out; its outcome is judged by the ACKs that follow. */
    void probeSent(boolean retransmission) {
        probeOutstanding = true;
        probeEnd = sender.sndMax();
        probeFlight = sender.flightSize();
        probeWasRetransmission = retransmission;
        if (retransmission) {
            probedByRetransmission = true;
            lastProbeRetransmissionEnd = sent.isEmpty() ? probeEnd : sent.end(sent.size() - 1);
        }
        RecoveryEvent.emit("tail-loss-probe", this, sender);
    }

    /**
     * RFC 8985 section 7.4.2: a probe of new data, one whose copy came back as a D-SACK, or one
     * answered by a duplicate ACK without SACK (case 2: original and probe both arrived) repaired
     * nothing; one acknowledged beyond itself without that repaired a loss, which costs the
     * window a fast recovery would (entered and left at once). Any other ACK at its end (the
     * ACK of the original or of the probe, a window update) does not tell which, so it waits.
     */
    private void probeOutcome(int ack, boolean dsack, boolean dupAckWithoutSack, long now) {
        if (Seq.lt(ack, probeEnd)) {
            return;
        }
        if (!probeWasRetransmission || dsack || (ack == probeEnd && dupAckWithoutSack)) {
            probeOutstanding = false;
            return;
        }
        if (Seq.gt(ack, probeEnd)) {
            probeOutstanding = false;
            if (state == State.OPEN) {
                CongestionControl cc = sender.congestionControl();
                cc.onLossDetected(probeFlight, now);
                cc.onRecoveryComplete(sender.flightSize(), now);
                RecoveryEvent.emit("probe-repaired-loss", this, sender);
            }
        }
    }

    // ---- sending ---------------------------------------------------------------------------------------

    /**
     * Sends one segment during an episode: a lost segment first (RFC 6675 section 5 NextSeg rule
     * 1), else new data, else the FIN taken for lost. Fast recovery sends what PRR allows; timeout
     * recovery what the (slow-start) window allows over pipe.
     *
     * @return false when nothing may or can be sent now
     */
    boolean sendOne(long now) {
        int mss = sender.sendMss();
        if (state == State.FAST_RECOVERY) {
            if (!prr.maySend()) {
                return false;
            }
        } else {
            int pipe = pipe();
            if (pipe > 0 && pipe + mss > sender.congestionControl().congestionWindow()) {
                return false;
            }
        }
        int i = sent.nextToRepair();
        int len;
        if (i >= 0) {
            len = retransmit(i, now);
            stats.fastRetransmit.increment();
        } else {
            len = sender.sendNewData(mss, true);
            if (len == 0) {
                if (!finLost) {
                    return false;
                }
                finLost = false;
                sender.retransmitFin();
                countRetransmit(now);
                len = 1;
            }
        }
        if (state == State.FAST_RECOVERY) {
            prr.sent(len);
        }
        return true;
    }

    /**
     * No ACK for a probe timeout during recovery. RFC 8985 section 7 sends no probe in recovery,
     * trusting RACK to find a lost repair from later deliveries; but when the ACK of the last repair
     * is lost, nothing is in flight to be delivered, and a receiver that compresses its SACKs
     * (Linux) may have sent that one ACK for the whole round. Waiting for the RTO then idles a
     * sub-millisecond path for 200 ms. So one probe goes, as QUIC's PTO does in every state (RFC
     * 9002 section 6.2): the latest repair again, which either repairs it or, arriving twice,
     * draws an immediate ACK with a D-SACK from the receiver.
     */
    void recoveryProbe(long now) {
        if (sent.isEmpty()) {
            if (finLost || sender.finSent()) {
                sender.retransmitFin();
                countRetransmit(now);
            }
            return;
        }
        // The latest repair in flight; failing that, the last segment the receiver has not SACKed.
        int probe = -1;
        int unsacked = -1;
        for (int i = sent.size() - 1, scanned = 0; i >= 0 && scanned < PROBE_SCAN_LIMIT; i--, scanned++) {
            if (sent.has(i, SentSegments.RETRANSMITTED)) {
                probe = i;
                break;
            }
            if (unsacked < 0 && !sent.has(i, SentSegments.SACKED)) {
                unsacked = i;
            }
        }
        if (probe < 0) {
            probe = unsacked >= 0 ? unsacked : sent.size() - 1;
        }
        stats.tlpRecovery.increment();
        retransmit(probe, now);
        RecoveryEvent.emit("recovery-probe", this, sender);
    }

    /** RFC 6298 section 5.4: the earliest segment not acknowledged (or the FIN, if it is all that is left) goes again. */
    void retransmitFirst(long now) {
        if (!sent.isEmpty()) {
            retransmit(0, now);
        } else if (finLost) {
            finLost = false;
            sender.retransmitFin();
            countRetransmit(now);
        }
    }

    /** Sends segment {@code i} of the record again; returns the bytes sent. */
    int retransmit(int i, long now) {
        int start = sent.start(i);
        int len = sender.resend(start, sent.end(i) - start);
        sent.retransmitted(i, now);
        if (state != State.OPEN) {
            countRetransmit(now);
        }
        return len;
    }

    /** One more retransmission in this episode: the undo needs a D-SACK for each, or an older echo. */
    private void countRetransmit(long now) {
        undo.retransmitted(options.tsValAt(now));
    }
}
