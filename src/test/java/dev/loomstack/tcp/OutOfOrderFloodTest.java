package dev.loomstack.tcp;

import static dev.loomstack.packet.TcpHeader.ACK;
import static dev.loomstack.packet.TcpHeader.FIN;
import static dev.loomstack.packet.TcpHeader.SYN;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.tcp.TcpPeer.Seg;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A peer floods a connection with overlapping out-of-order segments (each starting 3 bytes after
 * the last, with gaps and runs of tiny segments between one-byte holes), then repairs the holes as a
 * SACK sender would. Whatever it sends, the receiver holds no more out-of-order data than its
 * receive window (RFC 9293 section 3.10.7.4: only what lies inside RCV.NXT..RCV.NXT+RCV.WND is kept),
 * and the stream still arrives byte-exactly.
 */
class OutOfOrderFloodTest {
    private static final byte[] NONE = new byte[0];
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);
    private static final int OVERLAPPING_SEGMENTS = 100_000;
    private static final int SEGMENT = 1000;
    private static final int SHIFT = 3;
    private static final int GAP_EVERY = 2000;
    private static final int GAP = 1500;
    private static final int TINY_SEGMENTS = 600;
    private static final int MSS = 1460;
    private static final int PEER_PORT = 40100;
    private static final int PORT = 80;
    private static final int PEER_ISS = 1_000_000;

    private TcpPeer peer;
    private int ourSeq;

    /** The byte at stream offset {@code k}, a pattern that differs between neighbours and across rounds. */
    private static byte streamByte(long k) {
        return (byte) (k * 7 + (k >>> 9) + (k >>> 17));
    }

    private static int streamSeq(long offset) {
        return PEER_ISS + 1 + (int) offset;
    }

    private void sendStream(long from, long to) {
        byte[] payload = new byte[(int) (to - from)];
        for (int i = 0; i < payload.length; i++) {
            payload[i] = streamByte(from + i);
        }
        peer.send(PEER_PORT, PORT, streamSeq(from), ourSeq, ACK, 65535, payload);
    }

    @Test
    void overlappingSegmentsStayWithinTheWindowAndTheStreamArrivesByteExact() throws Exception {
        try (TcpPeer p = new TcpPeer()) {
            peer = p;
            TcpListener l = p.tcp.listen(TcpPeer.LOCAL, PORT, 8);
            // SACK permitted, window scaling, no timestamps: up to four SACK blocks per ACK.
            p.send(PEER_PORT, PORT, PEER_ISS, 0, SYN, 65535, TcpPeer.synOptions(MSS, 7, true, 0), NONE);
            Seg synAck = p.takeOne();
            assertTrue(synAck.sackPermitted());
            ourSeq = synAck.seq() + 1;
            p.send(PEER_PORT, PORT, PEER_ISS + 1, ourSeq, ACK, 65535, NONE);
            TcpEndpoint ep = l.accept(SECOND);
            assertTrue(ep.snapshot().sack());

            long base = 0;
            int overlapping = 0;
            int maxHeld = 0;
            byte[] buf = new byte[64 * 1024];
            for (int round = 0; overlapping < OVERLAPPING_SEGMENTS && round < 100; round++) {
                int window = ep.receiveWindow();
                assertTrue(window > 4 * SEGMENT, "window " + window);
                long end = base + window;
                // Tiny segments with one-byte holes between them near the right edge, each lower than
                // the last: many separate ranges, which the overlapping run below then joins.
                for (long t = end - SHIFT; t > end - (long) SHIFT * TINY_SEGMENTS; t -= SHIFT) {
                    sendStream(t, t + 2);
                    int held = ep.outOfOrderBytes();
                    assertTrue(held <= ep.receiveWindow(), "held " + held + " with window " + ep.receiveWindow());
                }
                // Offset base (RCV.NXT) stays a hole, so everything below is held out of order. The
                // run goes on past the window's right edge, whose excess must be trimmed.
                long s = base + 1;
                for (int i = 0; s + SEGMENT < end + 2 * SEGMENT && overlapping < OVERLAPPING_SEGMENTS; i++) {
                    if (i > 0 && i % GAP_EVERY == 0) {
                        s += GAP;
                    }
                    sendStream(s, s + SEGMENT);
                    overlapping++;
                    int held = ep.outOfOrderBytes();
                    maxHeld = Math.max(maxHeld, held);
                    assertTrue(held <= ep.receiveWindow(), "held " + held + " bytes out of order after " + overlapping
                            + " segments; the window is " + ep.receiveWindow());
                    if (overlapping % 512 == 0) {
                        List<Seg> acks = p.take();
                        Seg last = acks.getLast();
                        assertEquals(streamSeq(base), last.ack(), "nothing is acknowledged past the hole");
                        if (s + SEGMENT <= end) {
                            // RFC 2018 section 4: the first block holds the segment that triggered the ACK;
                            // RFC 2883 section 4: unless that segment repeated held data, when the first
                            // block reports the repeat (D-SACK) and the second holds the segment.
                            assertTrue(last.sackCount() > 0, "no SACK blocks in " + last);
                            int[] starts = last.sackStarts();
                            int[] ends = last.sackEnds();
                            int b = dsack(last) ? 1 : 0;
                            assertTrue(Seq.leq(starts[b], streamSeq(s)) && Seq.leq(streamSeq(s + SEGMENT), ends[b]),
                                    "SACK block " + b + " does not cover the latest segment");
                        }
                    }
                    s += SHIFT;
                }
                repairUpTo(base, end);
                base = readAndCheck(ep, base, end, buf);
            }
            assertEquals(OVERLAPPING_SEGMENTS, overlapping);
            assertTrue(maxHeld > 0, "the flood was held out of order at all");

            p.send(PEER_PORT, PORT, streamSeq(base), ourSeq, ACK | FIN, 65535, NONE);
            assertEquals(-1, ep.read(buf, 0, buf.length, SECOND), "end of stream after every byte");
            assertEquals(0, ep.outOfOrderBytes());
        }
    }

    /**
     * Acts as a SACK sender: sends the hole at the cumulative ACK, up to the next block the receiver
     * reports, until everything below {@code end} is acknowledged.
     */
    private void repairUpTo(long base, long end) {
        peer.take();
        // The one byte at RCV.NXT: fills the first hole, so the ACK comes at once with fresh blocks.
        sendStream(base, base + 1);
        for (int guard = 0; guard < 100_000; guard++) {
            List<Seg> out = peer.take();
            if (out.isEmpty()) {
                // An in-order segment that filled no hole waits for the delayed ACK.
                peer.advance(Duration.ofSeconds(1));
                out = peer.take();
            }
            assertTrue(!out.isEmpty(), "the receiver acknowledges");
            Seg last = out.getLast();
            long acked = last.ack() - streamSeq(0);
            if (acked >= end) {
                assertEquals(end, acked, "acknowledged past what was sent");
                return;
            }
            long holeEnd = Math.min(acked + MSS, end);
            for (int k = dsack(last) ? 1 : 0; k < last.sackCount(); k++) {
                long blockStart = last.sackStarts()[k] - streamSeq(0);
                long blockEnd = last.sackEnds()[k] - streamSeq(0);
                assertTrue(blockStart > acked && blockEnd <= end && blockStart < blockEnd,
                        "SACK block " + blockStart + ".." + blockEnd + " with the ACK at " + acked);
                if (blockStart < holeEnd) {
                    holeEnd = blockStart;
                }
            }
            sendStream(acked, holeEnd);
        }
        throw new AssertionError("holes were not repaired");
    }

    /** RFC 2883 section 4: the first block reports a duplicate when at or below the ACK, or inside the second. */
    private static boolean dsack(Seg ack) {
        int[] starts = ack.sackStarts();
        int[] ends = ack.sackEnds();
        return ack.sackCount() > 0 && (Seq.leq(ends[0], ack.ack())
                || ack.sackCount() > 1 && Seq.leq(starts[1], starts[0]) && Seq.leq(ends[0], ends[1]));
    }

    private static long readAndCheck(TcpEndpoint ep, long from, long to, byte[] buf) throws Exception {
        long at = from;
        for (int guard = 0; at < to && guard < 100_000; guard++) {
            int n = ep.read(buf, 0, (int) Math.min(buf.length, to - at), SECOND);
            assertTrue(n > 0, "stream ended early at " + at);
            for (int i = 0; i < n; i++) {
                if (buf[i] != streamByte(at + i)) {
                    throw new AssertionError("byte " + (at + i) + " differs");
                }
            }
            at += n;
        }
        assertEquals(to, at);
        assertEquals(0, ep.available(), "nothing beyond what was acknowledged");
        return at;
    }
}
