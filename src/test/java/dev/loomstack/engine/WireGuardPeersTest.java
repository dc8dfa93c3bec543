package dev.loomstack.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.wireguard.WireGuardKey;
import dev.loomstack.wireguard.WireGuardPeerConfig;
import dev.loomstack.packet.IpPrefix;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A netmap becomes the WireGuard link's peer list: every peer with a key, allowed IPs its addresses
 * plus its allowedIPs, its endpoint resolved, its pre-shared key read from the file it names; each
 * thing that cannot be configured is an error naming the field.
 */
class WireGuardPeersTest {
    static final WireGuardKey OWN = key(1);
    static final WireGuardKey LAPTOP = key(2);
    static final WireGuardKey PHONE = key(3);
    static final WireGuardKey PSK = key(9);
    /** Names that resolve here, standing in for DNS. */
    static final WireGuardPeer.Endpoint.Resolver RESOLVER = host -> {
        InetAddress a = Map.of("peer.example", InetAddress.getByAddress("peer.example", new byte[] {(byte) 198, 51, 100, 9}))
                .get(host);
        if (a == null) {
            throw new UnknownHostException(host);
        }
        return a;
    };

    @TempDir
    Path pskDir;

    static WireGuardKey key(int fill) {
        byte[] b = new byte[WireGuardKey.LENGTH];
        Arrays.fill(b, (byte) fill);
        return WireGuardKey.of(b);
    }

    static List<IpPrefix> prefixes(String... text) {
        return Arrays.stream(text).map(IpPrefix::parseStrict).toList();
    }

    static Node peer(String name, List<IpPrefix> addresses, List<IpPrefix> allowed, WireGuardPeer wg) {
        return new Node(name, addresses, allowed, Optional.ofNullable(wg));
    }

    static NetworkMap map(Node... peers) {
        return new NetworkMap(new Node("router-1", prefixes("100.64.0.1/32"), prefixes("100.64.0.1/32")),
                List.of(peers), "");
    }

    WireGuardPeers peers() {
        return new WireGuardPeers(OWN, pskDir, RESOLVER);
    }

    NetworkMap.InvalidException refused(NetworkMap map) {
        return assertThrows(NetworkMap.InvalidException.class, () -> peers().configsOf(map));
    }

    @Test
    void peersWithAKeyBecomeLinkPeersWithTheirAddressesAndAllowedIps() throws Exception {
        Files.writeString(pskDir.resolve("laptop.psk"), PSK.toBase64() + "\n");
        NetworkMap m = map(
                peer("laptop", prefixes("100.64.0.2/32", "fd7a:115c:a1e0::2/128"), prefixes("192.168.7.0/24", "100.64.0.2/32"),
                        new WireGuardPeer(LAPTOP, Optional.of("198.51.100.7:51820"), Optional.of("laptop.psk"), 25)),
                peer("tun-only", prefixes("100.64.0.4/32"), List.of(), null),
                peer("phone", prefixes("100.64.0.3/32"), List.of(),
                        new WireGuardPeer(PHONE, Optional.of("[2001:db8::3]:41641"), Optional.empty(), 0)));
        List<WireGuardPeerConfig> configs = peers().configsOf(m);
        assertEquals(2, configs.size(), "a peer without a key is no WireGuard peer");
        WireGuardPeerConfig laptop = configs.get(0);
        assertEquals(LAPTOP, laptop.publicKey());
        assertEquals(prefixes("100.64.0.2/32", "fd7a:115c:a1e0::2/128", "192.168.7.0/24"), laptop.allowedIps(),
                "addresses then allowedIPs, each once (Tailscale's netmap does the same)");
        assertEquals(Optional.of(new InetSocketAddress(InetAddress.getByName("198.51.100.7"), 51820)), laptop.endpoint());
        assertEquals(Optional.of(PSK), laptop.presharedKey(), "read from the file the reference names");
        assertEquals(Duration.ofSeconds(25), laptop.persistentKeepalive());
        WireGuardPeerConfig phone = configs.get(1);
        assertEquals(PHONE, phone.publicKey());
        assertEquals(Optional.of(new InetSocketAddress(InetAddress.getByName("2001:db8::3"), 41641)), phone.endpoint());
        assertEquals(Optional.empty(), phone.presharedKey());
        assertEquals(Duration.ZERO, phone.persistentKeepalive());
        assertFalse(laptop.toString().contains(PSK.toBase64()), "the pre-shared key never reaches a log line");
    }

    @Test
    void hostNamesAreResolvedWhenApplied() throws Exception {
        WireGuardPeerConfig c = peers().configsOf(map(peer("laptop", prefixes("100.64.0.2/32"), List.of(),
                new WireGuardPeer(LAPTOP, Optional.of("peer.example:51820"), Optional.empty(), 0)))).get(0);
        assertEquals(Optional.of(new InetSocketAddress(InetAddress.getByName("198.51.100.9"), 51820)), c.endpoint());
        assertTrue(c.endpoint().get().getAddress() != null && !c.endpoint().get().isUnresolved());
    }

