package dev.loomstack.tcp;

import static dev.loomstack.packet.TcpHeader.ACK;
import static dev.loomstack.packet.TcpHeader.SYN;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.packet.Ipv4Header;
import dev.loomstack.packet.TcpHeader;
import dev.loomstack.packet.TcpOptions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * RFC 9293 section 3.7.1 and RFC 6691: the sender counts the options it includes against the
 * peer's MSS. Found by fuzzing (TcpEndpointFuzzTest): while data from the peer was held out of
 * order, every full data segment carried SACK blocks on top of a full MSS of data, went 12-28
 * bytes over the MTU and left as two IP fragments.
 */
class TcpSegmentSizeTest {
    private static final int PEER_MSS = TcpPeer.MTU - 40;

    @Test
    void sackBlocksTakeTheirRoomFromTheMss() throws Exception {
        try (TcpPeer p = new TcpPeer()) {
            TcpListener l = p.tcp.listen(TcpPeer.LOCAL, 80, 8);
            p.send(40010, 80, 100, 0, SYN, 65535, TcpPeer.synOptions(PEER_MSS, -1, true, 0), new byte[0]);
            TcpPeer.Seg synAck = p.takeOne();
            assertTrue(synAck.sackPermitted());
            p.send(40010, 80, 101, synAck.seq() + 1, ACK, 65535, new byte[0]);
            TcpEndpoint ep = l.accept(Duration.ofSeconds(1).toNanos());
            // Two separate ranges held out of order: the stack's segments carry two SACK blocks.
            p.send(40010, 80, 101 + 1000, synAck.seq() + 1, ACK, 65535, new byte[100]);
            p.send(40010, 80, 101 + 3000, synAck.seq() + 1, ACK, 65535, new byte[100]);
            p.link.take();

            ep.setNagle(false);
            ep.write(new byte[10 * PEER_MSS], 0, 10 * PEER_MSS, Duration.ofSeconds(1).toNanos());
            List<byte[]> sent = p.link.take();
            assertFalse(sent.isEmpty());
            TcpOptions o = new TcpOptions();
            int data = 0;
            for (byte[] b : sent) {
                Ipv4Header h = new Ipv4Header().wrap(b, 0, b.length);
                assertEquals(Ipv4Header.Validity.OK, h.validate());
                assertFalse(h.isFragment(), "a segment was fragmented: " + b.length + " bytes of IP");
                assertTrue(b.length <= TcpPeer.MTU);
                int t = h.payloadOffset();
                int hl = TcpHeader.headerLength(b, t);
                assertTrue(o.parse(b, t + TcpHeader.MIN_LENGTH, t + hl));
                assertEquals(2, o.sackCount, "the held ranges are reported");
                assertTrue(h.payloadLength() - TcpHeader.MIN_LENGTH <= PEER_MSS,
                        "options and data exceed the MSS: " + (h.payloadLength() - TcpHeader.MIN_LENGTH));
                data += h.payloadLength() - hl;
            }
            assertTrue(data > 0);
        }
    }
}
