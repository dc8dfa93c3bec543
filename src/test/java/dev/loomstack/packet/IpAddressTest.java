package dev.loomstack.packet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class IpAddressTest {
    @ParameterizedTest
    @CsvSource({
        "100.64.0.1, 100.64.0.1",
        "0.0.0.0, 0.0.0.0",
        "255.255.255.255, 255.255.255.255",
        "fd7a:115c:a1e0::1, fd7a:115c:a1e0::1",
        "FD7A:115C:A1E0:0:0:0:0:53, fd7a:115c:a1e0::53",
        "::, ::",
        "::1, ::1",
        "2001:db8:0:0:1:0:0:1, 2001:db8::1:0:0:1",
        "2001:0:0:1:0:0:0:1, 2001:0:0:1::1",
        "1:0:2:0:3:0:4:0, 1:0:2:0:3:0:4:0",
        "::ffff:192.168.1.1, ::ffff:c0a8:101",
        "fe80::1:2, fe80::1:2"})
    void parsesAndFormatsCanonically(String text, String canonical) throws Exception {
        IpAddress a = IpAddress.parse(text);
        assertEquals(canonical, a.toString());
        assertArrayEquals(InetAddress.getByName(text).getAddress().length == a.byteLength()
                ? InetAddress.getByName(text).getAddress() : a.toBytes(), a.toBytes());
        assertEquals(a, IpAddress.parse(a.toString()));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.-4", "a.b.c.d", "1..2.3",
        ":::", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", ":1:2:3:4:5:6:7", "1:2:3:4:5:6:7:",
        "::g", "fe80::1%eth0", "1.2.3.4:", "example.com", "1:2:3:4:5:6:7:1.2.3.4",
        // Found by fuzzing: Character.digit also reads fullwidth and other non-ASCII digits as hex.
        "fd7a::\uff11", "\uff46\uff44\uff17a::1", "\u0663::1"})
    void rejectsWhatIsNotAnAddressLiteral(String text) {
        assertThrows(IllegalArgumentException.class, () -> IpAddress.parse(text));
    }

    @Test
    void ipv4IsNotItsMappedIpv6Form() {
        assertNotEquals(IpAddress.parse("1.2.3.4"), IpAddress.parse("::ffff:1.2.3.4"));
    }

    @Test
    void comparesAgainstPacketBytesWithoutBuildingAnAddress() {
        byte[] b = new byte[40];
        IpAddress v6 = IpAddress.parse("fd7a:115c:a1e0::1");
        v6.write(b, 8);
        assertTrue(v6.equalsAt(b, 8, 16));
        assertFalse(IpAddress.parse("fd7a:115c:a1e0::2").equalsAt(b, 8, 16));
        assertFalse(IpAddress.parse("100.64.0.1").equalsAt(b, 8, 16));
        assertEquals(v6, IpAddress.read(b, 8, 16));
    }

    @Test
    void masksAndClassifies() {
        assertEquals(IpAddress.parse("10.1.0.0"), IpAddress.parse("10.1.2.3").masked(16));
        assertEquals(IpAddress.parse("fd7a:115c:a1e0::"), IpAddress.parse("fd7a:115c:a1e0:b1a::9").masked(48));
        assertEquals(IpAddress.parse("fd7a:115c:a1e0:b1a:1::"), IpAddress.parse("fd7a:115c:a1e0:b1a:1:2:3:4").masked(80));
        assertTrue(IpAddress.parse("127.0.0.9").isLoopback());
        assertTrue(IpAddress.parse("::1").isLoopback());
        assertTrue(IpAddress.parse("224.0.0.1").isMulticast());
        assertTrue(IpAddress.parse("ff02::1").isMulticast());
        assertTrue(IpAddress.parse("169.254.169.254").isLinkLocalUnicast());
        assertTrue(IpAddress.parse("fe80::1").isLinkLocalUnicast());
        assertFalse(IpAddress.parse("fec0::1").isLinkLocalUnicast());
    }

    @Test
    void checksumWordsMatchTheBytes() {
        for (String s : new String[] {"100.64.0.1", "fd7a:115c:a1e0::53", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}) {
            IpAddress a = IpAddress.parse(s);
            byte[] b = a.toBytes();
            assertEquals(Checksum.fold(Checksum.add(0, b, 0, b.length)), Checksum.fold(a.checksumWords()), s);
        }
    }

    @Test
    void prefixes() {
        assertEquals("10.0.0.0/24", IpPrefix.parseStrict("10.0.0.0/24").toString());
        assertThrows(IllegalArgumentException.class, () -> IpPrefix.parseStrict("10.0.0.1/24"));
        assertThrows(IllegalArgumentException.class, () -> IpPrefix.parseStrict("10.0.0.0/33"));
        assertThrows(IllegalArgumentException.class, () -> IpPrefix.parseStrict("300.1.1.1/32"));
        assertThrows(IllegalArgumentException.class, () -> IpPrefix.parseStrict("10.0.0.0/"));
        assertThrows(IllegalArgumentException.class, () -> IpPrefix.parseStrict("10.0.0.0/+8"));
        assertEquals("10.0.0.0/24", IpPrefix.parse("10.0.0.7/24").toString());
        assertEquals("100.64.0.1/32", IpPrefix.parseStrict("100.64.0.1").toString());
        IpPrefix p = IpPrefix.parseStrict("fd7a:115c:a1e0::/48");
        assertTrue(p.contains(IpAddress.parse("fd7a:115c:a1e0:b1a::1")));
        assertFalse(p.contains(IpAddress.parse("100.64.0.1")));
        assertTrue(p.overlaps(IpPrefix.parseStrict("fd7a:115c:a1e0:b1a::/64")));
        assertFalse(IpPrefix.parseStrict("10.0.0.0/24").overlaps(IpPrefix.parseStrict("10.0.1.0/24")));
        assertTrue(IpPrefix.parseStrict("0.0.0.0/0").contains(IpAddress.parse("8.8.8.8")));
    }
}
