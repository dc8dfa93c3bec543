package dev.loomstack.ip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.loomstack.packet.Bytes;
import dev.loomstack.packet.Checksum;
import dev.loomstack.packet.IcmpHeader.Icmpv4;
import dev.loomstack.packet.IcmpHeader.Icmpv6;
import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.IpPrefix;
import dev.loomstack.packet.Ipv4Header;
import dev.loomstack.packet.Ipv6Header;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.packet.TcpHeader;
import dev.loomstack.packet.UdpHeader;
import dev.loomstack.stack.ManualTimerService;
import dev.loomstack.stack.Stack;
import dev.loomstack.stack.Stats;
import dev.loomstack.tcp.TcpProtocol;
import dev.loomstack.testing.CaptureLink;
import dev.loomstack.udp.UdpProtocol;
import java.net.BindException;
import java.time.Duration;
import java.util.Arrays;

/**
 * Fuzzes the IPv4/IPv6 receive path of a whole stack (IP, reassembly, ICMP, UDP and TCP
 * demultiplexing) on a {@link CaptureLink} with a hand-driven clock.
 *
 * <p>The input is a list of records, {@code op(1) length(2, big-endian) body(length)}, so seeds
 * are real packets with a three-byte prefix:
 * <ul>
 *   <li>{@code op % 4 == 0}: the body is delivered as it is;</li>
 *   <li>{@code 1}: delivered after repairing its lengths and checksums (IPv4 header, and the TCP,
 *       UDP or ICMP checksum of a packet that is not a fragment), so the fuzzer gets past them;</li>
 *   <li>{@code 2}: the clock moves by {@code u16(body) * 10 ms} (reassembly and TCP timeouts);</li>
 *   <li>{@code 3}: the body is {@code chunk(1) order(1) packet}: the repaired packet is sent as
 *       fragments of {@code max(chunk, 1) * 8} bytes; order bit 0 reverses them, bit 1 sends the
 *       first one twice, bit 2 holds the last one back.</li>
 * </ul>
 *
 * Asserted after every record: reassembly holds no more than its cap, in bytes and in datagrams;
 * everything the stack sends fits the MTU and is a valid IP packet. After the input, once every
 * timeout has passed, reassembly holds nothing.
 */
class IpReceiveFuzzTest {
    private static final int MTU = 1280;
    /** The smallest cap Reassembler allows (two full datagrams), so eviction is reached quickly. */
    private static final int REASSEMBLY_CAP = 2 * Reassembler.MAX_DATAGRAM;
    private static final int MAX_RECORDS = 256;

    @FuzzTest(maxDuration = "30s")
    void receive(byte[] data) throws BindException {
        ManualTimerService timers = new ManualTimerService();
        CaptureLink link = new CaptureLink(MTU);
        // As IpStack.create builds it, keeping hold of the two reassemblers.
        Stack stack = new Stack(link, PacketBufferPool.forMtu(MTU, 8), new Stats(), timers);
        Ipv4Protocol ipv4 = new Ipv4Protocol(stack, REASSEMBLY_CAP);
        Ipv6Protocol ipv6 = new Ipv6Protocol(stack, REASSEMBLY_CAP);
        stack.registerNetworkProtocol(ipv4);
        stack.registerNetworkProtocol(ipv6);
        stack.registerTransport(new UdpProtocol(stack));
        TcpProtocol tcp = new TcpProtocol(stack);
        stack.registerTransport(tcp);
        tcp.listen(IpAddress.V4_ANY, 80, 4);
        stack.addAddress(IpPrefix.parse("100.64.0.1/32"));
        stack.addAddress(IpPrefix.parse("fd7a:115c:a1e0::1/128"));
        stack.start();
        Reassembler r4 = ipv4.reassembler();
        Reassembler r6 = ipv6.reassembler();
        try {
            int i = 0;
            for (int n = 0; n < MAX_RECORDS && i + 3 <= data.length; n++) {
                int op = data[i] & 3;
                int len = Math.min(Bytes.u16(data, i + 1), data.length - i - 3);
                byte[] body = Arrays.copyOfRange(data, i + 3, i + 3 + len);
                i += 3 + len;
                switch (op) {
                    case 0 -> deliver(link, body);
                    case 1 -> deliver(link, repaired(body));
                    case 2 -> timers.advance(Duration.ofMillis(10L * (body.length >= 2 ? Bytes.u16(body, 0) : 100)));
                    default -> fragmented(link, body);
                }
                checkBounds(r4);
                checkBounds(r6);
                checkSent(link);
            }
            // Every datagram left incomplete times out (60 s for IPv6) and takes its memory with it.
            timers.advance(Duration.ofSeconds(61));
            assertEquals(0, r4.memoryInUse());
            assertEquals(0, r6.memoryInUse());
            assertEquals(0, r4.pending());
            assertEquals(0, r6.pending());
        } finally {
            tcp.close();
            stack.close();
        }
    }

