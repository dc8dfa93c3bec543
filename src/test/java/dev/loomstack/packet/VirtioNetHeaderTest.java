package dev.loomstack.packet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class VirtioNetHeaderTest {
    private static final int HDR = 0;
    private static final int PKT = VirtioNetHeader.LENGTH;
    private static final IpAddress V4_SRC = IpAddress.parse("100.64.0.2");
    private static final IpAddress V4_DST = IpAddress.parse("100.64.0.1");

    /** A vnet header slot followed by an IPv4 packet with a 20-byte header, the given protocol and length. */
    private static byte[] v4(int protocol, int length) {
        byte[] b = new byte[PKT + length];
        Ipv4Header.write(b, PKT, length, 1, 0, 64, protocol, V4_SRC, V4_DST);
        if (protocol == TcpHeader.PROTOCOL) {
            TcpHeader.write(b, PKT + 20, 40000, 80, 1, 1, 32, TcpHeader.ACK, 1000);
        }
        return b;
    }

    private static byte[] v6Tcp(int length) {
        byte[] b = new byte[PKT + length];
        b[PKT] = 0x60;
        Bytes.put16(b, PKT + 4, length - Ipv6Header.LENGTH);
        b[PKT + 6] = TcpHeader.PROTOCOL;
        TcpHeader.write(b, PKT + 40, 40000, 80, 1, 1, 20, TcpHeader.ACK, 1000);
        return b;
    }

    @Test
    void fieldsAreLittleEndianInTheirPlaces() {
        byte[] b = new byte[VirtioNetHeader.LENGTH];
        VirtioNetHeader.write(b, 0, VirtioNetHeader.F_NEEDS_CSUM, VirtioNetHeader.GSO_TCPV4, 0x0134, 0x05a8, 0x0014, 0x0010);
        // struct virtio_net_hdr: u8 flags, u8 gso_type, then le16 hdr_len, gso_size, csum_start, csum_offset.
        assertArrayEquals(new byte[] {1, 1, 0x34, 0x01, (byte) 0xa8, 0x05, 0x14, 0, 0x10, 0}, b);
        assertEquals(VirtioNetHeader.F_NEEDS_CSUM, VirtioNetHeader.flags(b, 0));
        assertEquals(VirtioNetHeader.GSO_TCPV4, VirtioNetHeader.gsoType(b, 0));
        assertEquals(0x134, VirtioNetHeader.headerLength(b, 0));
        assertEquals(1448, VirtioNetHeader.gsoSize(b, 0));
        assertEquals(20, VirtioNetHeader.checksumStart(b, 0));
        assertEquals(16, VirtioNetHeader.checksumOffset(b, 0));
    }

    @Test
    void largeValuesRoundTripUnsigned() {
        byte[] b = new byte[VirtioNetHeader.LENGTH + 3];
        VirtioNetHeader.write(b, 3, 0xff, 0x85, 0xffff, 0xfffe, 0x8000, 0x7fff);
        assertEquals(0xff, VirtioNetHeader.flags(b, 3));
        assertEquals(0x85, VirtioNetHeader.gsoType(b, 3));
        assertEquals(0xffff, VirtioNetHeader.headerLength(b, 3));
        assertEquals(0xfffe, VirtioNetHeader.gsoSize(b, 3));
        assertEquals(0x8000, VirtioNetHeader.checksumStart(b, 3));
        assertEquals(0x7fff, VirtioNetHeader.checksumOffset(b, 3));
    }

    @Test
    void validHeadersOfTheKernelAreAccepted() {
        byte[] tcp4 = v4(TcpHeader.PROTOCOL, 20 + 32 + 3000);
        VirtioNetHeader.write(tcp4, HDR, VirtioNetHeader.F_NEEDS_CSUM, VirtioNetHeader.GSO_TCPV4, 52, 1000, 20, 16);
        assertNull(VirtioNetHeader.invalidReason(tcp4, HDR, PKT, tcp4.length - PKT));
        VirtioNetHeader.write(tcp4, HDR, VirtioNetHeader.F_NEEDS_CSUM, VirtioNetHeader.GSO_TCPV4 | VirtioNetHeader.GSO_ECN,
                52, 1000, 20, 16);
        assertNull(VirtioNetHeader.invalidReason(tcp4, HDR, PKT, tcp4.length - PKT), "CWR on the first segment");
        byte[] tcp6 = v6Tcp(40 + 20 + 5000);
        VirtioNetHeader.write(tcp6, HDR, VirtioNetHeader.F_NEEDS_CSUM, VirtioNetHeader.GSO_TCPV6, 60, 1208, 40, 16);
        assertNull(VirtioNetHeader.invalidReason(tcp6, HDR, PKT, tcp6.length - PKT));
        byte[] udp = v4(UdpHeader.PROTOCOL, 20 + 8 + 4000);
        VirtioNetHeader.write(udp, HDR, VirtioNetHeader.F_NEEDS_CSUM, VirtioNetHeader.GSO_UDP_L4, 28, 1000, 20, 6);
        assertNull(VirtioNetHeader.invalidReason(udp, HDR, PKT, udp.length - PKT));
        VirtioNetHeader.write(udp, HDR, VirtioNetHeader.F_DATA_VALID, VirtioNetHeader.GSO_NONE, 0, 0, 0, 0);
        assertNull(VirtioNetHeader.invalidReason(udp, HDR, PKT, udp.length - PKT));
        VirtioNetHeader.writePlain(udp, HDR);
        assertNull(VirtioNetHeader.invalidReason(udp, HDR, PKT, udp.length - PKT));
    }

    private static void assertInvalid(String because, byte[] b, int length) {
        String reason = VirtioNetHeader.invalidReason(b, HDR, PKT, length);
        assertNotNull(reason, "expected a refusal: " + because);
        assertTrue(reason.contains(because), reason);
    }

    @Test
    void gsoOnAPacketOfAnotherKindIsRefused() {
        byte[] udp = v4(UdpHeader.PROTOCOL, 20 + 8 + 4000);
        VirtioNetHeader.write(udp, HDR, VirtioNetHeader.F_NEEDS_CSUM, VirtioNetHeader.GSO_TCPV4, 28, 1000, 20, 6);
        assertInvalid("not IPv4 TCP", udp, udp.length - PKT);
        byte[] tcp4 = v4(TcpHeader.PROTOCOL, 20 + 32 + 3000);
        VirtioNetHeader.write(tcp4, HDR, VirtioNetHeader.F_NEEDS_CSUM, VirtioNetHeader.GSO_TCPV6, 52, 1000, 20, 16);
        assertInvalid("not IPv6 TCP", tcp4, tcp4.length - PKT);
        VirtioNetHeader.write(tcp4, HDR, VirtioNetHeader.F_NEEDS_CSUM, VirtioNetHeader.GSO_UDP_L4, 52, 1000, 20, 16);
        assertInvalid("not UDP", tcp4, tcp4.length - PKT);
        byte[] icmp = v4(1, 20 + 8 + 3000);
        VirtioNetHeader.write(icmp, HDR, 0, VirtioNetHeader.GSO_TCPV4, 28, 1000, 0, 0);
        assertInvalid("not IPv4 TCP", icmp, icmp.length - PKT);
        byte[] tcp6 = v6Tcp(40 + 20 + 5000);
        VirtioNetHeader.write(tcp6, HDR, VirtioNetHeader.F_NEEDS_CSUM, VirtioNetHeader.GSO_TCPV4, 60, 1208, 40, 16);
        assertInvalid("not IPv4 TCP", tcp6, tcp6.length - PKT);
    }

    @Test
    void offsetsPastThePacketAreRefused() {
        byte[] tcp4 = v4(TcpHeader.PROTOCOL, 20 + 32 + 100);
        int len = tcp4.length - PKT;
        VirtioNetHeader.write(tcp4, HDR, VirtioNetHeader.F_NEEDS_CSUM, VirtioNetHeader.GSO_NONE, 52, 0, len - 17, 16);
        assertInvalid("checksum field", tcp4, len);
        VirtioNetHeader.write(tcp4, HDR, VirtioNetHeader.F_NEEDS_CSUM, VirtioNetHeader.GSO_NONE, 52, 0, 20, len);
        assertInvalid("checksum field", tcp4, len);
        VirtioNetHeader.write(tcp4, HDR, 0, VirtioNetHeader.GSO_NONE, len + 1, 0, 0, 0);
        assertInvalid("header length", tcp4, len);
        VirtioNetHeader.writePlain(tcp4, HDR);
        assertInvalid("no packet", tcp4, 0);
    }

    @Test
    void unknownOrInconsistentFieldsAreRefused() {
        byte[] tcp4 = v4(TcpHeader.PROTOCOL, 20 + 32 + 3000);
        int len = tcp4.length - PKT;
        VirtioNetHeader.write(tcp4, HDR, VirtioNetHeader.F_NEEDS_CSUM, VirtioNetHeader.GSO_TCPV4, 52, 0, 20, 16);
        assertInvalid("gso_size 0", tcp4, len);
        VirtioNetHeader.write(tcp4, HDR, 0x10, VirtioNetHeader.GSO_NONE, 0, 0, 0, 0);
        assertInvalid("unknown flags", tcp4, len);
        VirtioNetHeader.write(tcp4, HDR, VirtioNetHeader.F_NEEDS_CSUM, VirtioNetHeader.GSO_UDP, 52, 1000, 20, 16);
        assertInvalid("not enabled", tcp4, len);
        VirtioNetHeader.write(tcp4, HDR, 0, VirtioNetHeader.GSO_ECN, 0, 0, 0, 0);
        assertInvalid("ECN bit without", tcp4, len);
        byte[] udp = v4(UdpHeader.PROTOCOL, 20 + 8 + 4000);
        VirtioNetHeader.write(udp, HDR, 0, VirtioNetHeader.GSO_UDP_L4, 28, 1000, 0, 0);
        assertInvalid("partial checksum", udp, udp.length - PKT);
    }

    @Test
    void outboundHeadersFollowTheOffloadMarks() {
        byte[] tcp4 = v4(TcpHeader.PROTOCOL, 20 + 32 + 6000);
        int len = tcp4.length - PKT;
        assertNull(VirtioNetHeader.writeFor(tcp4, HDR, PKT, len, 1448, true, false));
        assertArrayEquals(new byte[] {1, 1, 52, 0, (byte) 0xa8, 0x05, 20, 0, 16, 0}, java.util.Arrays.copyOf(tcp4, 10));

        byte[] tcp6 = v6Tcp(40 + 20 + 5000);
        assertNull(VirtioNetHeader.writeFor(tcp6, HDR, PKT, tcp6.length - PKT, 1208, true, false));
        assertEquals(VirtioNetHeader.GSO_TCPV6, VirtioNetHeader.gsoType(tcp6, HDR));
        assertEquals(60, VirtioNetHeader.headerLength(tcp6, HDR));
        assertEquals(40, VirtioNetHeader.checksumStart(tcp6, HDR));

        // A partial checksum alone: NEEDS_CSUM, no segmentation.
        byte[] udp = v4(UdpHeader.PROTOCOL, 20 + 8 + 100);
        assertNull(VirtioNetHeader.writeFor(udp, HDR, PKT, udp.length - PKT, 0, true, false));
        assertArrayEquals(new byte[] {1, 0, 28, 0, 0, 0, 20, 0, 6, 0}, java.util.Arrays.copyOf(udp, 10));
        // Segmented UDP only where the kernel took USO.
        assertNotNull(VirtioNetHeader.writeFor(udp, HDR, PKT, udp.length - PKT, 50, true, false));
        assertNull(VirtioNetHeader.writeFor(udp, HDR, PKT, udp.length - PKT, 50, true, true));
        assertEquals(VirtioNetHeader.GSO_UDP_L4, VirtioNetHeader.gsoType(udp, HDR));

        // No marks: all zeros, whatever was there before.
        assertNull(VirtioNetHeader.writeFor(udp, HDR, PKT, udp.length - PKT, 0, false, false));
        assertArrayEquals(new byte[10], java.util.Arrays.copyOf(udp, 10));

        byte[] icmp = v4(1, 20 + 8);
        assertNotNull(VirtioNetHeader.writeFor(icmp, HDR, PKT, icmp.length - PKT, 0, true, false));
        assertNotNull(VirtioNetHeader.writeFor(new byte[12], HDR, PKT, 2, 0, true, false), "not IP");
    }
}
