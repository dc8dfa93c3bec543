package dev.loomstack.tcp;

import dev.loomstack.packet.TcpOptions;
import dev.loomstack.stack.Stats;

/**
 * Loss detection and recovery short of a timeout: the SACK scoreboard (RFC 2018 section 5), fast
 * retransmit on three duplicate ACKs or on SACKed data beyond {@code DupThresh} segments (RFC 5681
 * section 3.2, RFC 6675 section 5 IsLost), recovery with NewReno partial acknowledgments when the
 * peer gives no SACK (RFC 6582 section 3.2) and the RFC 6675 section 5 pipe / NextSeg rules when it
 * does, and a lost retransmission noticed when data sent after it is SACKed (the idea of RFC 8985
 * section 6.2's RACK, narrowed to the repair at SND.UNA).
 *
 * <p>The retransmission timeout itself belongs to {@link TcpSender#retransmitOnTimeout}; here it
 * only ends recovery. Called only under the endpoint's lock; not thread-safe on its own.
 */
final class LossRecovery {
    private final TcpSender sender;
    private final Stats.TcpStats stats;
    private final SackScoreboard scoreboard = new SackScoreboard();
    private boolean inRecovery;
    /** RFC 6582's "recover": SND.MAX when recovery began; acknowledging it ends recovery. */
    private int recoverPoint;
    /** RFC 6675's HighRxt: the highest sequence retransmitted in this recovery. */
    private int highRxt;
    /** SND.MAX when the hole at SND.UNA was last repaired; SACKs beyond it mean the repair was lost. */
    private int repairEdge;
    private boolean repairEdgeValid;
    private int dupAcks;

    LossRecovery(TcpSender sender, Stats.TcpStats stats) {
        this.sender = sender;
        this.stats = stats;
    }

    boolean inRecovery() {
        return inRecovery;
    }

    SackScoreboard scoreboard() {
        return scoreboard;
    }

    /** RFC 2018 section 5 / RFC 6675 section 4: records the SACK blocks an ACK of {@code ack} carried. */
    void sackArrived(int ack, TcpOptions o) {
        int sndUna = sender.sndUna();
        scoreboard.update(sndUna, sender.sndMax(), o.sackStart, o.sackEnd, o.sackCount);
        if (inRecovery && repairEdgeValid && ack == sndUna
                && Seq.gt(scoreboard.highestSacked(sndUna), repairEdge)) {
            // Data sent after the repair of SND.UNA has arrived but the repair has not: it was
            // lost too (the idea of RFC 8985's RACK). Repair again rather than wait for the RTO.
            repairEdgeValid = false;
            highRxt = sndUna;
        }
    }

    /** SND.UNA moved to {@code ack}: the scoreboard forgets what lies below. */
    void ackTo(int ack) {
        scoreboard.ackTo(ack);
    }

    /**
     * New data was acknowledged (SND.UNA already moved). Outside recovery the controller grows the
     * window; inside, a full acknowledgment ends recovery (RFC 6582 section 3.2 step 3) and a
     * partial one repairs the next hole (step 5).
     */
    void newDataAcked(int dataAcked, long rttSample, long now) {
        dupAcks = 0;
        int sndUna = sender.sndUna();
        int flight = sender.flightSize();
        CongestionControl cc = sender.congestionControl();
        if (inRecovery) {
            if (Seq.geq(sndUna, recoverPoint)) {
                // RFC 6582 section 3.2 step 3: a full acknowledgment ends recovery.
                inRecovery = false;
                cc.onRecoveryComplete(flight, now);
            } else if (scoreboard.isEmpty() && Seq.gt(sndUna + sender.sendMss(), highRxt)) {
                // RFC 6582 section 3.2 step 5: a partial ACK without SACK retransmits the next hole.
                retransmitAt(sndUna);
            } else if (Seq.lt(sndUna, highRxt)) {
                // The new first hole was repaired already; watch that repair from here on.
                repairEdge = sender.sndMax();
                repairEdgeValid = true;
            }
        } else {
            cc.onAck(dataAcked, rttSample, flight, now);
        }
    }