    private static void deliver(CaptureLink link, byte[] packet) {
        if (packet.length > 0) {
            link.deliver(packet);
        }
    }

    private static void checkBounds(Reassembler r) {
        assertTrue(r.memoryInUse() <= REASSEMBLY_CAP, "reassembly holds " + r.memoryInUse() + " bytes");
        assertTrue(r.memoryInUse() >= 0);
        assertTrue(r.pending() <= r.maxDatagrams(), "reassembly holds " + r.pending() + " datagrams");
    }

    private static void checkSent(CaptureLink link) {
        for (byte[] p : link.take()) {
            assertTrue(p.length <= MTU, "sent " + p.length + " bytes on a " + MTU + "-byte link");
            int version = (p[0] & 0xff) >>> 4;
            if (version == 4) {
                assertEquals(Ipv4Header.Validity.OK, new Ipv4Header().wrap(p, 0, p.length).validate());
            } else {
                Ipv6Header h = new Ipv6Header().wrap(p, 0, p.length);
                assertEquals(6, version);
                assertEquals(Ipv6Header.Validity.OK, h.validate());
                assertEquals(Ipv6Header.Validity.OK, h.walk());
            }
        }
    }

    // ---- building packets ----------------------------------------------------------------------

    /** A copy with its IP lengths, IPv4 header checksum and (unless a fragment) transport checksum repaired. */
    static byte[] repaired(byte[] in) {
        byte[] p = in.clone();
        if (p.length >= Ipv4Header.MIN_LENGTH && (p[0] & 0xf0) == 0x40) {
            int hl = (p[0] & 0x0f) * 4;
            if (hl < Ipv4Header.MIN_LENGTH || hl > p.length || p.length > 0xffff) {
                return p;
            }
            Bytes.put16(p, 2, p.length);
            Ipv4Header h = new Ipv4Header().wrap(p, 0, p.length);
            if (!h.isFragment()) {
                repairTransport(p, h.protocol(), hl, p.length - hl, 12, 16, 4);
            }
            Bytes.put16(p, 10, 0);
            Bytes.put16(p, 10, Checksum.compute(p, 0, hl));
        } else if (p.length >= Ipv6Header.LENGTH && (p[0] & 0xf0) == 0x60 && p.length - Ipv6Header.LENGTH <= 0xffff) {
            Bytes.put16(p, 4, p.length - Ipv6Header.LENGTH);
            Ipv6Header h = new Ipv6Header().wrap(p, 0, p.length);
            if (h.walk() == Ipv6Header.Validity.OK && !h.isFragment()) {
                repairTransport(p, h.transportProtocol(), h.transportOffset(), h.transportLength(), 8, 24, 16);
            }
        }
        return p;
    }

