package dev.loomstack.tcp;

/**
 * RACK, time-based loss detection (RFC 8985 section 6): a segment is lost when a segment sent
 * sufficiently later has been delivered, "sufficiently" being the latest round trip plus a
 * reordering window. Because it counts time and not duplicate ACKs, it finds a lost
 * retransmission as readily as a lost original (section 2.2), copes with reordering by a window
 * that grows when D-SACKs show retransmissions were needless (section 6.2 step 4), and needs no
 * duplicate ACK whose window is unchanged, which a receiver that tunes its window never sends.
 *
 * <p>The state of section 6.1: RACK.xmit_ts and RACK.end_seq of the most recently sent segment
 * delivered, RACK.rtt, RACK.min_RTT, RACK.fack and reordering_seen, and the D-SACK round and
 * multiplier of the reordering window. Called only under the endpoint's lock.
 */
final class Rack {
    /** RFC 8985 section 6.2 step 4: DSACK-free recoveries before the reordering window shrinks back. */
    static final int REO_WND_PERSIST = 16;
    /** Linux's tcp_min_rtt_wlen: how long a minimum RTT is trusted before a larger one replaces it. */
    static final long MIN_RTT_WINDOW_NANOS = 300_000_000_000L;

    private boolean hasDelivery;
    private long xmitTs;
    private int endSeq;
    private long rtt;
    private long minRtt = Long.MAX_VALUE;
    private long minRttStamp;
    private boolean hasFack;
    private int fack;
    private boolean reorderingSeen;
    private int reoWndMult = 1;
    private int reoWndPersist;
    private boolean inDsackRound;
    private int dsackRound;
    /** How long until the earliest segment not yet lost may be (section 6.2 step 5's timeout), or 0. */
    private long reorderTimeout;

    /** RFC 8985 section 6.2's RACK_sent_after: whether (t1, seq1) was sent after (t2, seq2). */
    static boolean sentAfter(long t1, int seq1, long t2, int seq2) {
        return t1 - t2 > 0 || (t1 == t2 && Seq.gt(seq1, seq2));
    }

    /**
     * Section 6.2 steps 2 and 3, for a segment an ACK newly delivered (cumulatively or by SACK).
     *
     * @param echoesEarlierSend the ACK's timestamp echo predates this (retransmitted) segment's
     *                          last send: it acknowledges an earlier copy
     */
    void delivered(int end, long sentAt, boolean retransmitted, boolean echoesEarlierSend, long now) {
        long sample = now - sentAt;
        if (retransmitted && (echoesEarlierSend || sample < minRtt)) {
            // Step 2: an ACK that may be for the original copy gives no RTT and no send time.
        } else {
            rtt = sample;
            if (!hasDelivery || sentAfter(sentAt, end, xmitTs, endSeq)) {
                xmitTs = sentAt;
                endSeq = end;
                hasDelivery = true;
            }
        }
        // Step 3: delivered below the highest delivered sequence, and never sent twice: reordered.
        if (!hasFack || Seq.gt(end, fack)) {
            fack = end;
            hasFack = true;
        } else if (Seq.lt(end, fack) && !retransmitted) {
            reorderingSeen = true;
        }
    }

    /** An RTT measurement from any source: RACK.min_RTT is their minimum over a window of time. */
    void rttSample(long sample, long now) {
        if (sample <= minRtt || now - minRttStamp > MIN_RTT_WINDOW_NANOS) {
            minRtt = sample;
            minRttStamp = now;
        }
    }

    /**
     * Section 6.2 step 4, the D-SACK half: a D-SACK shows a needless retransmission, so the
     * reordering window grows by a quarter of min_RTT, once per round trip.
     */
    void dsackArrived(int sndUna, int sndMax) {
        if (inDsackRound && Seq.geq(sndUna, dsackRound)) {
            inDsackRound = false;
        }
        if (!inDsackRound) {
            inDsackRound = true;
            dsackRound = sndMax;
            reoWndMult++;
            reoWndPersist = REO_WND_PERSIST;
        }
    }

    /** Section 6.2 step 4: a recovery ended; after 16 without D-SACK the window shrinks back. */
    void recoveryEnded() {
        if (--reoWndPersist <= 0) {
            reoWndMult = 1;
            reoWndPersist = 0;
        }
    }

    /** Section 6.2 step 4's RACK.reo_wnd. */
    long reorderWindow(boolean inRecovery, int sackedSegments, long srtt) {
        if (!reorderingSeen && (inRecovery || sackedSegments >= LossRecovery.DUP_THRESH)) {
            return 0;
        }
        long wnd = minRtt == Long.MAX_VALUE ? 0 : reoWndMult * (minRtt / 4);
        return Math.min(wnd, srtt);
    }

    /**
     * Section 6.2 step 5: marks lost each segment sent before the latest delivered one by more
     * than RACK.rtt + {@code reoWnd}. Segments that may still arrive leave a
     * {@link #reorderTimeout()} for when to look again.
     *
     * @return segments newly marked lost
     */
    int detectLoss(SentSegments sent, long now, long reoWnd) {
        reorderTimeout = 0;
        if (!hasDelivery) {
            return 0;
        }
        int marked = 0;
        for (int i = 0, n = sent.size(); i < n; i++) {
            if (sent.has(i, SentSegments.SACKED) || sent.awaitsRepair(i)) {
                continue;
            }
            long t = sent.sentAt(i);
            if (!sentAfter(xmitTs, endSeq, t, sent.end(i))) {
                if (sent.sentInOrderFrom(i)) {
                    // This and every segment above it left after the latest delivered one.
                    break;
                }
                continue;
            }
            long remaining = t + rtt + reoWnd - now;
            if (remaining <= 0) {
                if (sent.markLost(i)) {
                    marked++;
                }
            } else {
                reorderTimeout = Math.max(reorderTimeout, remaining);
            }
        }
        return marked;
    }

    /**
     * Section 6.3: when the retransmission timer fires, the first unacknowledged segment is lost
     * (it was sent an RTO ago) and so is every other sent longer than RACK.rtt + {@code reoWnd} ago.
     *
     * @return segments newly marked lost
     */
    int markLossesOnTimeout(SentSegments sent, long now, long reoWnd) {
        int marked = 0;
        for (int i = 0, n = sent.size(); i < n; i++) {
            if (sent.has(i, SentSegments.SACKED)) {
                continue;
            }
            if ((i == 0 || sent.sentAt(i) + rtt + reoWnd - now <= 0) && sent.markLost(i)) {
                marked++;
            }
        }
        return marked;
    }

    /** After {@link #detectLoss}: how long until it should run again (section 6.3's reordering timer), or 0. */
    long reorderTimeout() {
        return reorderTimeout;
    }

    long rtt() {
        return rtt;
    }

    boolean reorderingSeen() {
        return reorderingSeen;
    }

    int reorderWindowMultiplier() {
        return reoWndMult;
    }
}
