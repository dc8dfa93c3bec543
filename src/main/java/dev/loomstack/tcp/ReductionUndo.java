package dev.loomstack.tcp;

/**
 * What a loss episode took from the congestion window, and the evidence that it need not have:
 * the undo of RFC 3708 section 4 (every retransmission of the episode came back as a D-SACK, so
 * nothing was lost) and the detection of RFC 3522, the Eifel algorithm (an ACK echoes a timestamp
 * older than the episode's first retransmission, so an original got through). Linux keeps the same
 * state as undo_marker, prior_cwnd, prior_ssthresh, undo_retrans and retrans_stamp.
 *
 * <p>Called only under the endpoint's lock.
 */
final class ReductionUndo {
    private boolean armed;
    /** SND.UNA when the episode began: D-SACKs for data below it are not the episode's. */
    private int marker;
    private int priorCwnd;
    private int priorSsthresh;
    /** Retransmissions in this episode not yet shown needless by a D-SACK. */
    private int retransmits;
    private boolean stamped;
    /** Our timestamp when the episode's first retransmission left. */
    private int firstRetransmitTsVal;

    /** An episode begins from open: what it is about to take is remembered. */
    void begin(int sndUna, CongestionControl cc) {
        armed = true;
        marker = sndUna;
        priorCwnd = cc.congestionWindow();
        priorSsthresh = cc.slowStartThreshold();
        retransmits = 0;
        stamped = false;
    }

    /** A retransmission of the episode left with timestamp {@code tsVal}. */
    void retransmitted(int tsVal) {
        retransmits++;
        if (!stamped) {
            stamped = true;
            firstRetransmitTsVal = tsVal;
        }
    }

    /**
     * A D-SACK reported [start, end) twice received; if the copy was one of the episode's
     * retransmissions, one fewer stands between the episode and its undo.
     *
     * @return whether every retransmission of the episode has now been shown needless
     */
    boolean duplicateReported(int start, int end, int mss) {
        if (!armed || retransmits <= 0 || !Seq.gt(end, marker)) {
            return false;
        }
        int m = Math.max(1, mss);
        retransmits -= Math.max(1, (end - start + m - 1) / m);
        return retransmits <= 0;
    }

    /**
     * Whether the reduction was needless: every retransmission D-SACKed, or (Eifel) the ACK
     * echoes {@code tsEcr}, a timestamp from before the first retransmission.
     */
    boolean needless(boolean hasEcho, int tsEcr) {
        if (!armed) {
            return false;
        }
        return retransmits <= 0 || hasEcho && stamped && Seq.lt(tsEcr, firstRetransmitTsVal);
    }

    /** Gives the window and threshold back; the evidence is used up. */
    void undo(CongestionControl cc) {
        cc.undo(priorCwnd, priorSsthresh);
        armed = false;
    }
}
