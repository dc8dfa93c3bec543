package dev.loomstack.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** RACK (RFC 8985 section 6) on its own, over a hand-built record of segments sent. */
class RackTest {
    private static final int MSS = 1_000;
    private static final int BASE = 50_000;
    private static final long MS = 1_000_000L;
    private static final SentSegments.Delivery IGNORE = (start, end, sentAt, retransmitted) -> { };

    private static int seg(int i) {
        return BASE + i * MSS;
    }

    /** {@code n} segments, the i-th sent at i ms. */
    private static SentSegments sentOneMsApart(int n) {
        SentSegments s = new SentSegments();
        for (int i = 0; i < n; i++) {
            s.sent(seg(i), seg(i + 1), i * MS);
        }
        return s;
    }

    /** Segment {@code i} is SACKed and RACK told of its delivery at {@code now}. */
    private static void sackAndDeliver(Rack rack, SentSegments s, int i, long now) {
        s.sack(s.start(i), s.end(i), IGNORE);
        rack.delivered(s.end(i), s.sentAt(i), false, false, now);
    }

    /** Section 6.2 RACK_sent_after: the later time wins; at the same time, the higher sequence. */
    @Test
    void sentAfterComparesTimesThenSequenceOnATie() {
        assertTrue(Rack.sentAfter(5, 100, 4, 200));
        assertFalse(Rack.sentAfter(4, 200, 5, 100));
        assertTrue(Rack.sentAfter(5, 200, 5, 100));
        assertFalse(Rack.sentAfter(5, 100, 5, 200));
        assertFalse(Rack.sentAfter(5, 100, 5, 100));
        // Sequence numbers compare across 2^32.
        assertTrue(Rack.sentAfter(5, 0x10, 5, 0xFFFFFFF0));
    }

    /**
     * Section 6.2 step 5: with RACK.rtt = 10 ms and no reordering window, the segments sent
     * before the delivered one are lost 10 ms after they left; those sent after it are not judged.
     */
    @Test
    void detectLossMarksSegmentsSentBeforeTheDeliveredOneByMoreThanRttPlusReoWnd() {
        SentSegments s = sentOneMsApart(5);
        Rack rack = new Rack();
        sackAndDeliver(rack, s, 3, 13 * MS);
        assertEquals(10 * MS, rack.rtt());
        assertEquals(3, rack.detectLoss(s, 13 * MS, 0));
        for (int i = 0; i < 3; i++) {
            assertTrue(s.awaitsRepair(i), "segment " + i);
        }
        assertFalse(s.has(4, SentSegments.LOST), "sent after the delivered segment: not judged");
        assertEquals(0, rack.reorderTimeout());
        // Marks are not counted twice.
        assertEquals(0, rack.detectLoss(s, 14 * MS, 0));
    }

    /**
     * Section 6.2 step 5 and 6.3: within RACK.rtt + reo_wnd a segment may still arrive; the
     * reordering timer is set for the latest of those deadlines.
     */
    @Test
    void detectLossLeavesTheReorderTimeoutForSegmentsStillInTheWindow() {
        SentSegments s = sentOneMsApart(5);
        Rack rack = new Rack();
        sackAndDeliver(rack, s, 3, 13 * MS);
        long reoWnd = 2 * MS + MS / 2;
        assertEquals(1, rack.detectLoss(s, 13 * MS, reoWnd));
        assertTrue(s.awaitsRepair(0));
        assertFalse(s.has(1, SentSegments.LOST));
        assertFalse(s.has(2, SentSegments.LOST));
        // Segment 2 left at 2 ms: lost at 2 + 10 + 2.5 = 14.5 ms, 1.5 ms from now.
        assertEquals(MS + MS / 2, rack.reorderTimeout());
        assertEquals(2, rack.detectLoss(s, 14 * MS + MS / 2, reoWnd));
        assertEquals(0, rack.reorderTimeout());
    }

    /** Nothing delivered yet: no RACK.xmit_ts to compare with, nothing lost. */
    @Test
    void detectLossWithoutADeliveryMarksNothing() {
        SentSegments s = sentOneMsApart(3);
        assertEquals(0, new Rack().detectLoss(s, 1_000 * MS, 0));
        assertEquals(0, s.lostBytes());
    }

