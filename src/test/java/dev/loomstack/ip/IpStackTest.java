package dev.loomstack.ip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.packet.Bytes;
import dev.loomstack.packet.Checksum;
import dev.loomstack.packet.IcmpHeader;
import dev.loomstack.packet.IcmpHeader.Icmpv4;
import dev.loomstack.packet.IcmpHeader.Icmpv6;
import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.IpPrefix;
import dev.loomstack.packet.Ipv4Header;
import dev.loomstack.packet.Ipv6Header;
import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.packet.UdpHeader;
import dev.loomstack.stack.ManualTimerService;
import dev.loomstack.stack.Stack;
import dev.loomstack.stack.Stats;
import dev.loomstack.testing.CaptureLink;
import dev.loomstack.testing.Captured;
import dev.loomstack.udp.UdpProtocol;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class IpStackTest {
    private static final IpAddress CLIENT4 = IpAddress.parse("100.64.0.2");
    private static final IpAddress SELF4 = IpAddress.parse("100.64.0.1");
    private static final IpAddress CLIENT6 = IpAddress.parse("fd7a:115c:a1e0::2");
    private static final IpAddress SELF6 = IpAddress.parse("fd7a:115c:a1e0::1");
    private static final int MTU = 1280;

    private final ManualTimerService timers = new ManualTimerService();
    private final PacketBufferPool pool = PacketBufferPool.forMtu(MTU, 64);
    private final Stats stats = new Stats();
    private final CaptureLink link = new CaptureLink(MTU);
    private final Stack stack = IpStack.create(link, pool, stats, timers);

    IpStackTest() {
        stack.registerTransport(new UdpProtocol(stack));
        stack.addAddress(IpPrefix.parse("100.64.0.1/32"));
        stack.addAddress(IpPrefix.parse("fd7a:115c:a1e0::1/128"));
        stack.start();
    }

    @Test
    void answersTheKernelsIpv4Echo() {
        byte[] req = Captured.packet("icmpv4-echo-request");
        link.deliver(req);
        List<byte[]> out = link.take();
        assertEquals(1, out.size());
        byte[] rep = out.get(0);
        Ipv4Header h = new Ipv4Header().wrap(rep, 0, rep.length);
        assertEquals(Ipv4Header.Validity.OK, h.validate());
        assertEquals(SELF4, h.source());
        assertEquals(CLIENT4, h.destination());
        assertEquals(Icmpv4.ECHO_REPLY, IcmpHeader.type(rep, 20));
        assertEquals(0, Checksum.compute(rep, 20, rep.length - 20));
        // Identifier, sequence and data mirror the request.
        assertArrayEquals(Arrays.copyOfRange(req, 24, req.length), Arrays.copyOfRange(rep, 24, rep.length));
        assertEquals(1, stats.icmp.echoRepliesSent.value());
    }

    @Test
    void answersTheKernelsIpv6Echo() {
        byte[] req = Captured.packet("icmpv6-echo-request");
        link.deliver(req);
        byte[] rep = link.take().get(0);
        Ipv6Header h = new Ipv6Header().wrap(rep, 0, rep.length);
        assertEquals(Ipv6Header.Validity.OK, h.walk());
        assertEquals(SELF6, h.source());
        assertEquals(CLIENT6, h.destination());
        assertEquals(Icmpv6.ECHO_REPLY, IcmpHeader.type(rep, 40));
        int len = rep.length - 40;
        assertTrue(Checksum.verifies(Checksum.add(Checksum.pseudoHeader(SELF6, CLIENT6, Icmpv6.PROTOCOL, len), rep, 40, len)));
        assertArrayEquals(Arrays.copyOfRange(req, 44, req.length), Arrays.copyOfRange(rep, 44, rep.length));
    }

    @Test
    void noEchoReplyForAddressesNotOurs() {
        byte[] req = Captured.packet("icmpv4-echo-request");
        stack.removeAddress(IpPrefix.parse("100.64.0.1/32"));
        link.deliver(req);
        assertEquals(0, link.take().size());
        assertEquals(1, stats.icmp.echoRequestsReceived.value());
    }

    @Test
    void kernelFragmentsAreReassembledAndAnswered() {
        link.deliver(Captured.packet("icmpv4-echo-1400-frag1"));
        assertEquals(0, link.take().size());
        link.deliver(Captured.packet("icmpv4-echo-1400-frag0"));
        assertEquals(2, link.take().size(), "a 1428-byte reply leaves in two fragments");
        link.deliver(Captured.packet("icmpv6-echo-1400-frag0"));
        link.deliver(Captured.packet("icmpv6-echo-1400-frag1"));
        assertEquals(2, link.take().size());
        assertEquals(2, stats.icmp.echoRepliesSent.value());
    }

    /** A 30000-byte echo in both families: fragmented by a second stack, reassembled here, answered in fragments. */
    @Test
    void largeEchoIsFragmentedBothWays() {
        for (boolean six : new boolean[] {false, true}) {
            IpAddress src = six ? CLIENT6 : CLIENT4;
            IpAddress dst = six ? SELF6 : SELF4;
            byte[] icmp = new byte[IcmpHeader.LENGTH + 30_000];
            new Random(5).nextBytes(icmp);
            IcmpHeader.writeHeader(icmp, 0, six ? Icmpv6.ECHO_REQUEST : Icmpv4.ECHO_REQUEST, 0, 0x12340001L);
            if (six) {
                IcmpHeader.fillChecksumV6(icmp, 0, icmp.length, src, dst);
            } else {
                IcmpHeader.fillChecksumV4(icmp, 0, icmp.length);
            }
            CaptureLink clientLink = new CaptureLink(MTU);
            Stack client = IpStack.create(clientLink, pool, new Stats(), timers);
            client.start();
            client.send(src, dst, six ? Icmpv6.PROTOCOL : Icmpv4.PROTOCOL, PacketBuffer.copyOf(icmp, 128));
            List<byte[]> fragments = clientLink.take();
            assertTrue(fragments.size() >= 24, "fragments: " + fragments.size());
            fragments.forEach(f -> assertTrue(f.length <= MTU));
            fragments.forEach(link::deliver);
            List<byte[]> reply = link.take();
            assertTrue(reply.size() >= 24, "reply fragments: " + reply.size());
            reply.forEach(f -> assertTrue(f.length <= MTU));
            // Reassemble the reply with the client's stack and check it mirrors the request.
            int before = (int) client.stats().ip.packetsDelivered.value();
            reply.forEach(clientLink::deliver);
            assertEquals(before + 1, client.stats().ip.packetsDelivered.value(), "the reply reassembles");
        }
    }

    @Test
    void udpToAClosedPortGetsPortUnreachableAtALimitedRate() {
        byte[] udp = new byte[UdpHeader.LENGTH + 4];
        UdpHeader.write(udp, 0, 40000, 9, 4, CLIENT4, SELF4);
        byte[] pkt = new byte[20 + udp.length];
        Ipv4Header.write(pkt, 0, pkt.length, 7, 0, 64, UdpHeader.PROTOCOL, CLIENT4, SELF4);
        System.arraycopy(udp, 0, pkt, 20, udp.length);
        link.deliver(pkt);
        byte[] err = link.take().get(0);
        assertEquals(Icmpv4.DESTINATION_UNREACHABLE, IcmpHeader.type(err, 20));
        assertEquals(Icmpv4.CODE_PORT_UNREACHABLE, IcmpHeader.code(err, 20));
        assertEquals(0, Checksum.compute(err, 20, err.length - 20));
        assertArrayEquals(pkt, Arrays.copyOfRange(err, 28, err.length), "the error quotes the datagram");
        for (int i = 0; i < 500; i++) {
            link.deliver(pkt);
        }
        int sent = link.take().size();
        assertTrue(sent < 100, "errors sent in a burst: " + sent);
        assertEquals(500 - sent, stats.icmp.errorsRateLimited.value());
        timers.advanceNanos(1_000_000_000L);
        link.deliver(pkt);
        assertEquals(1, link.take().size(), "the bucket refills with time");
    }

    @Test
    void udpV6ToAClosedPortGetsPortUnreachable() {
        byte[] udp = new byte[UdpHeader.LENGTH + 4];
        UdpHeader.write(udp, 0, 40000, 9, 4, CLIENT6, SELF6);
        byte[] pkt = new byte[40 + udp.length];
        Ipv6Header.write(pkt, 0, udp.length, UdpHeader.PROTOCOL, 64, CLIENT6, SELF6);
        System.arraycopy(udp, 0, pkt, 40, udp.length);
        link.deliver(pkt);
        byte[] err = link.take().get(0);
        assertEquals(Icmpv6.DESTINATION_UNREACHABLE, IcmpHeader.type(err, 40));
        assertEquals(Icmpv6.CODE_PORT_UNREACHABLE, IcmpHeader.code(err, 40));
    }

    @Test
    void malformedPacketsAreCountedDropsNeverExceptions() {
        Random rnd = new Random(99);
        byte[] good = Captured.packet("icmpv4-echo-request");
        List<byte[]> bad = new ArrayList<>();
        bad.add(new byte[] {0x45});
        bad.add(Arrays.copyOf(good, 19));
        bad.add(Arrays.copyOf(good, 30));
        byte[] p = good.clone();
        p[10] ^= 0x55;
        bad.add(p);
        p = good.clone();
        p[0] = 0x3f;
        bad.add(p);
        bad.add(Arrays.copyOf(Captured.packet("icmpv6-echo-request"), 50));
        for (int i = 0; i < 2000; i++) {
            byte[] g = new byte[rnd.nextInt(120)];
            rnd.nextBytes(g);
            if (g.length > 0) {
                g[0] = (byte) ((rnd.nextBoolean() ? 0x40 : 0x60) | (g[0] & 0x0f));
            }
            bad.add(g);
        }
        for (byte[] b : bad) {
            link.deliver(b);
        }
        link.take();
        long malformed = stats.ip.malformedPacketsReceived.value();
        assertTrue(malformed >= 6, "malformed: " + malformed);
        assertEquals(bad.size(), stats.ip.packetsReceived.value() + countEmpty(bad));
        // Still serving.
        link.deliver(good);
        assertEquals(1, link.take().size());
    }

    private static long countEmpty(List<byte[]> l) {
        return l.stream().filter(b -> b.length == 0).count();
    }

    @Test
    void badIcmpChecksumIsCounted() {
        byte[] p = Captured.packet("icmpv4-echo-request");
        p[30] ^= 1;
        link.deliver(p);
        assertEquals(0, link.take().size());
        assertEquals(1, stats.icmp.checksumErrors.value());
    }
}
