package dev.loomstack.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Proportional Rate Reduction (RFC 6937) on its own: what each ACK in recovery lets go. */
class ProportionalRateReductionTest {
    private static final int MSS = 1_000;

    /** Sends whole segments while the quota lasts, as the sender does; returns the bytes sent. */
    private static int sendWhatIsAllowed(ProportionalRateReduction prr) {
        int sent = 0;
        for (int guard = 0; guard < 1_000 && prr.maySend(); guard++) {
            prr.sent(MSS);
            sent += MSS;
        }
        return sent;
    }

    /**
     * RFC 6937 section 3.1, pipe > ssthresh: sndcnt = CEIL(prr_delivered * ssthresh / RecoverFS)
     * - prr_out. With ssthresh half of RecoverFS, every second delivered segment lets one go,
     * and over the round trip that delivers RecoverFS the sender sends ssthresh.
     */
    @Test
    void theProportionalPartSendsSsthreshOverRecoverFsOfWhatIsDelivered() {
        int recoverFs = 20 * MSS;
        int ssthresh = 10 * MSS;
        ProportionalRateReduction prr = new ProportionalRateReduction();
        prr.start(recoverFs);
        int total = 0;
        int pipe = recoverFs - MSS;
        for (int ack = 1; ack <= 20; ack++) {
            // Pipe stays above ssthresh: one segment delivered, what was sent went in.
            prr.onAck(MSS, Math.max(pipe, ssthresh + 1), ssthresh, MSS);
            int sent = sendWhatIsAllowed(prr);
            total += sent;
            pipe = pipe - MSS + sent;
            // After k ACKs, at most CEIL(k / 2) segments, rounding up (one in flight on the first ACK).
            assertTrue(total <= ((ack + 1) / 2) * MSS, "after " + ack + " ACKs: " + total);
        }
        assertEquals(ssthresh, total, "one RecoverFS delivered lets ssthresh go");
    }

    /** The proportion holds for any ratio: Cubic's beta = 0.7 sends 7 of every 10 delivered. */
    @Test
    void theProportionalPartFollowsTheRatio() {
        int recoverFs = 100 * MSS;
        int ssthresh = 70 * MSS;
        ProportionalRateReduction prr = new ProportionalRateReduction();
        prr.start(recoverFs);
        int total = 0;
        for (int ack = 1; ack <= 100; ack++) {
            prr.onAck(MSS, ssthresh + MSS, ssthresh, MSS);
            total += sendWhatIsAllowed(prr);
            long due = ((long) ack * MSS * ssthresh + recoverFs - 1) / recoverFs;
            assertTrue(total >= due && total < due + MSS, "after " + ack + " ACKs: " + total + " vs " + due);
        }
        assertEquals(ssthresh, total);
    }

    /**
     * Section 3.1, pipe <= ssthresh (PRR-SSRB): the sender may catch up to ssthresh, but by no
     * more than MAX(prr_delivered - prr_out, DeliveredData) + MSS on this ACK.
     */
    @Test
    void belowSsthreshTheSlowStartReductionBoundLimitsTheCatchUp() {
        int ssthresh = 10 * MSS;
        ProportionalRateReduction prr = new ProportionalRateReduction();
        prr.start(20 * MSS);
        // A burst of losses: pipe fell to 2 segments. Two segments delivered, nothing sent yet.
        prr.onAck(2 * MSS, 2 * MSS, ssthresh, MSS);
        assertEquals(3 * MSS, prr.quota(), "MAX(2 - 0, 2) + 1 segments, not ssthresh - pipe = 8");
        assertEquals(3 * MSS, sendWhatIsAllowed(prr));
        // One more delivered: MAX(3 - 3, 1) + 1 = 2 segments.
        prr.onAck(MSS, 4 * MSS, ssthresh, MSS);
        assertEquals(2 * MSS, prr.quota());
        // Close to ssthresh the gap is the limit.
        prr.onAck(5 * MSS, 9 * MSS, ssthresh, MSS);
        assertEquals(MSS, prr.quota(), "ssthresh - pipe = 1 segment");
        prr.onAck(MSS, ssthresh, ssthresh, MSS);
        assertFalse(prr.maySend(), "at ssthresh nothing more");
    }

    /** Section 3 (and Linux): the first ACK of recovery always lets the fast retransmit go. */
    @Test
    void theFirstAckAlwaysAllowsTheFastRetransmit() {
        ProportionalRateReduction prr = new ProportionalRateReduction();
        prr.start(20 * MSS);
        // Nothing newly delivered (the loss was found by the reordering timer): the proportion gives 0.
        prr.onAck(0, 19 * MSS, 10 * MSS, MSS);
        assertTrue(prr.maySend());
        assertEquals(MSS, prr.quota());
        prr.sent(MSS);
        assertFalse(prr.maySend());
        // Once something went out, an ACK that delivers nothing lets nothing go.
        prr.onAck(0, 19 * MSS, 10 * MSS, MSS);
        assertFalse(prr.maySend());
    }

    /** Each send uses up what the latest ACK allowed; the next ACK recomputes from prr_out. */
    @Test
    void sentConsumesTheQuota() {
        ProportionalRateReduction prr = new ProportionalRateReduction();
        prr.start(10 * MSS);
        prr.onAck(4 * MSS, 8 * MSS, 5 * MSS, MSS);
        assertEquals(2 * MSS, prr.quota());
        prr.sent(MSS);
        assertEquals(MSS, prr.quota());
        assertTrue(prr.maySend());
        prr.sent(MSS);
        assertFalse(prr.maySend());
        assertEquals(0, prr.quota());
        // Two more delivered: CEIL(6 * 5 / 10) - 2 = 1 segment.
        prr.onAck(2 * MSS, 8 * MSS, 5 * MSS, MSS);
        assertEquals(MSS, prr.quota());
        // A new recovery starts from nothing sent.
        prr.start(10 * MSS);
        assertEquals(0, prr.quota());
    }
}
