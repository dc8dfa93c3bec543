package dev.loomstack.packet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.packet.IcmpHeader.Icmpv4;
import dev.loomstack.packet.IcmpHeader.Icmpv6;
import dev.loomstack.testing.Captured;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class HeaderViewsTest {
    private static final IpAddress CLIENT4 = IpAddress.parse("100.64.0.2");
    private static final IpAddress SELF4 = IpAddress.parse("100.64.0.1");
    private static final IpAddress CLIENT6 = IpAddress.parse("fd7a:115c:a1e0::2");
    private static final IpAddress SELF6 = IpAddress.parse("fd7a:115c:a1e0::1");

    private final Ipv4Header v4 = new Ipv4Header();
    private final Ipv6Header v6 = new Ipv6Header();

    @Test
    void kernelIcmpv4EchoRequestParsesAndVerifies() {
        byte[] p = Captured.packet("icmpv4-echo-request");
        v4.wrap(p, 0, p.length);
        assertEquals(Ipv4Header.Validity.OK, v4.validate());
        assertEquals(20, v4.headerLength());
        assertEquals(p.length, v4.totalLength());
        assertEquals(Icmpv4.PROTOCOL, v4.protocol());
        assertEquals(CLIENT4, v4.source());
        assertEquals(SELF4, v4.destination());
        assertTrue(v4.dontFragment());
        assertFalse(v4.isFragment());
        assertEquals(Icmpv4.ECHO_REQUEST, IcmpHeader.type(p, v4.payloadOffset()));
        assertEquals(0, Checksum.compute(p, v4.payloadOffset(), v4.payloadLength()), "ICMP checksum");
    }

    @Test
    void kernelIcmpv6EchoRequestVerifiesOverThePseudoHeader() {
        byte[] p = Captured.packet("icmpv6-echo-request");
        v6.wrap(p, 0, p.length);
        assertEquals(Ipv6Header.Validity.OK, v6.validate());
        assertEquals(Ipv6Header.Validity.OK, v6.walk());
        assertEquals(Icmpv6.PROTOCOL, v6.transportProtocol());
        assertEquals(40, v6.transportOffset());
        assertEquals(CLIENT6, v6.source());
        assertEquals(SELF6, v6.destination());
        int len = v6.transportLength();
        long sum = Checksum.add(Checksum.pseudoHeader(CLIENT6, SELF6, Icmpv6.PROTOCOL, len), p, 40, len);
        assertTrue(Checksum.verifies(sum));
        assertEquals(Icmpv6.ECHO_REQUEST, IcmpHeader.type(p, 40));
    }

    @Test
    void kernelUdpDatagramsVerifyAndMatchOurWriter() {
        for (String name : List.of("udpv4-hello", "udpv6-hello")) {
            byte[] p = Captured.packet(name);
            boolean six = name.contains("v6");
            int off = six ? 40 : 20;
            IpAddress src = six ? CLIENT6 : CLIENT4;
            IpAddress dst = six ? SELF6 : SELF4;
            int len = UdpHeader.length(p, off);
            assertEquals(p.length - off, len);
            assertEquals(9999, UdpHeader.destinationPort(p, off));
            assertTrue(Checksum.verifies(Checksum.add(Checksum.pseudoHeader(src, dst, UdpHeader.PROTOCOL, len), p, off, len)));
            assertEquals("hello\n", new String(p, off + 8, len - 8, StandardCharsets.US_ASCII));
            // Our writer produces the same header (and checksum) for the same datagram.
            byte[] mine = new byte[len];
            System.arraycopy(p, off + 8, mine, 8, len - 8);
            UdpHeader.write(mine, 0, UdpHeader.sourcePort(p, off), 9999, len - 8, src, dst);
            assertArrayEquals(Arrays.copyOfRange(p, off, off + 8), Arrays.copyOf(mine, 8), name);
        }
    }

    @Test
    void kernelIpv4FragmentsDescribeTheirPlace() {
        byte[] f0 = Captured.packet("icmpv4-echo-1400-frag0");
        byte[] f1 = Captured.packet("icmpv4-echo-1400-frag1");
        v4.wrap(f0, 0, f0.length);
        assertEquals(Ipv4Header.Validity.OK, v4.validate());
        assertTrue(v4.moreFragments());
        assertEquals(0, v4.fragmentOffset());
        int id = v4.identification();
        int firstData = v4.payloadLength();
        v4.wrap(f1, 0, f1.length);
        assertEquals(Ipv4Header.Validity.OK, v4.validate());
        assertFalse(v4.moreFragments());
        assertEquals(firstData, v4.fragmentOffset());
        assertEquals(id, v4.identification());
        assertEquals(8 + 1400, firstData + v4.payloadLength(), "ICMP header and 1400 data bytes in all");
    }

    @Test
    void kernelIpv6FragmentsWalkToTheFragmentHeader() {
        byte[] f0 = Captured.packet("icmpv6-echo-1400-frag0");
        byte[] f1 = Captured.packet("icmpv6-echo-1400-frag1");
        v6.wrap(f0, 0, f0.length);
        assertEquals(Ipv6Header.Validity.OK, v6.walk());
        assertTrue(v6.isFragment());
        assertTrue(v6.moreFragments());
        assertEquals(0, v6.fragmentOffset());
        assertEquals(Icmpv6.PROTOCOL, v6.transportProtocol());
        assertEquals(48, v6.transportOffset());
        long id = v6.fragmentIdentification();
        int firstData = v6.transportLength();
        assertEquals(0, firstData % 8);
        v6.wrap(f1, 0, f1.length);
        assertEquals(Ipv6Header.Validity.OK, v6.walk());
        assertFalse(v6.moreFragments());
        assertEquals(firstData, v6.fragmentOffset());
        assertEquals(id, v6.fragmentIdentification());
    }

    @Test
    void kernelRouterSolicitationIsMulticast() {
        byte[] p = Captured.packet("icmpv6-router-solicitation");
        v6.wrap(p, 0, p.length);
        assertEquals(Ipv6Header.Validity.OK, v6.walk());
        assertEquals(0xff, p[v6.destinationOffset()] & 0xff);
        assertEquals(133, IcmpHeader.type(p, v6.transportOffset()));
    }

    @Test
    void malformedIpv4HeadersAreRefused() {
        byte[] good = Captured.packet("icmpv4-echo-request");
        assertEquals(Ipv4Header.Validity.TRUNCATED, v4.wrap(good, 0, 19).validate());
        byte[] p = good.clone();
        p[0] = 0x55;
        assertEquals(Ipv4Header.Validity.BAD_VERSION, v4.wrap(p, 0, p.length).validate());
        p = good.clone();
        p[0] = 0x44;
        assertEquals(Ipv4Header.Validity.BAD_HEADER_LENGTH, v4.wrap(p, 0, p.length).validate());
        p = good.clone();
        p[0] = 0x4f;
        assertEquals(Ipv4Header.Validity.BAD_HEADER_LENGTH, v4.wrap(p, 0, p.length).validate());
        p = good.clone();
        Bytes.put16(p, 2, p.length + 1);
        assertEquals(Ipv4Header.Validity.BAD_TOTAL_LENGTH, v4.wrap(p, 0, p.length).validate());
        p = good.clone();
        p[8] ^= 1;
        assertEquals(Ipv4Header.Validity.BAD_CHECKSUM, v4.wrap(p, 0, p.length).validate());
    }

    @Test
    void ipv4OptionsAreWalkedAndBadOnesRefused() {
        byte[] p = new byte[32];
        Ipv4Header.write(p, 0, 32, 1, 0, 64, 17, CLIENT4, SELF4);
        p[0] = 0x47; // 28-byte header: 8 bytes of options
        p[20] = 1; // NOP
        p[21] = (byte) Ipv4Header.OPTION_ROUTER_ALERT;
        p[22] = 4;
        p[25] = 0; // END
        List<Integer> seen = new ArrayList<>();
        assertTrue(v4.wrap(p, 0, p.length).walkOptions(seen::add));
        assertEquals(List.of(Ipv4Header.OPTION_ROUTER_ALERT), seen);
        p[22] = 1; // length below 2
        assertFalse(v4.wrap(p, 0, p.length).walkOptions(t -> {}));
        p[22] = 20; // runs past the header
        assertFalse(v4.wrap(p, 0, p.length).walkOptions(t -> {}));
    }

    @Test
    void writtenIpv4HeaderValidates() {
        byte[] p = new byte[60];
        Ipv4Header.write(p, 0, 60, 0x1234, Ipv4Header.fragmentWord(1480, true), 64, 6, CLIENT4, SELF4);
        v4.wrap(p, 0, p.length);
        assertEquals(Ipv4Header.Validity.OK, v4.validate());
        assertEquals(1480, v4.fragmentOffset());
        assertTrue(v4.moreFragments());
        assertEquals(0x1234, v4.identification());
    }

    private static byte[] v6With(int first, byte[]... exts) {
        int len = 40;
        for (byte[] e : exts) {
            len += e.length;
        }
        byte[] p = new byte[len + 8];
        Ipv6Header.write(p, 0, len - 40 + 8, first, 64, CLIENT6, SELF6);
        int at = 40;
        for (byte[] e : exts) {
            System.arraycopy(e, 0, p, at, e.length);
            at += e.length;
        }
        return p;
    }

    private static byte[] ext(int next, int... body) {
        byte[] e = new byte[8];
        e[0] = (byte) next;
        for (int i = 0; i < body.length; i++) {
            e[2 + i] = (byte) body[i];
        }
        return e;
    }

    @Test
    void ipv6ExtensionChainIsFollowed() {
        byte[] p = v6With(Ipv6Header.HOP_BY_HOP, ext(Ipv6Header.DESTINATION_OPTIONS, 1, 4),
                ext(Ipv6Header.ROUTING, 1, 4), ext(UdpHeader.PROTOCOL, 0, 0, 0, 0));
        v6.wrap(p, 0, p.length);
        assertEquals(Ipv6Header.Validity.OK, v6.walk());
        assertEquals(UdpHeader.PROTOCOL, v6.transportProtocol());
        assertEquals(64, v6.transportOffset());
        assertFalse(v6.hasFragmentHeader());
    }

    @Test
    void ipv6BadChainsAreRefused() {
        // Hop-by-hop anywhere but first (RFC 8200 section 4.1).
        byte[] p = v6With(Ipv6Header.DESTINATION_OPTIONS, ext(Ipv6Header.HOP_BY_HOP, 1, 4), ext(17, 1, 4));
        assertEquals(Ipv6Header.Validity.BAD_EXTENSION_HEADER, v6.wrap(p, 0, p.length).walk());
        // Unknown option whose action bits say discard (section 4.2).
        p = v6With(Ipv6Header.DESTINATION_OPTIONS, ext(17, 0x80, 4));
        assertEquals(Ipv6Header.Validity.BAD_EXTENSION_HEADER, v6.wrap(p, 0, p.length).walk());
        // A routing header with segments left.
        p = v6With(Ipv6Header.ROUTING, ext(17, 4, 1));
        assertEquals(Ipv6Header.Validity.BAD_EXTENSION_HEADER, v6.wrap(p, 0, p.length).walk());
        // A header running past the packet.
        p = v6With(Ipv6Header.DESTINATION_OPTIONS, ext(17, 1, 4));
        p[41] = 5;
        assertEquals(Ipv6Header.Validity.TRUNCATED, v6.wrap(p, 0, p.length).walk());
        // An endless chain.
        byte[][] many = new byte[Ipv6Header.MAX_EXTENSION_HEADERS + 1][];
        for (int i = 0; i < many.length; i++) {
            many[i] = ext(Ipv6Header.DESTINATION_OPTIONS, 1, 4);
        }
        p = v6With(Ipv6Header.DESTINATION_OPTIONS, many);
        assertEquals(Ipv6Header.Validity.BAD_EXTENSION_HEADER, v6.wrap(p, 0, p.length).walk());
        // Payload length beyond the bytes.
        p = v6With(17);
        Bytes.put16(p, 4, 100);
        assertEquals(Ipv6Header.Validity.BAD_PAYLOAD_LENGTH, v6.wrap(p, 0, p.length).validate());
        assertEquals(Ipv6Header.Validity.TRUNCATED, v6.wrap(p, 0, 39).validate());
    }
}
