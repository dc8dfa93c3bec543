package dev.loomstack.tcp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The out-of-order bookkeeping alone: merging, delivery, the range cap and the SACK block order. */
class OutOfOrderQueueTest {
    private final long[] starts = new long[OutOfOrderQueue.MAX_SACK_BLOCKS];
    private final long[] ends = new long[OutOfOrderQueue.MAX_SACK_BLOCKS];

    /** The blocks as start,end pairs, in the order they would be sent. */
    private long[] blocks(OutOfOrderQueue q, int max) {
        int n = q.sackBlocks(starts, ends, max);
        long[] out = new long[2 * n];
        for (int i = 0; i < n; i++) {
            out[2 * i] = starts[i];
            out[2 * i + 1] = ends[i];
        }
        return out;
    }

    /** A queue holding the given ranges, as start,end pairs in order of arrival. */
    private static OutOfOrderQueue holding(long... startEndPairs) {
        OutOfOrderQueue q = new OutOfOrderQueue();
        for (int i = 0; i < startEndPairs.length; i += 2) {
            q.add(startEndPairs[i], startEndPairs[i + 1]);
        }
        return q;
    }

    @Test
    void overlappingAndAdjacentArrivalsMergeIntoOneRange() {
        OutOfOrderQueue q = new OutOfOrderQueue();
        assertTrue(q.add(10, 20));
        assertTrue(q.add(15, 25));
        assertEquals(1, q.rangeCount());
        assertEquals(15, q.heldBytes());
        assertTrue(q.add(25, 30), "adjacent");
        assertEquals(1, q.rangeCount());
        assertEquals(20, q.heldBytes());
        assertTrue(q.add(12, 18), "inside");
        assertEquals(20, q.heldBytes());
        assertTrue(q.add(40, 50));
        assertTrue(q.add(60, 70));
        assertEquals(3, q.rangeCount());
        assertEquals(40, q.heldBytes());
        // One arrival bridging all three.
        assertTrue(q.add(5, 65));
        assertEquals(1, q.rangeCount());
        assertEquals(65, q.heldBytes());
        assertArrayEquals(new long[] {5, 70}, blocks(q, 4));
    }

    @Test
    void segmentsShiftedByThreeBytesHoldOneRangeTheSizeOfTheirUnion() {
        OutOfOrderQueue q = new OutOfOrderQueue();
        for (int i = 0; i < 100_000; i++) {
            assertTrue(q.add(1 + 3L * i, 1 + 3L * i + 1000));
        }
        assertEquals(1, q.rangeCount());
        assertEquals(3L * 99_999 + 1000, q.heldBytes(), "each byte counted once, not once per segment");
    }

    @Test
    void advanceDeliversTheRangesTheStreamReaches() {
        OutOfOrderQueue q = holding(10, 20, 30, 40, 50, 60);
        assertEquals(5, q.advance(5), "a hole remains before the first range");
        assertEquals(3, q.rangeCount());
        assertEquals(20, q.advance(10), "the stream reaches the first range exactly");
        assertEquals(2, q.rangeCount());
        assertEquals(20, q.heldBytes());
        // In-order data that overran a range part-way: its end still counts.
        assertEquals(40, q.advance(35));
        assertEquals(1, q.rangeCount());
        assertEquals(70, q.advance(70), "in-order data beyond every range");
        assertTrue(q.isEmpty());
        assertEquals(0, q.heldBytes());
        assertEquals(0, q.sackBlocks(starts, ends, 4));
    }

