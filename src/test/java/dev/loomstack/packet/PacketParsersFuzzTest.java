package dev.loomstack.packet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Fuzz targets for every header view and option parser of the packet package. Each target takes
 * raw bytes (so the checked-in seeds under {@code PacketParsersFuzzTestInputs/<method>} are plain
 * packets) and asserts that no exception escapes, that every offset a view reports stays inside
 * the bytes it was given, and that what the writers produce parses back to the same values.
 *
 * <p>The bytes under test sit at a non-zero offset in an array that ends exactly where they end,
 * so a read before the offset or past the end shows up as an exception.
 */
class PacketParsersFuzzTest {
    /** Bytes in front of the packet, so views are exercised at an offset other than zero. */
    private static final int LEAD = 5;
    private static final IpAddress V4_SRC = IpAddress.parse("100.64.0.2");
    private static final IpAddress V4_DST = IpAddress.parse("198.18.1.2");
    private static final IpAddress V6_SRC = IpAddress.parse("fd7a:115c:a1e0::2");
    private static final IpAddress V6_DST = IpAddress.parse("2001:db8:1::2");

    private static byte[] atLead(byte[] data) {
        byte[] b = new byte[LEAD + data.length];
        System.arraycopy(data, 0, b, LEAD, data.length);
        return b;
    }

    // ---- IPv4 ----------------------------------------------------------------------------------

    @FuzzTest(maxDuration = "20s")
    void ipv4Header(byte[] data) {
        byte[] b = atLead(data);
        checkIpv4(b, data.length);
        // Most inputs fail the header checksum; repair it so the fuzzer reaches the options walk.
        if (data.length >= Ipv4Header.MIN_LENGTH) {
            int hl = (b[LEAD] & 0x0f) * 4;
            if (hl >= Ipv4Header.MIN_LENGTH && hl <= data.length) {
                Bytes.put16(b, LEAD + 10, 0);
                Bytes.put16(b, LEAD + 10, Checksum.compute(b, LEAD, hl));
                checkIpv4(b, data.length);
            }
        }
        // The writer's header always validates and reads back what was written.
        if (data.length >= 12) {
            byte[] w = new byte[LEAD + Ipv4Header.MIN_LENGTH + 8];
            int total = Ipv4Header.MIN_LENGTH + 8;
            int id = Bytes.u16(data, 0);
            int word = Bytes.u16(data, 2);
            IpAddress src = IpAddress.ofV4(Bytes.i32(data, 4));
            IpAddress dst = IpAddress.ofV4(Bytes.i32(data, 8));
            Ipv4Header.write(w, LEAD, total, id, word, data[0] & 0xff, data[1] & 0xff, src, dst);
            Ipv4Header h = new Ipv4Header().wrap(w, LEAD, total);
            assertEquals(Ipv4Header.Validity.OK, h.validate());
            assertEquals(id, h.identification());
            assertEquals((word & 0x1fff) * 8, h.fragmentOffset());
            assertEquals((word & Ipv4Header.FLAG_MORE_FRAGMENTS) != 0, h.moreFragments());
            assertEquals(data[0] & 0xff, h.ttl());
            assertEquals(data[1] & 0xff, h.protocol());
            assertEquals(src, h.source());
            assertEquals(dst, h.destination());
        }
    }

    private static void checkIpv4(byte[] b, int len) {
        Ipv4Header h = new Ipv4Header().wrap(b, LEAD, len);
        if (h.validate() != Ipv4Header.Validity.OK) {
            return;
        }
        int hl = h.headerLength();
        assertTrue(hl >= Ipv4Header.MIN_LENGTH && hl <= Ipv4Header.MAX_LENGTH && hl <= h.totalLength());
        assertTrue(h.totalLength() <= len);
        assertEquals(LEAD + h.totalLength(), h.payloadOffset() + h.payloadLength());
        assertTrue(h.payloadLength() >= 0);
        assertEquals(0, h.fragmentOffset() % 8);
        assertEquals(h.moreFragments() || h.fragmentOffset() != 0, h.isFragment());
        h.dontFragment();
        h.ttl();
        h.protocol();
        assertEquals(4, h.source().byteLength());
        assertEquals(4, h.destination().byteLength());
        int[] seen = {0};
        h.walkOptions(type -> {
            assertTrue(type != Ipv4Header.OPTION_END && type != Ipv4Header.OPTION_NOP, "END and NOP are not reported");
            seen[0]++;
        });
        // Every reported option takes at least two bytes of the at most 40 bytes of options.
        assertTrue(seen[0] <= (hl - Ipv4Header.MIN_LENGTH) / 2);
    }

