package dev.loomstack.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.loomstack.packet.Bytes;
import dev.loomstack.packet.Checksum;
import dev.loomstack.packet.Ipv4Header;
import dev.loomstack.packet.TcpHeader;
import dev.loomstack.packet.TcpOptions;
import dev.loomstack.tcp.TcpPeer.Seg;
import java.io.IOException;
import java.time.Duration;

/**
 * Fuzzes one established TCP connection (the stack's side of a passive open, on {@link TcpPeer}'s
 * capture link and manual clock) with arbitrary segments from the peer, interleaved with the
 * application reading, writing and closing, and with time passing.
 *
 * <p>Input: one byte choosing the options the peer's SYN offers (bit 0 SACK, bit 1 timestamps,
 * bit 2 window scaling), then records. A record starts with {@code op(1)}; {@code op % 6}:
 * <ul>
 *   <li>0: a segment, {@code flags(1) seqDelta(4) ackDelta(4) window(2) optionWords(1) options
 *       payloadLength(2)}. The sequence number is the stack's last acknowledgment plus
 *       {@code seqDelta}, the acknowledgment is the highest sequence the stack has sent plus
 *       {@code ackDelta} (so zero deltas make an in-order, fully acknowledging segment). Options
 *       are {@code (optionWords % 11) * 4} bytes from the input; the payload is
 *       {@code payloadLength % 1461} bytes of a pattern fixed per stream offset.</li>
 *   <li>1: the application reads up to {@code u16} bytes, without blocking;</li>
 *   <li>2: the application writes {@code u16} bytes, as many as the send buffer takes;</li>
 *   <li>3: the clock moves by {@code u16} milliseconds;</li>
 *   <li>4: the application half-closes ({@code shutdownOutput}) or, with an odd next byte, closes;</li>
 *   <li>5: the application aborts.</li>
 * </ul>
 *
 * Asserted after every record: no exception escapes the segment path; the bytes the connection
 * holds, readable and out of order, stay within its receive window, and the send buffer within
 * its size; every byte the application reads is the peer's byte at that stream offset; every
 * segment the stack sends is one unfragmented IP packet within the MTU, with a valid checksum,
 * options that parse, and options plus data within the peer's MSS.
 */
class TcpEndpointFuzzTest {
    private static final int PORT = 80;
    private static final int PEER_PORT = 40000;
    private static final int PEER_MSS = 1460;
    private static final int MAX_RECORDS = 512;

    @FuzzTest(maxDuration = "30s")
    void segmentsAfterHandshake(byte[] data) throws Exception {
        if (data.length == 0) {
            return;
        }
        TcpSettings settings = TcpSettings.defaults();
        try (TcpPeer p = new TcpPeer(settings)) {
            Conn c = handshake(p, data[0]);
            int i = 1;
            for (int n = 0; n < MAX_RECORDS && i < data.length; n++) {
                int op = (data[i] & 0xff) % 6;
                i++;
                switch (op) {
                    case 0 -> i = segment(p, c, data, i);
                    case 1 -> {
                        c.read(u16(data, i));
                        i += 2;
                    }
                    case 2 -> {
                        c.write(u16(data, i), settings.sendBufferSize());
                        i += 2;
                    }
                    case 3 -> {
                        p.advance(Duration.ofMillis(u16(data, i)));
                        i += 2;
                    }
                    case 4 -> {
                        if (i < data.length && (data[i] & 1) != 0) {
                            c.ep.close();
                        } else {
                            c.ep.shutdownOutput();
                        }
                        i++;
                    }
                    default -> c.ep.abort();
                }
                c.observe(p);
                c.checkBounds(settings);
            }
            // Whatever state it was left in, the connection's timers run down without trouble.
            for (int k = 0; k < 20; k++) {
                p.advance(Duration.ofSeconds(30));
                c.observe(p);
                c.checkBounds(settings);
            }
        }
    }

    private static int u16(byte[] b, int i) {
        if (i + 2 <= b.length) {
            return Bytes.u16(b, i);
        }
        return i < b.length ? b[i] & 0xff : 0;
    }

    private static int i32(byte[] b, int i) {
        return i + 4 <= b.length ? Bytes.i32(b, i) : 0;
    }

    /** The byte the peer sends at offset {@code k} of its stream. */
    static byte pattern(long k) {
        return (byte) (k * 31 + (k >>> 8));
    }

    private static Conn handshake(TcpPeer p, byte choice) throws Exception {
        boolean sack = (choice & 1) != 0;
        boolean ts = (choice & 2) != 0;
        int ws = (choice & 4) != 0 ? 7 : -1;
        TcpListener l = p.tcp.listen(TcpPeer.LOCAL, PORT, 8);
        int iss = 1_000_000;
        p.send(PEER_PORT, PORT, iss, 0, TcpHeader.SYN, 65535, TcpPeer.synOptions(PEER_MSS, ws, sack, ts ? 1 : 0),
                new byte[0]);
        Seg synAck = p.takeOne();
        assertTrue(synAck.has(TcpHeader.SYN) && synAck.has(TcpHeader.ACK), "SYN-ACK expected, got " + synAck);
        byte[] options = ts ? TcpPeer.timestampOption(2, synAck.tsVal()) : new byte[0];
        p.send(PEER_PORT, PORT, iss + 1, synAck.seq() + 1, TcpHeader.ACK, 65535, options, new byte[0]);
        TcpEndpoint ep = l.accept(Duration.ofSeconds(1).toNanos());
        l.close();
        assertEquals(TcpState.ESTABLISHED, ep.state());
        return new Conn(ep, iss + 1, synAck.seq() + 1);
    }