    /**
     * A duplicate ACK (RFC 5681 section 2). The third, or SACKed data showing SND.UNA lost (RFC 6675
     * section 5), starts fast retransmit and recovery.
     */
    void duplicateAck(boolean sackOk, long now) {
        dupAcks++;
        if (inRecovery) {
            return;
        }
        int sndUna = sender.sndUna();
        int sndMax = sender.sndMax();
        boolean lost = dupAcks >= SackScoreboard.DUP_THRESH || (sackOk && scoreboard.isLost(sndUna, sender.sendMss()));
        // RFC 6582 section 3.2 step 1: no new recovery until the previous one's data is acknowledged.
        if (!lost || (recoverPoint != 0 && Seq.lt(sndUna, recoverPoint))) {
            return;
        }
        inRecovery = true;
        recoverPoint = sndMax;
        highRxt = sndUna;
        sender.congestionControl().onLossDetected(sndMax - sndUna, now);
        stats.fastRetransmit.increment();
        if (sackOk && !scoreboard.isEmpty()) {
            stats.sackRecovery.increment();
        } else {
            stats.fastRecovery.increment();
        }
        retransmitAt(sndUna);
    }

    /**
     * Sends one segment during recovery, as RFC 6675 section 5 step (C) allows while pipe stays
     * below cwnd: a lost hole first, else new data, else (NextSeg rule 3) any hole below the
     * highest SACK.
     *
     * @return false when nothing may or can be sent now
     */
    boolean sendOne() {
        int sndUna = sender.sndUna();
        int sndMax = sender.sndMax();
        int sendMss = sender.sendMss();
        int pipe = pipe();
        if (pipe + sendMss > sender.congestionControl().congestionWindow() && pipe > 0) {
            return false;
        }
        int hole = scoreboard.skipSacked(Seq.max(highRxt, sndUna));
        int highSacked = scoreboard.highestSacked(sndUna);
        if (!scoreboard.isEmpty() && Seq.lt(hole, highSacked) && scoreboard.isLost(hole, sendMss)) {
            retransmitAt(hole);
            highRxt = Seq.max(highRxt, hole + 1);
            return true;
        }
        int usable = sndUna + sender.sndWnd() - sndMax;
        int len = Math.min(sendMss, Math.min(usable, sender.dataEnd() - sndMax));
        if (len <= 0) {
            // RFC 6675 section 5 NextSeg rule 3: with nothing new to send, repair a hole
            // below the highest SACK even before it counts as lost.
            if (!scoreboard.isEmpty() && Seq.lt(hole, highSacked)) {
                retransmitAt(hole);
                highRxt = Seq.max(highRxt, hole + 1);
                return true;
            }
            return false;
        }
        sender.sendData(sndMax, len, false);
        return true;
    }

    /** RFC 6675 section 4 pipe: bytes thought to be in the network. */
    int pipe() {
        int sndUna = sender.sndUna();
        int outstanding = sender.sndMax() - sndUna;
        int sacked = scoreboard.sackedBytes();
        int highSacked = scoreboard.highestSacked(sndUna);
        int lost = scoreboard.unsackedBytes(Seq.max(highRxt, sndUna), highSacked);
        return Math.max(0, outstanding - sacked - lost);
    }

    /**
     * Retransmits one segment from {@code seq}, up to the next SACKed range; the FIN if that is
     * what sits there. Repairing SND.UNA records SND.MAX so that a later SACK can show the repair lost.
     */
    void retransmitAt(int seq) {
        int sndUna = sender.sndUna();
        int sndMax = sender.sndMax();
        if (seq == sndUna) {
            repairEdge = sndMax;
            repairEdgeValid = true;
        }
        int end = Seq.min(sndMax, scoreboard.nextSackedStart(seq, sndMax));
        int dataEnd = sender.dataEnd();
        int len = Math.min(sender.sendMss(), Math.max(0, Seq.min(end, dataEnd) - seq));
        if (len > 0) {
            int sent = sender.sendData(seq, len, true);
            highRxt = Seq.max(highRxt, seq + sent);
        } else if (sender.finSent() && seq == sender.finSeq()) {
            sender.retransmitFin();
        }
    }

    /** RFC 6298 section 5 / RFC 5681 section 3.1: a timeout ends recovery and forgets the scoreboard. */
    void onRetransmitTimeout() {
        inRecovery = false;
        recoverPoint = sender.sndMax();
        scoreboard.reset();
        dupAcks = 0;
    }
}
