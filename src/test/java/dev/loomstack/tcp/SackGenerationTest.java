package dev.loomstack.tcp;

import static dev.loomstack.packet.TcpHeader.ACK;
import static dev.loomstack.packet.TcpHeader.SYN;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.packet.TcpHeader;
import dev.loomstack.tcp.TcpPeer.Seg;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The SACK option a receiver puts on what it sends: blocks for data held out of order (RFC 2018
 * sections 3 and 4), and a D-SACK block first for a duplicate segment (RFC 2883 section 4).
 */
class SackGenerationTest {
    private static final byte[] NONE = new byte[0];
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);
    private static final int PEER_PORT = 40200;
    private static final int PORT = 80;
    private static final int PEER_ISS = 7_000;
    private static final int PEER_TS = 500;

    /** Establishes with SACK, window scaling and (optionally) timestamps; returns our next sequence number. */
    private static int handshake(TcpPeer p, TcpListener l, boolean timestamps) {
        p.send(PEER_PORT, PORT, PEER_ISS, 0, SYN, 65535,
                TcpPeer.synOptions(1460, 7, true, timestamps ? PEER_TS : 0), NONE);
        Seg synAck = p.takeOne();
        int ours = synAck.seq() + 1;
        p.send(PEER_PORT, PORT, PEER_ISS + 1, ours, ACK, 65535, options(timestamps, synAck.tsVal()), NONE);
        return ours;
    }

    private static byte[] options(boolean timestamps, int tsEcr) {
        return timestamps ? TcpPeer.timestampOption(PEER_TS + 1, tsEcr) : NONE;
    }

    /** An accepted connection whose receiver holds four separate ranges past a hole at RCV.NXT. */
    private static TcpEndpoint holdingFourRanges(TcpPeer p, boolean timestamps) throws Exception {
        TcpListener l = p.tcp.listen(TcpPeer.LOCAL, PORT, 8);
        int ours = handshake(p, l, timestamps);
        TcpEndpoint ep = l.accept(SECOND);
        for (int k = 1; k <= 4; k++) {
            p.send(PEER_PORT, PORT, PEER_ISS + 1 + 2000 * k, ours, ACK, 65535, options(timestamps, 0), new byte[100]);
        }
        return ep;
    }

    @Test
    void fourBlocksWithoutTimestampsThreeBesideThem() throws Exception {
        for (boolean timestamps : new boolean[] {false, true}) {
            try (TcpPeer p = new TcpPeer()) {
                holdingFourRanges(p, timestamps);
                List<Seg> acks = p.take();
                assertEquals(4, acks.size(), "each out-of-order segment is acknowledged at once");
                Seg last = acks.getLast();
                assertEquals(PEER_ISS + 1, last.ack());
                assertEquals(timestamps ? 3 : 4, last.sackCount(), "timestamps=" + timestamps);
                assertEquals(PEER_ISS + 1 + 8000, last.sackStarts()[0], "the latest segment's block first");
                assertEquals(PEER_ISS + 1 + 6000, last.sackStarts()[1], "then the most recent other");
            }
        }
    }

    @Test
    void dataSegmentsCarryingSackBlocksFitTheMtuUnfragmented() throws Exception {
        for (boolean timestamps : new boolean[] {false, true}) {
            try (TcpPeer p = new TcpPeer()) {
                TcpEndpoint ep = holdingFourRanges(p, timestamps);
                p.take();
                ep.setNagle(false);
                ep.write(new byte[20_000], 0, 20_000, SECOND);
                List<byte[]> sent = p.link.take();
                int data = 0;
                for (byte[] packet : sent) {
                    // IPv4 flags and fragment offset: neither MF nor an offset, so the segment went whole.
                    int fragment = ((packet[6] & 0xff) << 8 | (packet[7] & 0xff)) & 0x3fff;
                    assertEquals(0, fragment, "a segment of " + packet.length + " bytes was fragmented for a "
                            + TcpPeer.MTU + "-byte MTU (timestamps=" + timestamps + ")");
                    assertTrue(packet.length <= TcpPeer.MTU);
                    int t = (packet[0] & 0x0f) * 4;
                    if (packet.length > t + TcpHeader.headerLength(packet, t)) {
                        data++;
                    }
                }
                assertTrue(data >= 2, "data was sent: " + sent.size() + " packets");
            }
        }
    }

    private static final int FIRST = PEER_ISS + 1;

    private static byte[] bytes(int n, int first) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (first + i);
        }
        return b;
    }

    /** An accepted connection with SACK agreed; returns our next sequence number. */
    private static int accepted(TcpPeer p, boolean timestamps, TcpEndpoint[] ep) throws Exception {
        TcpListener l = p.tcp.listen(TcpPeer.LOCAL, PORT, 8);
        int ours = handshake(p, l, timestamps);
        ep[0] = l.accept(SECOND);
        return ours;
    }

    private static void assertBlock(Seg ack, int block, int start, int end) {
        assertEquals(start, ack.sackStarts()[block], "start of block " + block + " of " + ack);
        assertEquals(end, ack.sackEnds()[block], "end of block " + block + " of " + ack);
    }

    /** RFC 2883 section 4.1.1: a segment received again below RCV.NXT is reported once, as the only block. */
    @Test
    void aDuplicateBelowRcvNxtIsReportedOnceInADsackBlock() throws Exception {
        try (TcpPeer p = new TcpPeer()) {
            TcpEndpoint[] ep = new TcpEndpoint[1];
            int ours = accepted(p, false, ep);
            p.send(PEER_PORT, PORT, FIRST, ours, ACK, 65535, NONE, bytes(100, 0));
            p.send(PEER_PORT, PORT, FIRST + 100, ours, ACK, 65535, NONE, bytes(100, 100));
            assertEquals(FIRST + 200, p.takeOne().ack(), "every second segment is acknowledged");
            // The first segment again, as a spurious retransmission would bring it.
            p.send(PEER_PORT, PORT, FIRST, ours, ACK, 65535, NONE, bytes(100, 0));
            Seg dup = p.takeOne();
            assertEquals(FIRST + 200, dup.ack());
            assertEquals(1, dup.sackCount(), "one D-SACK block: " + dup);
            assertBlock(dup, 0, FIRST, FIRST + 100);
            // Reported once: the next ACK carries no SACK option.
            p.send(PEER_PORT, PORT, FIRST + 200, ours, ACK, 65535, NONE, bytes(100, 200));
            p.send(PEER_PORT, PORT, FIRST + 300, ours, ACK, 65535, NONE, bytes(100, 300));
            Seg next = p.takeOne();
            assertEquals(FIRST + 400, next.ack());
            assertEquals(0, next.sackCount(), "the duplicate was reported already: " + next);
        }
    }

    /**
     * RFC 2883 section 4.1.3: a duplicate of data held out of order is the first block, the held
     * range containing it the second, then the ordinary blocks (RFC 2018 section 4).
     */
    @Test
    void aDuplicateOfHeldDataComesFirstThenTheRangeHoldingIt() throws Exception {
        try (TcpPeer p = new TcpPeer()) {
            TcpEndpoint[] ep = new TcpEndpoint[1];
            int ours = accepted(p, false, ep);
            // Held past the hole at FIRST: 2000..2200 (two segments), 4000..4100, 6000..6100.
            p.send(PEER_PORT, PORT, FIRST + 2000, ours, ACK, 65535, NONE, bytes(100, 0));
            p.send(PEER_PORT, PORT, FIRST + 2100, ours, ACK, 65535, NONE, bytes(100, 100));
            p.send(PEER_PORT, PORT, FIRST + 4000, ours, ACK, 65535, NONE, bytes(100, 0));
            p.send(PEER_PORT, PORT, FIRST + 6000, ours, ACK, 65535, NONE, bytes(100, 0));
            assertEquals(4, p.take().size(), "each out-of-order segment is acknowledged at once");
            p.send(PEER_PORT, PORT, FIRST + 2000, ours, ACK, 65535, NONE, bytes(100, 0));
            Seg dup = p.takeOne();
            assertEquals(FIRST, dup.ack());
            assertEquals(4, dup.sackCount(), "D-SACK, its range, two others: " + dup);
            assertBlock(dup, 0, FIRST + 2000, FIRST + 2100);
            assertBlock(dup, 1, FIRST + 2000, FIRST + 2200);
            assertBlock(dup, 2, FIRST + 6000, FIRST + 6100);
            assertBlock(dup, 3, FIRST + 4000, FIRST + 4100);
            // The next ACK has only the held ranges again.
            p.send(PEER_PORT, PORT, FIRST + 8000, ours, ACK, 65535, NONE, bytes(100, 0));
            Seg next = p.takeOne();
            assertEquals(4, next.sackCount());
            assertBlock(next, 0, FIRST + 8000, FIRST + 8100);
            assertTrue(Arrays.stream(next.sackEnds()).noneMatch(e -> e == FIRST + 2100),
                    "no D-SACK any more: " + Arrays.toString(next.sackStarts()));
        }
    }

    /** RFC 2883 section 4.1.1: a segment partly old reports only the old part; the new part is taken. */
    @Test
    void aSegmentPartlyBelowRcvNxtReportsOnlyTheOldPartAndDeliversTheNew() throws Exception {
        try (TcpPeer p = new TcpPeer()) {
            TcpEndpoint[] ep = new TcpEndpoint[1];
            int ours = accepted(p, false, ep);
            p.send(PEER_PORT, PORT, FIRST, ours, ACK, 65535, NONE, bytes(100, 0));
            p.send(PEER_PORT, PORT, FIRST + 100, ours, ACK, 65535, NONE, bytes(100, 100));
            assertEquals(FIRST + 200, p.takeOne().ack());
            // 100..299: the first half arrived before, the second half is new.
            p.send(PEER_PORT, PORT, FIRST + 100, ours, ACK, 65535, NONE, bytes(200, 100));
            Seg ack = p.takeOne();
            assertEquals(FIRST + 300, ack.ack(), "the new part is acknowledged, and at once");
            assertEquals(1, ack.sackCount(), "one D-SACK block: " + ack);
            assertBlock(ack, 0, FIRST + 100, FIRST + 200);
            byte[] got = new byte[300];
            int n = 0;
            while (n < got.length) {
                int r = ep[0].read(got, n, got.length - n, SECOND);
                assertTrue(r > 0, "read " + r + " after " + n + " bytes");
                n += r;
            }
            assertArrayEquals(bytes(300, 0), got);
        }
    }

    /** RFC 2018 section 3 with RFC 2883: beside timestamps three blocks at most, the D-SACK one of them. */
    @Test
    void withTimestampsTheDsackBlockIsOneOfThree() throws Exception {
        try (TcpPeer p = new TcpPeer()) {
            holdingFourRanges(p, true);
            Seg last = p.take().getLast();
            int ours = last.seq();
            p.send(PEER_PORT, PORT, FIRST + 4000, ours, ACK, 65535, options(true, last.tsVal()), new byte[100]);
            Seg dup = p.takeOne();
            assertTrue(dup.timestamps());
            assertEquals(3, dup.sackCount(), "three blocks beside timestamps: " + dup);
            assertBlock(dup, 0, FIRST + 4000, FIRST + 4100);
            assertBlock(dup, 1, FIRST + 4000, FIRST + 4100);
            assertBlock(dup, 2, FIRST + 8000, FIRST + 8100);
        }
    }

    /** Without SACK agreed nothing changes: a duplicate draws a plain ACK, a partly old segment a delayed one. */
    @Test
    void withoutSackDuplicatesDrawPlainAcks() throws Exception {
        try (TcpPeer p = new TcpPeer()) {
            TcpPeer.Conn c = p.acceptPlain(PORT, PEER_PORT);
            int start = c.peerSeq;
            c.send(ACK, 65535, bytes(100, 0));
            c.send(ACK, 65535, bytes(100, 100));
            assertEquals(start + 200, p.takeOne().ack());
            p.send(PEER_PORT, PORT, start, c.localSeq, ACK, 65535, bytes(100, 0));
            Seg dup = p.takeOne();
            assertEquals(start + 200, dup.ack());
            assertEquals(0, dup.sackCount());
            p.send(PEER_PORT, PORT, start + 100, c.localSeq, ACK, 65535, bytes(200, 100));
            assertTrue(p.take().isEmpty(), "one new segment waits for the delayed ACK as before");
        }
    }
}
