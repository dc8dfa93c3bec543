package dev.loomstack.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.ip.IpStack;
import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.IpPrefix;
import dev.loomstack.packet.Ipv4Header;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.packet.TcpHeader;
import dev.loomstack.packet.TcpOptions;
import dev.loomstack.stack.ManualTimerService;
import dev.loomstack.stack.Stack;
import dev.loomstack.stack.Stats;
import dev.loomstack.testing.Await;
import dev.loomstack.testing.CaptureLink;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * One Loomstack TCP on a {@link CaptureLink} with a hand-driven clock, and a test playing the
 * peer segment by segment: what the stack sends is read back as {@link Seg}s, what the peer sends
 * is written here byte by byte. Nothing runs unless the test delivers a segment or moves time.
 */
final class TcpPeer implements AutoCloseable {
    static final IpAddress LOCAL = IpAddress.parse("100.64.0.1");
    static final IpAddress PEER = IpAddress.parse("100.64.0.2");
    static final int MTU = 1500;

    final ManualTimerService timers = new ManualTimerService();
    final Stats stats = new Stats();
    final CaptureLink link = new CaptureLink(MTU);
    final Stack stack;
    final TcpProtocol tcp;

    /** A segment the stack sent, with its options. */
    record Seg(int srcPort, int dstPort, int seq, int ack, int flags, int window, int payloadLength,
               int mss, int windowScale, boolean sackPermitted, boolean timestamps, int tsVal, int tsEcr,
               int sackCount, int[] sackStarts, int[] sackEnds) {
        /** The segment whose TCP header starts at {@code t}, with its options already parsed into {@code o}. */
        static Seg of(byte[] b, int t, int payloadLength, TcpOptions o) {
            return new Seg(TcpHeader.sourcePort(b, t), TcpHeader.destinationPort(b, t), TcpHeader.sequence(b, t),
                    TcpHeader.acknowledgment(b, t), TcpHeader.flags(b, t), TcpHeader.window(b, t), payloadLength,
                    o.mss, o.windowScale, o.sackPermitted, o.hasTimestamps, o.tsVal, o.tsEcr, o.sackCount,
                    java.util.Arrays.copyOf(o.sackStart, o.sackCount), java.util.Arrays.copyOf(o.sackEnd, o.sackCount));
        }

        boolean has(int flag) {
            return (flags & flag) != 0;
        }

        int seqLength() {
            return payloadLength + (has(TcpHeader.SYN) ? 1 : 0) + (has(TcpHeader.FIN) ? 1 : 0);
        }

        @Override
        public String toString() {
            return TcpHeader.flagString(flags) + " seq=" + Integer.toUnsignedString(seq) + " ack="
                    + Integer.toUnsignedString(ack) + " len=" + payloadLength + " win=" + window;
        }
    }

    TcpPeer(TcpSettings settings) {
        stack = IpStack.create(link, PacketBufferPool.forMtu(MTU, 256), stats, timers);
        tcp = new TcpProtocol(stack, settings);
        stack.registerTransport(tcp);
        stack.addAddress(IpPrefix.host(LOCAL));
        stack.start();
    }

    TcpPeer() {
        this(TcpSettings.defaults());
    }

    /** Delivers a segment from the peer with no options. */
    void send(int srcPort, int dstPort, int seq, int ack, int flags, int window, byte[] payload) {
        send(srcPort, dstPort, seq, ack, flags, window, new byte[0], payload);
    }

    /** Delivers a segment from the peer; {@code options} must be a multiple of 4 bytes. */
    void send(int srcPort, int dstPort, int seq, int ack, int flags, int window, byte[] options, byte[] payload) {
        int tcpLen = TcpHeader.MIN_LENGTH + options.length + payload.length;
        byte[] b = new byte[Ipv4Header.MIN_LENGTH + tcpLen];
        Ipv4Header.write(b, 0, b.length, 1, Ipv4Header.FLAG_DONT_FRAGMENT, 64, TcpHeader.PROTOCOL, PEER, LOCAL);
        int t = Ipv4Header.MIN_LENGTH;
        TcpHeader.write(b, t, srcPort, dstPort, seq, ack, TcpHeader.MIN_LENGTH + options.length, flags, window);
        System.arraycopy(options, 0, b, t + TcpHeader.MIN_LENGTH, options.length);
        System.arraycopy(payload, 0, b, t + TcpHeader.MIN_LENGTH + options.length, payload.length);
        TcpHeader.fillChecksum(b, t, tcpLen, PEER, LOCAL);
        link.deliver(b);
    }

