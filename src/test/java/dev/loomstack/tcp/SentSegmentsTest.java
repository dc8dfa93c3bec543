package dev.loomstack.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The record of segments in flight on its own: what it tiles, what it counts, what it reports delivered. */
class SentSegmentsTest {
    private static final int MSS = 1_000;
    private static final int BASE = 10_000;

    /** One call of the delivery callback. */
    record Delivered(int start, int end, long sentAt, boolean retransmitted) {}

    private final List<Delivered> delivered = new ArrayList<>();
    private final SentSegments.Delivery recorder =
            (start, end, sentAt, retransmitted) -> delivered.add(new Delivered(start, end, sentAt, retransmitted));

    /** {@code n} whole segments from {@code base}, the i-th sent at time i. */
    private static SentSegments sent(int base, int n) {
        SentSegments s = new SentSegments();
        for (int i = 0; i < n; i++) {
            s.sent(base + i * MSS, base + (i + 1) * MSS, i);
        }
        return s;
    }

    private static int seg(int i) {
        return BASE + i * MSS;
    }

    @Test
    void aCumulativeAckRemovesWholeSegmentsAndReportsEachOnce() {
        SentSegments s = sent(BASE, 4);
        s.acknowledge(seg(2), recorder);
        assertEquals(2, s.size());
        assertEquals(seg(2), s.start(0));
        assertEquals(List.of(new Delivered(seg(0), seg(1), 0, false), new Delivered(seg(1), seg(2), 1, false)),
                delivered);
        // The same ACK again delivers nothing.
        s.acknowledge(seg(2), recorder);
        assertEquals(2, delivered.size());
    }

    /** A cumulative ACK inside a segment trims it: the acknowledged part is delivered, the rest stays. */
    @Test
    void anAckInsideTheHeadSegmentTrimsIt() {
        SentSegments s = sent(BASE, 2);
        s.markLost(0);
        s.acknowledge(seg(0) + 400, recorder);
        assertEquals(2, s.size());
        assertEquals(seg(0) + 400, s.start(0));
        assertEquals(seg(1), s.end(0));
        assertEquals(List.of(new Delivered(seg(0), seg(0) + 400, 0, false)), delivered);
        // The lost count loses the acknowledged part only.
        assertEquals(600, s.lostBytes());
        s.acknowledge(seg(1), recorder);
        assertEquals(0, s.lostBytes());
        assertEquals(List.of(seg(0) + 400, seg(1)), List.of(delivered.get(1).start(), delivered.get(1).end()));
    }

    /**
     * RFC 8985 section 6.2 step 2 looks at each segment newly delivered: a segment SACKed earlier
     * was delivered then, and the cumulative ACK that later covers it does not report it again.
     */
    @Test
    void aSackedSegmentIsNotDeliveredAgainByTheCumulativeAck() {
        SentSegments s = sent(BASE, 3);
        assertEquals(MSS, s.sack(seg(1), seg(2), recorder));
        assertEquals(List.of(new Delivered(seg(1), seg(2), 1, false)), delivered);
        delivered.clear();
        s.acknowledge(seg(3), recorder);
        assertEquals(List.of(new Delivered(seg(0), seg(1), 0, false), new Delivered(seg(2), seg(3), 2, false)),
                delivered);
        assertEquals(0, s.sackedBytes());
        assertEquals(0, s.sackedSegments());
    }

    /** A SACKed head trimmed by a cumulative ACK is still SACKed and still one segment, and not delivered again. */
    @Test
    void aSackedHeadCutByTheAckStaysOneSackedSegment() {
        SentSegments s = sent(BASE, 2);
        s.sack(seg(0), seg(1), recorder);
        delivered.clear();
        s.acknowledge(seg(0) + 300, recorder);
        assertTrue(delivered.isEmpty());
        assertEquals(1, s.sackedSegments());
        assertEquals(700, s.sackedBytes());
    }

    /** RFC 6675 section 4: a segment is SACKed when the block covers all of it, not a part. */
    @Test
    void sackMarksOnlyWhollyCoveredSegments() {
        SentSegments s = sent(BASE, 4);
        // Covers the second half of segment 0, all of 1 and 2, the first half of 3.
        int newly = s.sack(seg(0) + 500, seg(3) + 500, recorder);
        assertEquals(2 * MSS, newly);
        assertFalse(s.has(0, SentSegments.SACKED));
        assertTrue(s.has(1, SentSegments.SACKED));
        assertTrue(s.has(2, SentSegments.SACKED));
        assertFalse(s.has(3, SentSegments.SACKED));
        assertEquals(2, s.sackedSegments());
        // The same block again is nothing new.
        assertEquals(0, s.sack(seg(0) + 500, seg(3) + 500, recorder));
        assertEquals(2, delivered.size());
    }

