package dev.loomstack.wireguard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.IpPrefix;
import java.util.List;
import org.junit.jupiter.api.Test;

class AllowedIpsTest {
    private final AllowedIps<String> table = new AllowedIps<>();

    private static IpPrefix p(String s) {
        return IpPrefix.parse(s);
    }

    private String at(String address) {
        IpAddress a = IpAddress.parse(address);
        String viaValue = table.lookup(a);
        // The packet-bytes lookups must agree with the value lookup.
        byte[] bytes = a.toBytes();
        String viaBytes = a.v4() ? table.lookupV4(bytes, 0) : table.lookupV6(bytes, 0);
        assertEquals(viaValue, viaBytes, "byte and value lookups of " + address);
        return viaValue;
    }

    @Test
    void theLongestMatchingPrefixWinsForIpv4() {
        table.set("wide", List.of(p("10.0.0.0/8")));
        table.set("narrow", List.of(p("10.1.0.0/16")));
        table.set("host", List.of(p("10.1.2.3/32")));
        assertEquals("wide", at("10.200.0.1"));
        assertEquals("narrow", at("10.1.9.9"));
        assertEquals("host", at("10.1.2.3"));
        assertEquals("narrow", at("10.1.2.4"));
        assertNull(at("11.0.0.1"));
    }

    @Test
    void theLongestMatchingPrefixWinsForIpv6AndFamiliesStayApart() {
        table.set("tailnet", List.of(p("fd7a:115c:a1e0::/48"), p("100.64.0.0/10")));
        table.set("one", List.of(p("fd7a:115c:a1e0:ab12::/64")));
        table.set("host", List.of(p("fd7a:115c:a1e0:ab12::1/128")));
        table.set("default6", List.of(p("::/0")));
        assertEquals("tailnet", at("fd7a:115c:a1e0::5"));
        assertEquals("one", at("fd7a:115c:a1e0:ab12::2"));
        assertEquals("host", at("fd7a:115c:a1e0:ab12::1"));
        assertEquals("default6", at("2001:db8::1"));
        assertEquals("tailnet", at("100.100.1.1"));
        // ::/0 is IPv6 only: an IPv4 address outside 100.64/10 has no peer.
        assertNull(at("198.51.100.1"));
    }

    @Test
    void aDefaultRouteCatchesEverythingOfItsFamily() {
        table.set("exit", List.of(p("0.0.0.0/0")));
        table.set("lan", List.of(p("192.168.1.0/24")));
        assertEquals("exit", at("8.8.8.8"));
        assertEquals("lan", at("192.168.1.77"));
    }

    @Test
    void removingAPeerTakesAllItsPrefixesAndUncoversShorterOnes() {
        table.set("wide", List.of(p("10.0.0.0/8")));
        table.set("narrow", List.of(p("10.1.0.0/16"), p("fd00::/8")));
        assertEquals("narrow", at("10.1.0.1"));
        table.removePeer("narrow");
        assertEquals("wide", at("10.1.0.1"));
        assertNull(at("fd00::1"));
        assertEquals(List.of(), table.prefixesOf("narrow"));
    }

    @Test
    void anOverlappingPrefixMovesToTheLastPeerGivenItAndSetReplaces() {
        table.set("first", List.of(p("10.0.0.0/24"), p("10.0.1.0/24")));
        table.set("second", List.of(p("10.0.0.0/24")));
        assertEquals("second", at("10.0.0.9"));
        assertEquals("first", at("10.0.1.9"));
        assertEquals(List.of(p("10.0.1.0/24")), table.prefixesOf("first"));
        // Setting again replaces the peer's prefixes; host bits are masked.
        table.set("first", List.of(IpPrefix.parseLenient("10.0.2.7/24")));
        assertNull(at("10.0.1.9"));
        assertEquals("first", at("10.0.2.1"));
        assertEquals(List.of(p("10.0.2.0/24")), table.prefixesOf("first"));
    }

    @Test
    void replacingTheWholeTableKeepsOrderForOverlapsAndDropsPeersNotNamed() {
        table.set("old", List.of(p("10.9.0.0/16")));
        table.replaceAll(List.of(java.util.Map.entry("one", List.of(p("10.0.0.0/8"), p("10.1.0.0/16"))),
                java.util.Map.entry("two", List.of(p("10.1.0.0/16"), p("2001:db8::/32")))));
        assertEquals("two", at("10.1.0.1"), "the later peer takes a prefix named twice");
        assertEquals("one", at("10.9.0.1"), "the old peer's prefix is gone, the shorter one covers it");
        assertEquals("two", at("2001:db8::1"));
        assertEquals(List.of(), table.prefixesOf("old"));
    }
}