    /** Options of a peer SYN: MSS, and optionally window scale, SACK-permitted and a timestamp. */
    static byte[] synOptions(int mss, int windowScale, boolean sack, int tsVal) {
        byte[] o = new byte[40];
        int n = TcpOptions.writeMss(o, 0, mss);
        if (windowScale >= 0) {
            n += TcpOptions.writeWindowScale(o, n, windowScale);
        }
        if (sack) {
            n += TcpOptions.writeSackPermitted(o, n);
        }
        if (tsVal != 0) {
            n += TcpOptions.writeTimestamps(o, n, tsVal, 0);
        }
        return java.util.Arrays.copyOf(o, n);
    }

    static byte[] timestampOption(int tsVal, int tsEcr) {
        byte[] o = new byte[TcpOptions.TIMESTAMPS_ALIGNED_LENGTH];
        TcpOptions.writeTimestamps(o, 0, tsVal, tsEcr);
        return o;
    }

    /** Everything the stack sent since the last call, as segments. */
    List<Seg> take() {
        List<Seg> out = new ArrayList<>();
        TcpOptions o = new TcpOptions();
        for (byte[] b : link.take()) {
            int t = (b[0] & 0x0f) * 4;
            assertEquals(TcpHeader.PROTOCOL, b[9] & 0xff, "only TCP is expected");
            int hl = TcpHeader.headerLength(b, t);
            assertTrue(o.parse(b, t + TcpHeader.MIN_LENGTH, t + hl));
            out.add(Seg.of(b, t, b.length - t - hl, o));
        }
        return out;
    }

    /** Exactly one segment must have been sent; returns it. */
    Seg takeOne() {
        List<Seg> s = take();
        assertEquals(1, s.size(), "expected one segment, got " + s);
        return s.getFirst();
    }

    /** Waits (wall time, for application threads) until the stack has sent something; returns it all. */
    List<Seg> awaitSent() {
        List<Seg> got = new ArrayList<>();
        Await.until(Duration.ofSeconds(10), "a segment from the stack", () -> {
            got.addAll(take());
            return !got.isEmpty();
        });
        return got;
    }

    void advance(Duration d) {
        timers.advance(d);
    }

    /** The peer's end of an established connection, as the test tracks it. */
    final class Conn {
        final int peerPort;
        final int localPort;
        int peerSeq;
        int localSeq;
        TcpEndpoint endpoint;

        Conn(int peerPort, int localPort, int peerSeq, int localSeq) {
            this.peerPort = peerPort;
            this.localPort = localPort;
            this.peerSeq = peerSeq;
            this.localSeq = localSeq;
        }

        void send(int flags, int window, byte[] payload) {
            TcpPeer.this.send(peerPort, localPort, peerSeq, localSeq, flags, window, payload);
            peerSeq += payload.length + ((flags & TcpHeader.FIN) != 0 ? 1 : 0);
        }

        void ack(int window) {
            TcpPeer.this.send(peerPort, localPort, peerSeq, localSeq, TcpHeader.ACK, window, new byte[0]);
        }
    }

    /**
     * Runs a passive open on {@code port} from peer port {@code peerPort} with plain options
     * (MSS 1460, no scaling, no SACK, no timestamps) and returns the established connection.
     */
    Conn acceptPlain(int port, int peerPort) throws Exception {
        TcpListener l = tcp.listen(LOCAL, port, 8);
        int iss = 1_000_000;
        send(peerPort, port, iss, 0, TcpHeader.SYN, 65535, synOptions(1460, -1, false, 0), new byte[0]);
        Seg synAck = takeOne();
        assertTrue(synAck.has(TcpHeader.SYN) && synAck.has(TcpHeader.ACK), "SYN-ACK expected, got " + synAck);
        Conn c = new Conn(peerPort, port, iss + 1, synAck.seq() + 1);
        c.ack(65535);
        c.endpoint = l.accept(Duration.ofSeconds(1).toNanos());
        l.close();
        assertEquals(TcpState.ESTABLISHED, c.endpoint.state());
        return c;
    }

    @Override
    public void close() {
        tcp.close();
    }
}
