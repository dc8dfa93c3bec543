package dev.loomstack.tcp;

import static dev.loomstack.packet.TcpHeader.ACK;
import static dev.loomstack.packet.TcpHeader.SYN;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.packet.TcpHeader;
import dev.loomstack.tcp.TcpPeer.Seg;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The SACK option a receiver holding out-of-order data puts on what it sends (RFC 2018 sections 3 and 4). */
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
}