    /**
     * RFC 6675 section 4's pipe from running counts: a segment lost counts out, its repair in
     * flight counts back in, a lost repair counts out again, and a SACK or the cumulative ACK
     * leaves every count at what the remaining segments hold.
     */
    @Test
    void byteCountsStayConsistentThroughLossRepairLostRepairSackAndAck() {
        SentSegments s = sent(BASE, 4);
        assertTrue(s.markLost(0));
        assertTrue(s.markLost(1));
        assertFalse(s.markLost(1), "a segment already waiting for its repair is not marked again");
        assertEquals(2 * MSS, s.lostBytes());
        s.retransmitted(0, 10);
        s.retransmitted(1, 11);
        assertEquals(2 * MSS, s.lostBytes());
        assertEquals(2 * MSS, s.retransmittedBytes());
        // The repair of segment 0 is lost too (RFC 8985 section 2.2): its copy no longer counts.
        assertTrue(s.markLost(0));
        assertEquals(2 * MSS, s.lostBytes());
        assertEquals(MSS, s.retransmittedBytes());
        assertTrue(s.awaitsRepair(0));
        // The repair of segment 1 is SACKed: neither lost nor in flight twice any more.
        s.sack(seg(1), seg(2), recorder);
        assertEquals(MSS, s.lostBytes());
        assertEquals(0, s.retransmittedBytes());
        assertEquals(MSS, s.sackedBytes());
        assertTrue(delivered.getFirst().retransmitted(), "Karn: a segment sent twice is reported as such");
        s.retransmitted(0, 20);
        assertEquals(MSS, s.retransmittedBytes());
        s.acknowledge(seg(4), recorder);
        assertEquals(0, s.lostBytes());
        assertEquals(0, s.retransmittedBytes());
        assertEquals(0, s.sackedBytes());
        assertEquals(0, s.sackedSegments());
        assertTrue(s.isEmpty());
    }

    /**
     * A copy of a segment the receiver already SACKed (a tail loss probe or a recovery probe of
     * the last segment) is not a retransmission in flight for pipe: the receiver holds it, and the
     * counts stay right when it is later acknowledged.
     */
    @Test
    void resendingASackedSegmentLeavesTheCountsConsistent() {
        SentSegments s = sent(BASE, 3);
        s.sack(seg(2), seg(3), recorder);
        s.retransmitted(2, 10);
        assertEquals(0, s.retransmittedBytes());
        s.acknowledge(seg(3), recorder);
        assertEquals(0, s.retransmittedBytes());
        assertEquals(0, s.sackedBytes());
        // A fresh flight starts from clean counts.
        s.sent(seg(3), seg(4), 20);
        assertTrue(s.markLost(0));
        s.retransmitted(0, 21);
        assertEquals(MSS, s.retransmittedBytes());
    }

    /** RFC 6675 section 5 NextSeg rule 1: the lowest segment waiting for a repair, each once. */
    @Test
    void nextToRepairGoesInSequenceOrderAndFollowsTheLostHint() {
        SentSegments s = sent(BASE, 6);
        assertEquals(-1, s.nextToRepair());
        s.markLost(4);
        s.markLost(1);
        assertEquals(1, s.nextToRepair());
        s.retransmitted(1, 10);
        assertEquals(4, s.nextToRepair());
        s.retransmitted(4, 11);
        assertEquals(-1, s.nextToRepair());
        // A segment below the hint marked lost later (a lost repair) is found again.
        s.markLost(1);
        assertEquals(1, s.nextToRepair());
        s.retransmitted(1, 12);
        // A segment between repairs found lost later is found too.
        s.markLost(2);
        assertEquals(2, s.nextToRepair());
        // A cumulative ACK past a lost segment takes it out of the search.
        s.acknowledge(seg(3), recorder);
        assertEquals(-1, s.nextToRepair());
        // Segment 4's repair is in flight: still counted lost, and in flight once more.
        assertEquals(MSS, s.lostBytes());
        assertEquals(MSS, s.retransmittedBytes());
    }

    /** RFC 3708 section 4: an undone recovery forgets what it marked lost; SACKs and copies in flight stay. */
    @Test
    void clearLostMarksForgetsLossesOnly() {
        SentSegments s = sent(BASE, 4);
        s.markLost(0);
        s.markLost(1);
        s.retransmitted(0, 10);
        s.sack(seg(3), seg(4), recorder);
        s.clearLostMarks();
        assertEquals(0, s.lostBytes());
        assertEquals(-1, s.nextToRepair());
        assertFalse(s.has(0, SentSegments.LOST));
        assertFalse(s.has(1, SentSegments.LOST));
        assertEquals(MSS, s.retransmittedBytes());
        assertEquals(MSS, s.sackedBytes());
        s.acknowledge(seg(4), recorder);
        assertEquals(0, s.retransmittedBytes());
        assertEquals(0, s.sackedBytes());
    }