    /**
     * The walk stops at the first segment sent after RACK.xmit_ts only when nothing above it was
     * ever sent again: a retransmission higher up whose stamp is older is still judged.
     */
    @Test
    void theEarlyBreakNeverSkipsAnOlderRetransmissionAbove() {
        SentSegments s = new SentSegments();
        s.sent(seg(0), seg(1), 0);
        s.sent(seg(1), seg(2), 20 * MS);
        s.sent(seg(2), seg(3), 21 * MS);
        // Segment 2 sent again with a stamp older than segment 1's (a clock read before it).
        s.retransmitted(2, 5 * MS);
        s.sent(seg(3), seg(4), 10 * MS);
        Rack rack = new Rack();
        sackAndDeliver(rack, s, 3, 40 * MS);
        assertEquals(2, rack.detectLoss(s, 40 * MS, 0));
        assertTrue(s.awaitsRepair(0));
        assertFalse(s.has(1, SentSegments.LOST), "sent after the delivered segment");
        assertTrue(s.awaitsRepair(2), "the older retransmission above segment 1 is judged");
    }

    /** The walk does stop at an in-order segment: with no retransmission above, later segments are not looked at. */
    @Test
    void theEarlyBreakStopsAtTheFirstInOrderSegmentSentLater() {
        SentSegments s = sentOneMsApart(6);
        s.markLost(1);
        s.retransmitted(1, 7 * MS);
        Rack rack = new Rack();
        sackAndDeliver(rack, s, 2, 30 * MS);
        assertEquals(1, rack.detectLoss(s, 30 * MS, 0));
        assertTrue(s.awaitsRepair(0));
        assertFalse(s.awaitsRepair(1), "its repair left after the delivered segment");
        assertFalse(s.sentInOrderFrom(1));
        assertTrue(s.sentInOrderFrom(3));
        assertFalse(s.has(3, SentSegments.LOST));
    }

    /**
     * Section 6.2 step 4: the window is zero while no reordering was seen and the sender is in
     * recovery or has DupThresh segments SACKed; otherwise min_RTT / 4, capped by SRTT.
     */
    @Test
    void reorderWindowIsZeroInRecoveryOrWithDupThreshSackedUntilReorderingIsSeen() {
        Rack rack = new Rack();
        assertEquals(0, rack.reorderWindow(false, 0, 100 * MS), "no min_RTT yet");
        rack.rttSample(8 * MS, 0);
        assertEquals(2 * MS, rack.reorderWindow(false, 0, 100 * MS));
        assertEquals(2 * MS, rack.reorderWindow(false, LossRecovery.DUP_THRESH - 1, 100 * MS));
        assertEquals(0, rack.reorderWindow(true, 0, 100 * MS));
        assertEquals(0, rack.reorderWindow(false, LossRecovery.DUP_THRESH, 100 * MS));
        // Step 3: a segment never sent twice delivered below RACK.fack is reordering.
        rack.delivered(seg(3), 3 * MS, false, false, 20 * MS);
        rack.delivered(seg(1), 1 * MS, false, false, 21 * MS);
        assertTrue(rack.reorderingSeen());
        assertEquals(2 * MS, rack.reorderWindow(true, 5, 100 * MS));
        assertEquals(MS, rack.reorderWindow(true, 5, MS), "never more than SRTT");
    }

    /** Step 3: a retransmission delivered below RACK.fack is a repair, not reordering. */
    @Test
    void aRepairDeliveredBelowFackIsNotReordering() {
        Rack rack = new Rack();
        rack.rttSample(MS, 0);
        rack.delivered(seg(3), 3 * MS, false, false, 20 * MS);
        rack.delivered(seg(1), 15 * MS, true, false, 21 * MS);
        assertFalse(rack.reorderingSeen());
    }

