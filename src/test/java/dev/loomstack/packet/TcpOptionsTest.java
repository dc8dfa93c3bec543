package dev.loomstack.packet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The TCP option codec (RFC 9293 section 3.1, RFC 7323, RFC 2018). */
class TcpOptionsTest {
    private final TcpOptions o = new TcpOptions();

    private static byte[] bytes(int... v) {
        byte[] b = new byte[v.length];
        for (int i = 0; i < v.length; i++) {
            b[i] = (byte) v[i];
        }
        return b;
    }

    @Test
    void kernelSynOptionsParse() {
        // The options of a Linux SYN: MSS 1240, SACK-permitted, timestamps, NOP, window scale 7.
        byte[] b = bytes(2, 4, 0x04, 0xd8, 4, 2, 8, 10, 0, 0, 0x30, 0x39, 0, 0, 0, 0, 1, 3, 3, 7);
        assertTrue(o.parse(b, 0, b.length));
        assertEquals(1240, o.mss);
        assertTrue(o.sackPermitted);
        assertTrue(o.hasTimestamps);
        assertEquals(12345, o.tsVal);
        assertEquals(0, o.tsEcr);
        assertEquals(7, o.windowScale);
    }

    @Test
    void writersRoundTrip() {
        byte[] b = new byte[60];
        int n = TcpOptions.writeMss(b, 0, 1460);
        n += TcpOptions.writeWindowScale(b, n, 9);
        n += TcpOptions.writeSackPermitted(b, n);
        n += TcpOptions.writeTimestamps(b, n, -5, 77);
        assertTrue(o.parse(b, 0, n));
        assertEquals(1460, o.mss);
        assertEquals(9, o.windowScale);
        assertTrue(o.sackPermitted);
        assertEquals(-5, o.tsVal);
        assertEquals(77, o.tsEcr);

        int[] starts = {100, 300, 500};
        int[] ends = {200, 400, 600};
        n = TcpOptions.writeSack(b, 0, starts, ends, 3);
        assertEquals(28, n);
        assertTrue(o.parse(b, 0, n));
        assertEquals(3, o.sackCount);
        assertArrayEquals(starts, java.util.Arrays.copyOf(o.sackStart, 3));
        assertArrayEquals(ends, java.util.Arrays.copyOf(o.sackEnd, 3));
    }

    @Test
    void unknownOptionsAreSkippedByLength() {
        byte[] b = bytes(254, 6, 1, 2, 3, 4, 2, 4, 0x05, 0xb4);
        assertTrue(o.parse(b, 0, b.length));
        assertEquals(1460, o.mss);
    }

    @Test
    void endOfListStopsParsing() {
        byte[] b = bytes(0, 2, 4, 0x05, 0xb4);
        assertTrue(o.parse(b, 0, b.length));
        assertEquals(-1, o.mss);
    }

    @Test
    void zeroAndOneLengthOptionsAreRefused() {
        // A length under 2 would loop for ever or walk backwards.
        assertFalse(o.parse(bytes(254, 0, 1, 1), 0, 4));
        assertFalse(o.parse(bytes(254, 1, 1, 1), 0, 4));
    }

    @Test
    void overlongOptionsAreRefused() {
        assertFalse(o.parse(bytes(2, 8, 0x05, 0xb4), 0, 4), "length beyond the option space");
        assertFalse(o.parse(bytes(1, 1, 1, 2), 0, 4), "kind without room for a length");
    }

    @Test
    void wrongFixedLengthsAreRefused() {
        assertFalse(o.parse(bytes(2, 3, 5, 1), 0, 4), "MSS is 4 bytes");
        assertFalse(o.parse(bytes(3, 4, 7, 1), 0, 4), "window scale is 3 bytes");
        assertFalse(o.parse(bytes(4, 3, 0, 1), 0, 4), "SACK-permitted is 2 bytes");
        assertFalse(o.parse(bytes(8, 6, 0, 0, 0, 1, 1, 1), 0, 8), "timestamps are 10 bytes");
        assertFalse(o.parse(bytes(5, 7, 0, 0, 0, 1, 0, 0, 0, 2), 0, 10), "SACK blocks are 8 bytes each");
    }

    @Test
    void windowScaleIsCappedAt14() {
        // RFC 7323 section 2.3: a shift above 14 is used as 14.
        assertTrue(o.parse(bytes(3, 3, 20, 1), 0, 4));
        assertEquals(TcpOptions.MAX_WINDOW_SCALE, o.windowScale);
    }

    @Test
    void parseForgetsThePreviousSegment() {
        assertTrue(o.parse(bytes(4, 2, 1, 1), 0, 4));
        assertTrue(o.sackPermitted);
        assertTrue(o.parse(bytes(1, 1, 1, 1), 0, 4));
        assertFalse(o.sackPermitted);
    }
}
