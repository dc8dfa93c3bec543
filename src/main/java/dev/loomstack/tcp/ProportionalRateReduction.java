package dev.loomstack.tcp;

/**
 * Proportional Rate Reduction (RFC 6937): how much a sender in fast recovery may send on each
 * ACK. While more than ssthresh is in flight it sends in proportion to what is delivered, so the
 * flight shrinks smoothly to ssthresh over one round trip instead of stopping for half of it
 * (RFC 6675) or bursting (RFC 5681's inflated window); once below ssthresh it grows back by slow
 * start, but by no more than what was delivered plus one segment (the PRR-SSRB bound of section
 * 3.1), so a burst of losses does not turn into a burst of sends.
 *
 * <p>Called only under the endpoint's lock.
 */
final class ProportionalRateReduction {
    /** Section 3: the flight when recovery began, the figure the reduction is proportional to. */
    private int recoverFs;
    /** Section 3: bytes the receiver got during recovery. */
    private long delivered;
    /** Section 3: bytes sent during recovery. */
    private long out;
    /** What the latest ACK allows to be sent, less what went out since. */
    private int quota;

    /** Recovery begins with {@code flightSize} bytes outstanding. */
    void start(int flightSize) {
        recoverFs = Math.max(flightSize, 1);
        delivered = 0;
        out = 0;
        quota = 0;
    }

    /**
     * Section 3.1, on each ACK in recovery: {@code deliveredNow} bytes newly reached the
     * receiver (cumulatively or by SACK), {@code pipe} is what is left in flight.
     */
    void onAck(int deliveredNow, int pipe, int ssthresh, int mss) {
        delivered += deliveredNow;
        long sndcnt;
        if (pipe > ssthresh) {
            // Proportional part: CEIL(prr_delivered * ssthresh / RecoverFS) - prr_out.
            sndcnt = (delivered * ssthresh + recoverFs - 1) / recoverFs - out;
        } else {
            // Slow-start reduction bound: MIN(ssthresh - pipe, MAX(prr_delivered - prr_out, DeliveredData) + MSS).
            long limit = Math.max(delivered - out, deliveredNow) + mss;
            sndcnt = Math.min(ssthresh - pipe, limit);
        }
        if (sndcnt <= 0 && out == 0) {
            // The fast retransmit itself always goes (RFC 6937 section 3, as Linux does).
            sndcnt = mss;
        }
        quota = (int) Math.max(0, Math.min(sndcnt, Integer.MAX_VALUE));
    }

    /** Whether one more segment may go now. */
    boolean maySend() {
        return quota > 0;
    }

    /** {@code len} bytes were sent during recovery. */
    void sent(int len) {
        out += len;
        quota -= len;
    }

    int quota() {
        return Math.max(quota, 0);
    }
}