    // ---- IPv6 and extension headers -----------------------------------------------------------

    @FuzzTest(maxDuration = "20s")
    void ipv6Header(byte[] data) {
        byte[] b = atLead(data);
        checkIpv6(b, data.length);
        // Make the payload length agree with the bytes at hand so the chain walk is reached.
        if (data.length >= Ipv6Header.LENGTH && data.length - Ipv6Header.LENGTH <= 0xffff) {
            Bytes.put16(b, LEAD + 4, data.length - Ipv6Header.LENGTH);
            checkIpv6(b, data.length);
        }
        // The fragment header writer and the fixed header writer read back.
        if (data.length >= 8) {
            int payload = Ipv6Header.FRAGMENT_HEADER_LENGTH + 8;
            byte[] w = new byte[LEAD + Ipv6Header.LENGTH + payload];
            Ipv6Header.write(w, LEAD, payload, Ipv6Header.FRAGMENT, data[0] & 0xff, V6_SRC, V6_DST);
            int offset = Bytes.u16(data, 1) & 0xfff8;
            boolean more = (data[3] & 1) != 0;
            long id = Bytes.u32(data, 4);
            Ipv6Header.writeFragmentHeader(w, LEAD + Ipv6Header.LENGTH, 17, offset, more, id);
            Ipv6Header h = new Ipv6Header().wrap(w, LEAD, w.length - LEAD);
            assertEquals(Ipv6Header.Validity.OK, h.validate());
            assertEquals(Ipv6Header.Validity.OK, h.walk());
            assertTrue(h.hasFragmentHeader());
            assertEquals(offset, h.fragmentOffset());
            assertEquals(more, h.moreFragments());
            assertEquals(id, h.fragmentIdentification());
            assertEquals(offset != 0 || more, h.isFragment());
            assertEquals(17, h.transportProtocol());
            assertEquals(data[0] & 0xff, h.hopLimit());
            assertEquals(V6_SRC, h.source());
            assertEquals(V6_DST, h.destination());
        }
    }

    private static void checkIpv6(byte[] b, int len) {
        Ipv6Header h = new Ipv6Header().wrap(b, LEAD, len);
        if (h.validate() != Ipv6Header.Validity.OK) {
            return;
        }
        int end = LEAD + h.totalLength();
        assertTrue(h.totalLength() <= len);
        assertEquals(16, h.source().byteLength());
        assertEquals(16, h.destination().byteLength());
        if (h.walk() != Ipv6Header.Validity.OK) {
            return;
        }
        int t = h.transportOffset();
        assertTrue(t >= LEAD + Ipv6Header.LENGTH && t <= end, "transport offset " + t + " outside the packet");
        assertEquals(end - t, h.transportLength());
        assertTrue(h.fragmentablePartOffset() >= LEAD + Ipv6Header.LENGTH && h.fragmentablePartOffset() <= t);
        if (h.hasFragmentHeader()) {
            int f = h.fragmentHeaderOffset();
            assertTrue(f >= LEAD + Ipv6Header.LENGTH && f + Ipv6Header.FRAGMENT_HEADER_LENGTH <= t);
            assertEquals(0, h.fragmentOffset() % 8);
            h.moreFragments();
            h.fragmentIdentification();
        } else {
            assertFalse(h.isFragment());
        }
        // Bounded work: at most MAX_EXTENSION_HEADERS headers of at least eight bytes were walked.
        assertTrue(t - LEAD - Ipv6Header.LENGTH <= Ipv6Header.MAX_EXTENSION_HEADERS * 2048);
    }

    // ---- TCP and its options -------------------------------------------------------------------