    @Test
    void atTheRangeCapAHigherRangeIsRefusedAndALowerOneEvictsTheHighest() {
        OutOfOrderQueue q = new OutOfOrderQueue();
        int cap = OutOfOrderQueue.MAX_RANGES;
        // Two-byte ranges with three-byte holes between them.
        for (int i = 0; i < cap; i++) {
            assertTrue(q.add(5L * i, 5L * i + 2));
        }
        assertEquals(cap, q.rangeCount());
        assertEquals(2L * cap, q.heldBytes());
        long top = 5L * (cap - 1);
        assertFalse(q.add(top + 10, top + 12), "a new range above all others is refused at the cap");
        assertEquals(cap, q.rangeCount());
        assertTrue(q.add(3, 4), "a lower new range is kept");
        assertEquals(cap, q.rangeCount());
        assertEquals(2L * cap - 2 + 1, q.heldBytes(), "the highest range was given up for it");
        assertArrayEquals(new long[] {3, 4, top - 5, top - 3}, Arrays.copyOf(blocks(q, 2), 4),
                "the evicted range is not reported");
    }

    @Test
    void sackBlocksPutTheLatestArrivalFirstThenTheMostRecentOthers() {
        OutOfOrderQueue q = holding(100, 110, 300, 310, 500, 510, 700, 710, 900, 910);
        assertArrayEquals(new long[] {900, 910, 700, 710, 500, 510, 300, 310}, blocks(q, 4));
        assertArrayEquals(new long[] {900, 910, 700, 710, 500, 510}, blocks(q, 3), "three beside timestamps");
        // A duplicate inside an older range triggers the next ACK: its block comes first.
        q.add(302, 305);
        assertArrayEquals(new long[] {300, 310, 900, 910, 700, 710, 500, 510}, blocks(q, 4));
        // Growing a range reports it with its new edges.
        q.add(505, 520);
        assertArrayEquals(new long[] {500, 520, 300, 310, 900, 910, 700, 710}, blocks(q, 4));
        // Delivered ranges are no longer reported; room left is filled with the highest others.
        q.advance(310);
        assertArrayEquals(new long[] {500, 520, 900, 910, 700, 710}, blocks(q, 4));
        q.add(800, 801);
        assertArrayEquals(new long[] {800, 801, 500, 520, 900, 910, 700, 710}, blocks(q, 4));
    }

    @Test
    void clearForgetsEverything() {
        OutOfOrderQueue q = new OutOfOrderQueue();
        for (int i = 0; i < 100; i++) {
            q.add(10L * i, 10L * i + 5);
        }
        q.clear();
        assertTrue(q.isEmpty());
        assertEquals(0, q.heldBytes());
        assertEquals(0, q.sackBlocks(starts, ends, 4));
        assertTrue(q.add(7, 9));
        assertEquals(Arrays.toString(new long[] {7, 9}), Arrays.toString(blocks(q, 4)));
    }

    /** RFC 2883 section 4: behind a D-SACK block the range holding the duplicate is reported, then the usual order. */
    @Test
    void aLeadOffsetPutsTheRangeHoldingItFirst() {
        OutOfOrderQueue q = holding(100, 110, 300, 310, 500, 510, 700, 710);
        int n = q.sackBlocks(starts, ends, 3, 105);
        assertArrayEquals(new long[] {100, 700, 500}, Arrays.copyOf(starts, n));
        assertArrayEquals(new long[] {110, 710, 510}, Arrays.copyOf(ends, n));
        // An offset no range holds changes nothing.
        n = q.sackBlocks(starts, ends, 3, 200);
        assertArrayEquals(new long[] {700, 500, 300}, Arrays.copyOf(starts, n));
        assertEquals(0, q.sackBlocks(starts, ends, 0, 105));
    }

    @Test
    void firstOverlappingFindsTheRangeAnArrivalDuplicates() {
        OutOfOrderQueue q = holding(100, 110, 300, 310);
        assertEquals(-1, q.firstOverlapping(90, 100), "adjacent is not a duplicate");
        assertEquals(-1, q.firstOverlapping(110, 300), "between the ranges");
        int r = q.firstOverlapping(105, 305);
        assertEquals(100, q.rangeStart(r));
        assertEquals(110, q.rangeEnd(r));
        r = q.firstOverlapping(309, 400);
        assertEquals(300, q.rangeStart(r));
        assertEquals(-1, q.firstOverlapping(310, 400));
    }
}