    /** The record doubles from its initial capacity and stops at MAX_SEGMENTS, keeping order. */
    @Test
    void growsFromTheInitialCapacityToMaxSegmentsThenIsFull() {
        SentSegments s = new SentSegments();
        int n = SentSegments.MAX_SEGMENTS;
        for (int i = 0; i < n; i++) {
            assertFalse(s.isFull());
            s.sent(BASE + i * 10, BASE + (i + 1) * 10, i);
        }
        assertTrue(s.isFull());
        assertEquals(n, s.size());
        for (int i = 0; i < n; i += 97) {
            assertEquals(BASE + i * 10, s.start(i));
            assertEquals(i, s.sentAt(i));
        }
        assertEquals(BASE + n * 10, s.end(n - 1));
        s.acknowledge(BASE + 10, recorder);
        assertFalse(s.isFull());
        s.sent(BASE + n * 10, BASE + n * 10 + 10, n);
        assertTrue(s.isFull());
        assertEquals(BASE + n * 10, s.start(n - 1));
    }

    /** The head moves past the end of the arrays: indexes, search and growth still see sequence order. */
    @Test
    void theRingWrapsAroundTheArrayEnd() {
        int cap = SentSegments.INITIAL_CAPACITY;
        SentSegments s = sent(BASE, cap);
        s.acknowledge(seg(cap - 3), recorder);
        assertEquals(3, s.size());
        // These land at the start of the arrays, after the three at their end.
        for (int i = cap; i < cap + 10; i++) {
            s.sent(seg(i), seg(i + 1), i);
        }
        assertEquals(13, s.size());
        for (int i = 0; i < 13; i++) {
            assertEquals(seg(cap - 3 + i), s.start(i));
        }
        assertEquals(4, s.firstEndingAfter(seg(cap + 1)));
        assertEquals(MSS, s.sack(seg(cap + 1), seg(cap + 2), recorder));
        assertTrue(s.has(4, SentSegments.SACKED));
        s.markLost(1);
        assertEquals(1, s.nextToRepair());
        // Fill the wrapped ring and grow it: order and flags survive the copy.
        int more = cap - 13;
        for (int i = 0; i < more + 1; i++) {
            s.sent(seg(cap + 10 + i), seg(cap + 11 + i), cap + 10 + i);
        }
        assertEquals(cap + 1, s.size());
        for (int i = 0; i < s.size(); i++) {
            assertEquals(seg(cap - 3 + i), s.start(i));
        }
        assertTrue(s.has(4, SentSegments.SACKED));
        assertTrue(s.awaitsRepair(1));
        s.acknowledge(s.end(s.size() - 1), recorder);
        assertTrue(s.isEmpty());
        assertEquals(0, s.sackedBytes());
        assertEquals(0, s.lostBytes());
    }

    /** Sequence numbers compare modulo 2^32 (RFC 9293 section 3.4): a flight across the wrap behaves as any. */
    @Test
    void sequenceNumbersWrapAt2To32() {
        int base = 0xFFFFF000;
        SentSegments s = sent(base, 8);
        // Segment 4 runs from 0xFFFFFFA0 to 0x00000388: across 2^32.
        assertTrue(Integer.compareUnsigned(s.start(4), s.end(4)) > 0, "segment 4 straddles 2^32");
        assertEquals(5, s.firstEndingAfter(base + 5 * MSS));
        assertEquals(2 * MSS, s.sack(base + 5 * MSS, base + 7 * MSS, recorder));
        assertTrue(s.has(5, SentSegments.SACKED));
        assertTrue(s.has(6, SentSegments.SACKED));
        s.markLost(3);
        s.markLost(7);
        assertEquals(3, s.nextToRepair());
        s.retransmitted(3, 10);
        assertEquals(7, s.nextToRepair());
        delivered.clear();
        s.acknowledge(base + 6 * MSS, recorder);
        // Segments 0 to 4 newly delivered; 5 had been SACKed.
        assertEquals(5, delivered.size());
        assertEquals(base + 4 * MSS, delivered.getLast().start());
        assertEquals(2, s.size());
        assertEquals(MSS, s.sackedBytes());
        assertEquals(1, s.nextToRepair());
    }
}