    @FuzzTest(maxDuration = "20s")
    void tcpHeaderAndOptions(byte[] data) {
        byte[] b = atLead(data);
        TcpOptions o = new TcpOptions();
        if (data.length >= TcpHeader.MIN_LENGTH) {
            TcpHeader.sourcePort(b, LEAD);
            TcpHeader.destinationPort(b, LEAD);
            TcpHeader.sequence(b, LEAD);
            TcpHeader.acknowledgment(b, LEAD);
            TcpHeader.window(b, LEAD);
            TcpHeader.checksum(b, LEAD);
            assertFalse(TcpHeader.flagString(TcpHeader.flags(b, LEAD)).isEmpty() && TcpHeader.flags(b, LEAD) != 0);
            int hl = TcpHeader.headerLength(b, LEAD);
            assertTrue(hl <= TcpHeader.MAX_LENGTH && hl % 4 == 0);
            if (hl >= TcpHeader.MIN_LENGTH && hl <= data.length && o.parse(b, LEAD + TcpHeader.MIN_LENGTH, LEAD + hl)) {
                checkOptionRanges(o);
                roundTrip(o);
            }
        }
        // The option parser on its own, over every byte given (longer than any real header).
        if (o.parse(b, LEAD, b.length)) {
            checkOptionRanges(o);
            roundTrip(o);
        }
        // A written header with the input as payload carries a checksum that verifies.
        int seg = TcpHeader.MIN_LENGTH + data.length;
        byte[] w = new byte[LEAD + seg];
        System.arraycopy(data, 0, w, LEAD + TcpHeader.MIN_LENGTH, data.length);
        TcpHeader.write(w, LEAD, 40000, 80, data.length, ~data.length, TcpHeader.MIN_LENGTH,
                data.length == 0 ? 0 : data[0] & 0xff, 65535);
        TcpHeader.fillChecksum(w, LEAD, seg, V4_SRC, V4_DST);
        assertTrue(Checksum.verifies(Checksum.add(Checksum.pseudoHeader(V4_SRC, V4_DST, TcpHeader.PROTOCOL, seg), w, LEAD, seg)));
        assertEquals(TcpHeader.MIN_LENGTH, TcpHeader.headerLength(w, LEAD));
    }

    private static void checkOptionRanges(TcpOptions o) {
        assertTrue(o.mss >= -1 && o.mss <= 0xffff);
        assertTrue(o.windowScale >= -1 && o.windowScale <= TcpOptions.MAX_WINDOW_SCALE);
        assertTrue(o.sackCount >= 0 && o.sackCount <= TcpOptions.MAX_SACK_BLOCKS);
    }

    /** Writes what was parsed with the option writers (as far as 40 bytes hold) and parses it again. */
    private static void roundTrip(TcpOptions o) {
        byte[] w = new byte[LEAD + 40];
        int n = LEAD;
        if (o.mss >= 0) {
            n += TcpOptions.writeMss(w, n, o.mss);
        }
        if (o.windowScale >= 0) {
            n += TcpOptions.writeWindowScale(w, n, o.windowScale);
        }
        if (o.sackPermitted) {
            n += TcpOptions.writeSackPermitted(w, n);
        }
        if (o.hasTimestamps) {
            n += TcpOptions.writeTimestamps(w, n, o.tsVal, o.tsEcr);
        }
        int blocks = Math.min(o.sackCount, (LEAD + 40 - n - 4) / 8);
        if (blocks > 0) {
            n += TcpOptions.writeSack(w, n, o.sackStart, o.sackEnd, blocks);
        }
        TcpOptions back = new TcpOptions();
        assertTrue(back.parse(w, LEAD, n));
        assertEquals(o.mss, back.mss);
        assertEquals(o.windowScale, back.windowScale);
        assertEquals(o.sackPermitted, back.sackPermitted);
        assertEquals(o.hasTimestamps, back.hasTimestamps);
        if (o.hasTimestamps) {
            assertEquals(o.tsVal, back.tsVal);
            assertEquals(o.tsEcr, back.tsEcr);
        }
        assertEquals(Math.max(blocks, 0), back.sackCount);
        for (int k = 0; k < back.sackCount; k++) {
            assertEquals(o.sackStart[k], back.sackStart[k]);
            assertEquals(o.sackEnd[k], back.sackEnd[k]);
        }
    }

    // ---- UDP, ICMPv4, ICMPv6 and the checksum --------------------------------------------------