    /** Reads one segment record at {@code i} and delivers it; returns where the next record starts. */
    private static int segment(TcpPeer p, Conn c, byte[] d, int i) {
        int flags = i < d.length ? d[i] & 0xff : TcpHeader.ACK;
        int seqDelta = i32(d, i + 1);
        int ackDelta = i32(d, i + 5);
        int window = u16(d, i + 9);
        int words = i + 11 < d.length ? (d[i + 11] & 0xff) % 11 : 0;
        i += 12;
        byte[] options = new byte[words * 4];
        System.arraycopy(d, Math.min(i, d.length), options, 0, Math.max(0, Math.min(options.length, d.length - i)));
        i += options.length;
        int length = u16(d, i) % (PEER_MSS + 1);
        i += 2;
        int seq = c.stackAck + seqDelta;
        byte[] payload = new byte[length];
        long streamOffset = Integer.toUnsignedLong(seq - c.peerFirst);
        for (int k = 0; k < length; k++) {
            payload[k] = pattern(streamOffset + k);
        }
        p.send(PEER_PORT, PORT, seq, c.stackSent + ackDelta, flags, window, options, payload);
        return i;
    }

    /** The test's view of the connection: what the stack has said, and what the application read. */
    private static final class Conn {
        final TcpEndpoint ep;
        /** The peer's first data sequence number (its ISS + 1): stream offset 0. */
        final int peerFirst;
        /** The stack's latest acknowledgment (its RCV.NXT as last sent). */
        int stackAck;
        /** The highest sequence number the stack has sent, plus one. */
        int stackSent;
        long readOffset;
        private final TcpOptions options = new TcpOptions();

        Conn(TcpEndpoint ep, int peerFirst, int stackFirst) {
            this.ep = ep;
            this.peerFirst = peerFirst;
            this.stackAck = peerFirst;
            this.stackSent = stackFirst;
        }

        void observe(TcpPeer p) {
            for (byte[] b : p.link.take()) {
                // RFC 9293 section 3.7.1: options and data together fit the peer's MSS, so the
                // segment leaves in one IP packet within the link's MTU.
                assertTrue(b.length <= TcpPeer.MTU, "a " + b.length + "-byte packet on a " + TcpPeer.MTU + "-byte link");
                Ipv4Header h = new Ipv4Header().wrap(b, 0, b.length);
                assertEquals(Ipv4Header.Validity.OK, h.validate());
                assertFalse(h.isFragment(), "TCP segments are never fragmented");
                assertEquals(TcpHeader.PROTOCOL, h.protocol());
                int t = h.payloadOffset();
                int segment = h.payloadLength();
                assertTrue(Checksum.verifies(Checksum.add(
                        Checksum.pseudoHeader(TcpPeer.LOCAL, TcpPeer.PEER, TcpHeader.PROTOCOL, segment), b, t, segment)));
                int hl = TcpHeader.headerLength(b, t);
                assertTrue(segment - TcpHeader.MIN_LENGTH <= PEER_MSS,
                        (hl - TcpHeader.MIN_LENGTH) + " bytes of options and " + (segment - hl)
                                + " of data exceed the peer's MSS of " + PEER_MSS);
                assertTrue(options.parse(b, t + TcpHeader.MIN_LENGTH, t + hl), "the stack's own options parse");
                Seg s = Seg.of(b, t, segment - hl, options);
                assertEquals(PORT, s.srcPort());
                assertEquals(PEER_PORT, s.dstPort());
                if (s.has(TcpHeader.ACK)) {
                    stackAck = s.ack();
                }
                int end = s.seq() + s.seqLength();
                if (end - stackSent > 0) {
                    stackSent = end;
                }
            }
        }

        void read(int max) throws IOException {
            int n = Math.min(max, ep.available());
            if (n == 0) {
                return;
            }
            byte[] b = new byte[n];
            int got = ep.read(b, 0, n, 1);
            for (int k = 0; k < got; k++) {
                assertEquals(pattern(readOffset + k), b[k], "byte " + (readOffset + k) + " of the stream");
            }
            readOffset += got;
        }

        void write(int len, int sendBufferSize) {
            int room = sendBufferSize - ep.snapshot().sendBuffered();
            int n = Math.min(len, room);
            if (n <= 0) {
                return;
            }
            try {
                ep.write(new byte[n], 0, n, 1);
            } catch (IOException closed) {
                // The documented outcome of writing to a connection that is shut or broken.
            }
        }

        void checkBounds(TcpSettings settings) {
            TcpEndpoint.Snapshot s = ep.snapshot();
            assertTrue(s.sendBuffered() <= settings.sendBufferSize(), "send buffer holds " + s.sendBuffered());
            int held = ep.heldReceiveBytes();
            assertTrue(held <= s.receiveCapacity(),
                    "holds " + held + " received bytes with a receive window of " + s.receiveCapacity());
        }
    }
}
