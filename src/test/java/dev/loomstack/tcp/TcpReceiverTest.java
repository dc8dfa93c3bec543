package dev.loomstack.tcp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.packet.TcpOptions;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The receive half on its own: sequence space, held ranges, SACK blocks, window and ACK decisions. */
class TcpReceiverTest {
    private static final int IRS = 1_000;
    private static final int FIRST = IRS + 1;

    /** A receiver synchronized at {@link #IRS} with the default 128 KiB ring, window offered. */
    private static TcpReceiver established() {
        TcpReceiver r = new TcpReceiver(TcpSettings.defaults());
        r.synchronize(IRS);
        r.windowScaling(true);
        r.established(0);
        return r;
    }

    /** As {@link #established()}, with SACK agreed so duplicates are reported. */
    private static TcpReceiver establishedWithSack() {
        TcpReceiver r = established();
        r.sackAgreed(true);
        return r;
    }

    private static int[] blocks(TcpReceiver r, int max) {
        int[] starts = new int[4];
        int[] ends = new int[4];
        int n = r.sackBlocks(starts, ends, max);
        int[] out = new int[2 * n];
        for (int i = 0; i < n; i++) {
            out[2 * i] = starts[i];
            out[2 * i + 1] = ends[i];
        }
        return out;
    }

    private static byte[] bytes(int n, int first) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (first + i);
        }
        return b;
    }

    @Test
    void inOrderDataAdvancesRcvNxtAndBecomesReadable() {
        TcpReceiver r = established();
        assertEquals(FIRST, r.rcvNxt());
        assertEquals(TcpReceiver.IN_ORDER, r.place(FIRST, bytes(100, 0), 0, 100));
        assertEquals(FIRST + 100, r.rcvNxt());
        assertEquals(100, r.readable());
        byte[] got = new byte[100];
        assertEquals(100, r.read(got, 0, 100));
        assertArrayEquals(bytes(100, 0), got);
    }

    @Test
    void duplicateAndOverlappingDataIsTrimmedToWhatIsNew() {
        TcpReceiver r = established();
        r.place(FIRST, bytes(100, 0), 0, 100);
        assertEquals(TcpReceiver.NOTHING_NEW, r.place(FIRST, bytes(100, 0), 0, 100));
        // Bytes 50..149: the first half was taken already.
        assertEquals(TcpReceiver.IN_ORDER, r.place(FIRST + 50, bytes(100, 50), 0, 100));
        assertEquals(FIRST + 150, r.rcvNxt());
        byte[] got = new byte[150];
        assertEquals(150, r.read(got, 0, 150));
        assertArrayEquals(bytes(150, 0), got);
    }

    @Test
    void outOfOrderDataIsHeldUntilTheHoleFills() {
        TcpReceiver r = established();
        assertEquals(TcpReceiver.OUT_OF_ORDER, r.place(FIRST + 100, bytes(100, 100), 0, 100));
        assertEquals(FIRST, r.rcvNxt());
        assertEquals(0, r.readable());
        assertEquals(100, r.outOfOrderBytes());
        assertTrue(r.holdsOutOfOrder());
        assertEquals(TcpReceiver.FILLED_HOLE, r.place(FIRST, bytes(100, 0), 0, 100));
        assertEquals(FIRST + 200, r.rcvNxt());
        assertEquals(200, r.readable());
        assertFalse(r.hasOutOfOrder());
        byte[] got = new byte[200];
        r.read(got, 0, 200);
        assertArrayEquals(bytes(200, 0), got);
    }

    @Test
    void aFinBeyondAHoleIsTakenWhenTheHoleFills() {
        TcpReceiver r = established();
        r.place(FIRST + 100, bytes(100, 100), 0, 100);
        assertFalse(r.finArrived(FIRST + 200));
        assertEquals(TcpReceiver.FILLED_HOLE_TO_FIN, r.place(FIRST, bytes(100, 0), 0, 100));
        r.acceptFin();
        assertEquals(FIRST + 201, r.rcvNxt());
        assertTrue(r.finReceived());
    }

    /** RFC 2018 section 4: the first block holds the latest segment, then the most recently reported others. */
    @Test
    void sackBlocksStartWithTheRangeOfTheLatestSegment() {
        TcpReceiver r = established();
        r.place(FIRST + 1000, bytes(100, 0), 0, 100);
        r.place(FIRST + 3000, bytes(100, 0), 0, 100);
        r.place(FIRST + 2000, bytes(100, 0), 0, 100);
        int[] starts = new int[4];
        int[] ends = new int[4];
        int n = r.sackBlocks(starts, ends, 4);
        assertEquals(3, n);
        assertArrayEquals(new int[] {FIRST + 2000, FIRST + 3000, FIRST + 1000},
                Arrays.copyOf(starts, n));
        assertArrayEquals(new int[] {FIRST + 2100, FIRST + 3100, FIRST + 1100},
                Arrays.copyOf(ends, n));
        // A segment joining a held range reports the joined range first.
        r.place(FIRST + 1100, bytes(100, 0), 0, 100);
        n = r.sackBlocks(starts, ends, 4);
        assertEquals(FIRST + 1000, starts[0]);
        assertEquals(FIRST + 1200, ends[0]);
        // Blocks stay relative to RCV.NXT as it moves: fill the first hole up to 1000.
        r.place(FIRST, bytes(1000, 0), 0, 1000);
        assertEquals(FIRST + 1200, r.rcvNxt());
        n = r.sackBlocks(starts, ends, 4);
        assertEquals(2, n);
        assertTrue(Arrays.stream(starts, 0, n).allMatch(s -> Seq.gt(s, r.rcvNxt())));
    }

    @Test
    void writtenSackOptionParsesBackToTheSameBlocks() {
        TcpReceiver r = established();
        r.place(FIRST + 1000, bytes(100, 0), 0, 100);
        r.place(FIRST + 3000, bytes(100, 0), 0, 100);
        TcpOptions o = writtenSackOption(r, 2);
        assertEquals(2, o.sackCount);
        assertEquals(FIRST + 3000, o.sackStart[0]);
        assertEquals(FIRST + 3100, o.sackEnd[0]);
        assertEquals(0, r.writeSackBlocks(new byte[40], 0, 0));
    }

    @Test
    void dataBeyondTheAdvertisedWindowIsCut() {
        TcpReceiver r = new TcpReceiver(TcpSettings.defaults());
        r.synchronize(IRS);
        r.windowScaling(true);
        int window = r.synWindow();
        assertEquals(r.receiveWindow(), window);
        assertFalse(r.acceptable(FIRST + window, 1));
        assertTrue(r.acceptable(FIRST + window - 1, 10));
        assertEquals(TcpReceiver.OUT_OF_ORDER, r.place(FIRST + window - 10, bytes(100, 0), 0, 100));
        assertEquals(10, r.outOfOrderBytes());
    }

    @Test
    void withoutWindowScalingTheRingIsCappedAt64KiB() {
        TcpSettings big = TcpSettings.defaults().withBuffers(TcpSettings.DEFAULT_SEND_BUFFER, 256 << 10, 1 << 20);
        TcpReceiver r = new TcpReceiver(big);
        r.synchronize(IRS);
        r.windowScaling(false);
        assertEquals(65535, r.capacity());
        r.established(0);
        assertEquals(65535, r.advertisedWindow(1460));
    }

    /** RFC 9293 section 3.8.6.3: every second segment is acknowledged at once; a filled hole too. */
    @Test
    void ackEverySecondSegmentAndAtOnceForAFilledHole() {
        TcpReceiver r = established();
        assertFalse(r.inOrderSegmentCounted(false));
        assertTrue(r.ackPending());
        assertTrue(r.inOrderSegmentCounted(false));
        r.ackSent();
        assertFalse(r.ackPending());
        assertTrue(r.inOrderSegmentCounted(true));
    }

    /**
     * A super-segment handed over whole counts as the segments it stands for: two or more draw the
     * ACK at once, as those segments one by one would have (RFC 9293 section 3.8.6.3).
     */
    @Test
    void aSuperSegmentCountsAsItsSegmentsForTheDelayedAck() {
        assertEquals(1, Segment.segmentsIn(1000, 0), "a plain segment");
        assertEquals(1, Segment.segmentsIn(1000, 1200), "a super-segment of one segment");
        assertEquals(3, Segment.segmentsIn(2 * 1200 + 1, 1200), "the last segment short");
        TcpReceiver r = established();
        assertTrue(r.inOrderSegmentCounted(false, Segment.segmentsIn(2400, 1200)));
        r.ackSent();
        assertFalse(r.inOrderSegmentCounted(false, 1));
    }

    /** RFC 9293 section 3.8.6.2.2: the right edge moves only by a useful amount (receiver-side SWS avoidance). */
    @Test
    void windowUpdateOnlyWhenItOpensUsefully() {
        TcpReceiver r = established();
        int before = r.receiveWindow();
        r.place(FIRST, bytes(1000, 0), 0, 1000);
        r.advertisedWindow(1460);
        // The right edge stays where it was: the window shrinks by what arrived.
        assertEquals(before - 1000, r.receiveWindow());
        byte[] sink = new byte[3000];
        r.read(sink, 0, 1000);
        // 1000 bytes freed is less than two segments: no update yet.
        assertFalse(r.afterRead(1000, 1, Long.MAX_VALUE, 1460));
        r.place(FIRST + 1000, bytes(3000, 0), 0, 3000);
        r.advertisedWindow(1460);
        r.read(sink, 0, 3000);
        // Now 4000 bytes past the edge last advertised: worth a window update.
        assertTrue(r.afterRead(3000, 2, Long.MAX_VALUE, 1460));
    }

    /** RFC 2883 section 4: a duplicate below RCV.NXT is the only block, on the next ACK only. */
    @Test
    void aDuplicateBelowRcvNxtIsReportedOnceThenForgotten() {
        TcpReceiver r = establishedWithSack();
        r.place(FIRST, bytes(300, 0), 0, 300);
        assertFalse(r.duplicatePending());
        assertFalse(r.hasSackBlocks());
        assertEquals(TcpReceiver.NOTHING_NEW, r.place(FIRST + 100, bytes(100, 100), 0, 100));
        assertTrue(r.duplicatePending());
        assertTrue(r.hasSackBlocks(), "the option is needed with nothing held out of order");
        assertArrayEquals(new int[] {FIRST + 100, FIRST + 200}, blocks(r, 4));
        r.ackSent();
        assertFalse(r.duplicatePending());
        assertArrayEquals(new int[0], blocks(r, 4));
    }

    /** A segment the acceptability check rejected (wholly old) is reported by its part below RCV.NXT. */
    @Test
    void aRejectedOldSegmentIsReportedByItsPartBelowRcvNxt() {
        TcpReceiver r = establishedWithSack();
        r.place(FIRST, bytes(300, 0), 0, 300);
        assertFalse(r.duplicateArrived(FIRST + 300, 100), "nothing below RCV.NXT");
        assertTrue(r.duplicateArrived(FIRST + 250, 100));
        assertArrayEquals(new int[] {FIRST + 250, FIRST + 300}, blocks(r, 4));
        assertFalse(r.duplicateArrived(FIRST, 0), "no data, nothing duplicated");
    }

    /** RFC 2883 section 4: only the old part of a partly new segment is a duplicate, and the ACK goes at once. */
    @Test
    void aPartlyOldSegmentReportsTheOldPartAndIsAcknowledgedAtOnce() {
        TcpReceiver r = establishedWithSack();
        r.place(FIRST, bytes(200, 0), 0, 200);
        r.ackSent();
        assertEquals(TcpReceiver.IN_ORDER, r.place(FIRST + 100, bytes(200, 100), 0, 200));
        assertEquals(FIRST + 300, r.rcvNxt());
        assertArrayEquals(new int[] {FIRST + 100, FIRST + 200}, blocks(r, 4));
        assertTrue(r.inOrderSegmentCounted(false), "a D-SACK block does not wait for the delayed ACK");
        r.ackSent();
        assertFalse(r.inOrderSegmentCounted(false));
    }

    /**
     * RFC 2883 section 4: a segment overlapping a held range reports the overlap, then the range
     * holding it (now grown by the new part), then the other ranges.
     */
    @Test
    void anOverlapWithAHeldRangeComesFirstThenTheRangeHoldingIt() {
        TcpReceiver r = establishedWithSack();
        r.place(FIRST + 1000, bytes(200, 0), 0, 200);
        r.place(FIRST + 3000, bytes(100, 0), 0, 100);
        r.place(FIRST + 5000, bytes(100, 0), 0, 100);
        r.ackSent();
        // 900..1100: 900..1000 is new, 1000..1100 held already.
        assertEquals(TcpReceiver.OUT_OF_ORDER, r.place(FIRST + 900, bytes(200, 0), 0, 200));
        assertArrayEquals(new int[] {FIRST + 1000, FIRST + 1100, FIRST + 900, FIRST + 1200,
                FIRST + 5000, FIRST + 5100, FIRST + 3000, FIRST + 3100}, blocks(r, 4));
        assertArrayEquals(new int[] {FIRST + 1000, FIRST + 1100, FIRST + 900, FIRST + 1200,
                FIRST + 5000, FIRST + 5100}, blocks(r, 3), "three beside timestamps");
        r.ackSent();
        assertArrayEquals(new int[] {FIRST + 900, FIRST + 1200, FIRST + 5000, FIRST + 5100,
                FIRST + 3000, FIRST + 3100}, blocks(r, 4), "the D-SACK block went on one ACK only");
    }

    /** An in-order segment running into a held range: the overlap is a duplicate, delivered below RCV.NXT now. */
    @Test
    void anInOrderSegmentOverlappingAHeldRangeReportsTheOverlapAlone() {
        TcpReceiver r = establishedWithSack();
        r.place(FIRST + 100, bytes(100, 100), 0, 100);
        assertEquals(TcpReceiver.FILLED_HOLE, r.place(FIRST, bytes(150, 0), 0, 150));
        assertEquals(FIRST + 200, r.rcvNxt());
        assertArrayEquals(new int[] {FIRST + 100, FIRST + 150}, blocks(r, 4));
        byte[] got = new byte[200];
        assertEquals(200, r.read(got, 0, 200));
        assertArrayEquals(bytes(200, 0), got);
    }

    @Test
    void aWrittenDsackOptionParsesBackWithTheDuplicateFirst() {
        TcpReceiver r = establishedWithSack();
        r.place(FIRST + 1000, bytes(100, 0), 0, 100);
        r.place(FIRST + 1000, bytes(100, 0), 0, 100);
        TcpOptions o = writtenSackOption(r, 2);
        assertEquals(2, o.sackCount);
        assertEquals(FIRST + 1000, o.sackStart[0]);
        assertEquals(FIRST + 1100, o.sackEnd[0]);
        assertEquals(FIRST + 1000, o.sackStart[1]);
        assertEquals(FIRST + 1100, o.sackEnd[1]);
        assertEquals(0, r.writeSackBlocks(new byte[40], 0, 0));
    }

    /** Without SACK agreed, duplicates are neither remembered nor acknowledged early. */
    @Test
    void withoutSackNoDuplicateIsRemembered() {
        TcpReceiver r = established();
        r.place(FIRST, bytes(200, 0), 0, 200);
        r.ackSent();
        assertEquals(TcpReceiver.NOTHING_NEW, r.place(FIRST, bytes(100, 0), 0, 100));
        assertFalse(r.duplicateArrived(FIRST, 100));
        r.place(FIRST + 100, bytes(200, 100), 0, 200);
        assertFalse(r.duplicatePending());
        assertFalse(r.hasSackBlocks());
        assertFalse(r.inOrderSegmentCounted(false));
    }

    /** The SACK option {@code r} writes beside timestamps, parsed back; it must hold {@code blocks} blocks. */
    private static TcpOptions writtenSackOption(TcpReceiver r, int blocks) {
        byte[] b = new byte[40];
        int n = r.writeSackBlocks(b, 0, TcpReceiver.MAX_SACK_BLOCKS_WITH_TIMESTAMPS);
        assertEquals(TcpReceiver.SACK_OPTION_OVERHEAD + blocks * TcpReceiver.SACK_BLOCK_LENGTH, n);
        TcpOptions o = new TcpOptions();
        o.parse(b, 0, n);
        return o;
    }
}