    @Test
    void anEndpointThatDoesNotResolveIsNamed() {
        NetworkMap.InvalidException e = refused(map(peer("laptop", prefixes("100.64.0.2/32"), List.of(), WireGuardPeer.of(PHONE)),
                peer("phone", prefixes("100.64.0.3/32"), List.of(),
                        new WireGuardPeer(LAPTOP, Optional.of("nowhere.invalid:51820"), Optional.empty(), 0))));
        assertEquals("peers[1].endpoint", e.field());
        assertTrue(e.reason().contains("nowhere.invalid"), e.reason());
    }

    @Test
    void thisRoutersOwnKeyIsNoPeersKey() {
        assertEquals("peers[0].publicKey",
                refused(map(peer("me", prefixes("100.64.0.2/32"), List.of(), WireGuardPeer.of(OWN)))).field());
    }

    @Test
    void aMissingPresharedKeyFileIsNamed() {
        NetworkMap.InvalidException e = refused(map(peer("laptop", prefixes("100.64.0.2/32"), List.of(),
                new WireGuardPeer(LAPTOP, Optional.empty(), Optional.of("absent.psk"), 0))));
        assertEquals("peers[0].presharedKey", e.field());
        assertTrue(e.reason().contains("absent.psk"), e.reason());
    }

    @Test
    void aPresharedKeyFileThatHoldsNoKeyIsNamedWithoutItsContent() throws Exception {
        Files.writeString(pskDir.resolve("bad.psk"), "c2VjcmV0LWJ1dC1ub3QtYS1rZXk=\n");
        NetworkMap.InvalidException e = refused(map(peer("laptop", prefixes("100.64.0.2/32"), List.of(),
                new WireGuardPeer(LAPTOP, Optional.empty(), Optional.of("bad.psk"), 0))));
        assertEquals("peers[0].presharedKey", e.field());
        assertFalse(e.getMessage().contains("c2VjcmV0"), e.getMessage());
        Files.write(pskDir.resolve("huge.psk"), new byte[64 * 1024]);
        assertEquals("peers[0].presharedKey", refused(map(peer("laptop", prefixes("100.64.0.2/32"), List.of(),
                new WireGuardPeer(LAPTOP, Optional.empty(), Optional.of("huge.psk"), 0)))).field());
    }

    @Test
    void aReferenceCannotLeaveTheDirectory() throws Exception {
        Files.writeString(pskDir.resolveSibling("outside.psk"), PSK.toBase64());
        for (String name : new String[] {"../outside.psk", "a/b", "..", ".", "..data"}) {
            assertThrows(IllegalArgumentException.class,
                    () -> new WireGuardPeer(LAPTOP, Optional.empty(), Optional.of(name), 0), name);
        }
        Files.createDirectory(pskDir.resolve("dir.psk"));
        assertEquals("peers[0].presharedKey", refused(map(peer("laptop", prefixes("100.64.0.2/32"), List.of(),
                new WireGuardPeer(LAPTOP, Optional.empty(), Optional.of("dir.psk"), 0)))).field(), "not a file");
    }

    @Test
    void twoPeersWithOneKeyAreRefusedNamingTheSecond() {
        NetworkMap.InvalidException e = assertThrows(NetworkMap.InvalidException.class, () -> map(
                peer("a", prefixes("100.64.0.2/32"), List.of(), WireGuardPeer.of(LAPTOP)),
                peer("b", prefixes("100.64.0.3/32"), List.of(), WireGuardPeer.of(PHONE)),
                peer("c", prefixes("100.64.0.4/32"), List.of(), WireGuardPeer.of(LAPTOP))));
        assertEquals("peers[2].publicKey", e.field());
        assertTrue(e.reason().contains("peers[0]"), e.reason());
    }

    @Test
    void endpointsAndKeepalivesAreCheckedAsWritten() {
        for (String bad : new String[] {"198.51.100.7", "198.51.100.7:0", "198.51.100.7:65536", "198.51.100.7:http",
                "2001:db8::1:51820", "[198.51.100.7]:51820", "bad host:1", ":51820", "[2001:db8::1]:"}) {
            assertThrows(IllegalArgumentException.class, () -> WireGuardPeer.Endpoint.parse(bad), bad);
        }
        assertEquals(new WireGuardPeer.Endpoint("2001:db8::1", 51820), WireGuardPeer.Endpoint.parse("[2001:db8::1]:51820"));
        assertEquals(new WireGuardPeer.Endpoint("peer.example", 1), WireGuardPeer.Endpoint.parse("peer.example:1"));
        assertThrows(IllegalArgumentException.class, () -> new WireGuardPeer(LAPTOP, Optional.empty(), Optional.empty(), -1));
        assertThrows(IllegalArgumentException.class,
                () -> new WireGuardPeer(LAPTOP, Optional.empty(), Optional.empty(), 65_536));
        assertEquals(65_535, new WireGuardPeer(LAPTOP, Optional.empty(), Optional.empty(), 65_535).persistentKeepalive());
    }
}