    /**
     * Step 4: a D-SACK grows reo_wnd_mult once per round, the round lasting until SND.UNA passes
     * SND.MAX as it was at the D-SACK.
     */
    @Test
    void dsackGrowsTheMultiplierOncePerRound() {
        Rack rack = new Rack();
        rack.rttSample(8 * MS, 0);
        assertEquals(1, rack.reorderWindowMultiplier());
        rack.dsackArrived(seg(0), seg(10));
        assertEquals(2, rack.reorderWindowMultiplier());
        assertEquals(4 * MS, rack.reorderWindow(false, 0, 100 * MS));
        rack.dsackArrived(seg(5), seg(12));
        rack.dsackArrived(seg(9), seg(14));
        assertEquals(2, rack.reorderWindowMultiplier(), "same round: SND.UNA has not reached seg(10)");
        rack.dsackArrived(seg(10), seg(20));
        assertEquals(3, rack.reorderWindowMultiplier());
        assertEquals(6 * MS, rack.reorderWindow(false, 0, 100 * MS));
    }

    /** Step 4: after REO_WND_PERSIST (16) recoveries without a D-SACK the multiplier returns to 1. */
    @Test
    void sixteenDsackFreeRecoveriesResetTheMultiplier() {
        Rack rack = new Rack();
        rack.dsackArrived(seg(0), seg(10));
        rack.dsackArrived(seg(10), seg(20));
        assertEquals(3, rack.reorderWindowMultiplier());
        for (int i = 0; i < Rack.REO_WND_PERSIST - 1; i++) {
            rack.recoveryEnded();
        }
        assertEquals(3, rack.reorderWindowMultiplier());
        rack.recoveryEnded();
        assertEquals(1, rack.reorderWindowMultiplier());
        // A new D-SACK starts the count again from 16.
        rack.dsackArrived(seg(20), seg(30));
        assertEquals(2, rack.reorderWindowMultiplier());
        rack.recoveryEnded();
        assertEquals(2, rack.reorderWindowMultiplier());
    }

    /**
     * Step 2: a retransmitted segment delivered with a timestamp echo older than its last send,
     * or sooner than min_RTT after it, may be the original's delivery: no RTT, no RACK.xmit_ts.
     */
    @Test
    void anAmbiguousRetransmissionGivesNoSample() {
        Rack rack = new Rack();
        rack.rttSample(10 * MS, 0);
        rack.delivered(seg(1), 100 * MS, true, true, 130 * MS);
        assertEquals(0, rack.rtt(), "the echo predates the retransmission");
        rack.delivered(seg(1), 100 * MS, true, false, 105 * MS);
        assertEquals(0, rack.rtt(), "faster than min_RTT");
        SentSegments s = sentOneMsApart(2);
        assertEquals(0, rack.detectLoss(s, 1_000 * MS, 0), "no RACK.xmit_ts, nothing judged");
        rack.delivered(seg(1), 100 * MS, true, false, 112 * MS);
        assertEquals(12 * MS, rack.rtt(), "a retransmission answered no sooner than min_RTT measures");
    }

    /** Section 6.3: on a timeout the first unacknowledged segment is lost whatever its age; the rest by RACK.rtt. */
    @Test
    void markLossesOnTimeoutAlwaysMarksTheFirst() {
        SentSegments s = new SentSegments();
        for (int i = 0; i < 4; i++) {
            s.sent(seg(i), seg(i + 1), (90 + i) * MS);
        }
        Rack rack = new Rack();
        rack.delivered(seg(0) - 1, 40 * MS, false, false, 90 * MS);
        assertEquals(50 * MS, rack.rtt());
        assertEquals(1, rack.markLossesOnTimeout(s, 100 * MS, 0));
        assertTrue(s.awaitsRepair(0));
        assertFalse(s.has(1, SentSegments.LOST));
        // Its repair is lost again at the next timeout; so are the others, now older than RACK.rtt.
        s.retransmitted(0, 100 * MS);
        s.sack(seg(3), seg(4), IGNORE);
        assertEquals(3, rack.markLossesOnTimeout(s, 142 * MS, 0));
        assertTrue(s.awaitsRepair(0));
        assertTrue(s.awaitsRepair(1));
        assertTrue(s.awaitsRepair(2));
        assertFalse(s.has(3, SentSegments.LOST), "SACKed: never lost");
    }
}