    private static void repairTransport(byte[] p, int protocol, int off, int len, int src, int dst, int addrLen) {
        int field;
        boolean pseudo = true;
        if (protocol == TcpHeader.PROTOCOL && len >= TcpHeader.MIN_LENGTH) {
            field = off + 16;
        } else if (protocol == UdpHeader.PROTOCOL && len >= UdpHeader.LENGTH) {
            Bytes.put16(p, off + 4, len);
            field = off + 6;
        } else if (protocol == Icmpv4.PROTOCOL && addrLen == 4 && len >= 4) {
            field = off + 2;
            pseudo = false;
        } else if (protocol == Icmpv6.PROTOCOL && addrLen == 16 && len >= 4) {
            field = off + 2;
        } else {
            return;
        }
        Bytes.put16(p, field, 0);
        long sum = pseudo ? Checksum.pseudoHeader(p, src, dst, addrLen, protocol, len) : 0;
        Bytes.put16(p, field, Checksum.finish(Checksum.add(sum, p, off, len)));
    }

    /** Record type 3: a repaired packet cut into fragments and delivered in the order asked for. */
    private static void fragmented(CaptureLink link, byte[] body) {
        if (body.length < 2) {
            return;
        }
        int chunk = Math.max(body[0] & 0xff, 1) * 8;
        int order = body[1] & 0xff;
        byte[] p = repaired(Arrays.copyOfRange(body, 2, body.length));
        byte[][] fragments;
        if (p.length >= Ipv4Header.MIN_LENGTH && (p[0] & 0xf0) == 0x40 && (p[0] & 0x0f) * 4 <= p.length
                && (p[0] & 0x0f) >= 5) {
            fragments = fragmentsV4(p, (p[0] & 0x0f) * 4, chunk);
        } else if (p.length >= Ipv6Header.LENGTH && (p[0] & 0xf0) == 0x60) {
            fragments = fragmentsV6(p, chunk);
        } else {
            deliver(link, p);
            return;
        }
        int n = fragments.length;
        if ((order & 4) != 0 && n > 1) {
            n--;
        }
        for (int k = 0; k < n; k++) {
            byte[] f = fragments[(order & 1) != 0 ? n - 1 - k : k];
            link.deliver(f);
            if (k == 0 && (order & 2) != 0) {
                link.deliver(f);
            }
        }
    }

    private static byte[][] fragmentsV4(byte[] p, int hl, int chunk) {
        int payload = p.length - hl;
        int count = Math.max(1, (payload + chunk - 1) / chunk);
        byte[][] out = new byte[count][];
        for (int k = 0; k < count; k++) {
            int from = k * chunk;
            int n = Math.min(chunk, payload - from);
            byte[] f = new byte[hl + Math.max(n, 0)];
            System.arraycopy(p, 0, f, 0, hl);
            System.arraycopy(p, hl + from, f, hl, Math.max(n, 0));
            Bytes.put16(f, 2, f.length);
            Bytes.put16(f, 6, Ipv4Header.fragmentWord(from, k < count - 1));
            Bytes.put16(f, 10, 0);
            Bytes.put16(f, 10, Checksum.compute(f, 0, hl));
            out[k] = f;
        }
        return out;
    }

    private static byte[][] fragmentsV6(byte[] p, int chunk) {
        int payload = p.length - Ipv6Header.LENGTH;
        int next = p[6] & 0xff;
        int count = Math.max(1, (payload + chunk - 1) / chunk);
        long id = Integer.toUnsignedLong(Arrays.hashCode(p));
        byte[][] out = new byte[count][];
        for (int k = 0; k < count; k++) {
            int from = k * chunk;
            int n = Math.max(Math.min(chunk, payload - from), 0);
            byte[] f = new byte[Ipv6Header.LENGTH + Ipv6Header.FRAGMENT_HEADER_LENGTH + n];
            System.arraycopy(p, 0, f, 0, Ipv6Header.LENGTH);
            Bytes.put16(f, 4, Ipv6Header.FRAGMENT_HEADER_LENGTH + n);
            f[6] = (byte) Ipv6Header.FRAGMENT;
            Ipv6Header.writeFragmentHeader(f, Ipv6Header.LENGTH, next, from, k < count - 1, id);
            System.arraycopy(p, Ipv6Header.LENGTH + from, f, Ipv6Header.LENGTH + Ipv6Header.FRAGMENT_HEADER_LENGTH, n);
            out[k] = f;
        }
        return out;
    }
}