    @FuzzTest(maxDuration = "15s")
    void udpIcmpAndChecksum(byte[] data) {
        byte[] b = atLead(data);
        if (data.length >= UdpHeader.LENGTH) {
            UdpHeader.sourcePort(b, LEAD);
            UdpHeader.destinationPort(b, LEAD);
            assertTrue(UdpHeader.length(b, LEAD) <= 0xffff);
            UdpHeader.checksum(b, LEAD);
            int type = IcmpHeader.type(b, LEAD);
            IcmpHeader.code(b, LEAD);
            IcmpHeader.checksum(b, LEAD);
            IcmpHeader.identifier(b, LEAD);
            IcmpHeader.sequence(b, LEAD);
            assertTrue(IcmpHeader.restOfHeader(b, LEAD) >= 0);
            assertEquals(type < 128, IcmpHeader.Icmpv6.isError(type));
            IcmpHeader.Icmpv4.isError(type);
        }
        // The one's-complement sum agrees with RFC 1071's plain 16-bit loop, at any offset and length.
        int from = data.length == 0 ? 0 : (data[0] & 0xff) % (data.length + 1);
        int len = data.length - from;
        assertEquals(referenceChecksum(b, LEAD + from, len), Checksum.compute(b, LEAD + from, len));
        // UDP: the written checksum verifies with the pseudo-header, and is never sent as zero.
        boolean six = data.length > 0 && (data[data.length - 1] & 1) != 0;
        IpAddress src = six ? V6_SRC : V4_SRC;
        IpAddress dst = six ? V6_DST : V4_DST;
        int payload = Math.min(data.length, 1400);
        byte[] u = new byte[LEAD + UdpHeader.LENGTH + payload];
        System.arraycopy(data, 0, u, LEAD + UdpHeader.LENGTH, payload);
        UdpHeader.write(u, LEAD, 40000, 53, payload, src, dst);
        int ulen = UdpHeader.LENGTH + payload;
        assertEquals(ulen, UdpHeader.length(u, LEAD));
        assertTrue(UdpHeader.checksum(u, LEAD) != 0, "RFC 768: a zero checksum means none");
        assertTrue(Checksum.verifies(Checksum.add(Checksum.pseudoHeader(src, dst, UdpHeader.PROTOCOL, ulen), u, LEAD, ulen)));
        // ICMP: both checksums verify over what they cover.
        if (data.length >= IcmpHeader.LENGTH) {
            byte[] m = b.clone();
            IcmpHeader.writeHeader(m, LEAD, data[0] & 0xff, data[1] & 0xff, Bytes.u32(data, 4));
            assertEquals(Bytes.u32(data, 4), IcmpHeader.restOfHeader(m, LEAD));
            IcmpHeader.fillChecksumV4(m, LEAD, data.length);
            assertEquals(0, Checksum.compute(m, LEAD, data.length));
            IcmpHeader.fillChecksumV6(m, LEAD, data.length, V6_SRC, V6_DST);
            assertTrue(Checksum.verifies(Checksum.add(
                    Checksum.pseudoHeader(V6_SRC, V6_DST, IcmpHeader.Icmpv6.PROTOCOL, data.length), m, LEAD, data.length)));
        }
    }

    /** RFC 1071 section 4.1, one 16-bit word at a time. */
    private static int referenceChecksum(byte[] b, int off, int len) {
        long sum = 0;
        int i = 0;
        for (; i + 1 < len; i += 2) {
            sum += ((b[off + i] & 0xff) << 8) | (b[off + i + 1] & 0xff);
        }
        if (i < len) {
            sum += (b[off + i] & 0xff) << 8;
        }
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        return (int) (~sum & 0xffff);
    }

    // ---- address and prefix text ---------------------------------------------------------------

    @FuzzTest(maxDuration = "15s")
    void addressText(byte[] data) {
        String s = new String(data, StandardCharsets.UTF_8);
        IpAddress a;
        try {
            a = IpAddress.parse(s);
        } catch (IllegalArgumentException refused) {
            // The documented rejection.
            a = null;
        }
        if (a != null) {
            // RFC 4291 section 2.2 and RFC 791: address text is ASCII hex digits, colons and dots.
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                assertTrue(c < 128 && (Character.digit(c, 16) >= 0 || c == ':' || c == '.'),
                        "accepted a non-ASCII or stray character in '" + s + "'");
            }
            assertEquals(a, IpAddress.parse(a.toString()), "the text form parses back");
            assertArrayEquals(javaBytes(s, a), a.toBytes(), "the JDK reads '" + s + "' differently");
        }
        try {
            IpPrefix p = IpPrefix.parseLenient(s);
            assertTrue(p.bits() >= 0 && p.bits() <= p.address().bitLength());
            assertEquals(p, IpPrefix.parseLenient(p.toString()));
            IpPrefix m = p.masked();
            assertTrue(m.contains(p.address()));
            assertEquals(m, IpPrefix.parseStrict(m.toString()));
        } catch (IllegalArgumentException refused) {
            // The documented rejection.
        }
    }

    /** The JDK's reading of an address literal ours accepted, as 4 or 16 bytes. */
    private static byte[] javaBytes(String s, IpAddress ours) {
        InetAddress j = InetAddress.ofLiteral(s);
        byte[] jb = j.getAddress();
        if (ours.isV6() && jb.length == 4) {
            // The JDK turns IPv4-mapped IPv6 text into an IPv4 address.
            byte[] mapped = new byte[16];
            mapped[10] = (byte) 0xff;
            mapped[11] = (byte) 0xff;
            System.arraycopy(jb, 0, mapped, 12, 4);
            return mapped;
        }
        return Arrays.copyOf(jb, jb.length);
    }
}
