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
        byte[] b = new byte[40];
        int n = r.writeSackBlocks(b, 0, TcpReceiver.MAX_SACK_BLOCKS_WITH_TIMESTAMPS);
        assertEquals(TcpReceiver.SACK_OPTION_OVERHEAD + 2 * TcpReceiver.SACK_BLOCK_LENGTH, n);
        TcpOptions o = new TcpOptions();
        o.parse(b, 0, n);
        assertEquals(2, o.sackCount);
        assertEquals(FIRST + 3000, o.sackStart[0]);
        assertEquals(FIRST + 3100, o.sackEnd[0]);
        assertEquals(0, r.writeSackBlocks(b, 0, 0));
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
}
