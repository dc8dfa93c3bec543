package dev.loomstack.config;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.config.StateStore.CorruptStateException;
import dev.loomstack.config.StateStore.SavedLimits;
import dev.loomstack.config.StateStore.State;
import dev.loomstack.engine.InFlightLimits;
import dev.loomstack.engine.NetworkMap;
import dev.loomstack.engine.Node;
import dev.loomstack.engine.WireGuardPeer;
import dev.loomstack.wireguard.WireGuardKey;
import dev.loomstack.packet.IpPrefix;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code state.json} as files on disk: what earlier versions wrote still loads, what this one
 * writes is pinned byte for byte, and a persisted or initial netmap is checked as strictly as the
 * engine takes it, a bad one stopping the boot with {@link CorruptStateException}.
 */
class StateStoreTest {
    /** What {@code state-api-documents.json} holds: a self node with a route, two peers, limits. */
    static final NetworkMap SAMPLE_MAP = new NetworkMap(
            new Node("router-1", prefixes("100.64.0.1/32", "fd7a:115c:a1e0::1/128"),
                    prefixes("100.64.0.1/32", "fd7a:115c:a1e0::1/128", "10.0.0.0/24")),
            List.of(new Node("laptop", prefixes("100.64.0.2/32", "fd7a:115c:a1e0::2/128"), null),
                    new Node("phone", prefixes("100.64.0.3/32"), prefixes("100.64.0.3/32"))),
            "tail.example");
    static final InFlightLimits SAMPLE_LIMITS = new InFlightLimits(100, 50, 10_000);

    @TempDir
    Path dir;

    static List<IpPrefix> prefixes(String... text) {
        return Arrays.stream(text).map(IpPrefix::parseStrict).toList();
    }

    byte[] resource(String name) throws IOException {
        try (InputStream in = getClass().getResourceAsStream(name)) {
            return in.readAllBytes();
        }
    }

    StateStore storeWith(String resource) throws IOException {
        Files.write(dir.resolve(StateStore.FILE_NAME), resource(resource));
        return new StateStore(dir);
    }

    StateStore storeWithText(String json) throws IOException {
        Files.writeString(dir.resolve(StateStore.FILE_NAME), json);
        return new StateStore(dir);
    }

    /**
     * Written by the service while {@code state.json} held the admin API's request documents
     * (PUT /api/v1/netmap and /limits through the running service): the derived validation flags
     * {@code selfAddressed} and {@code perClientWithinGlobal} are in it, and a peer's omitted
     * {@code allowedIPs} is a null.
     */
    @Test
    void aFileWrittenWhenItHeldTheApiDocumentsLoads() throws IOException {
        State s = storeWith("state-api-documents.json").load();
        assertEquals(SAMPLE_MAP, s.netmap());
        assertEquals(SAMPLE_LIMITS, s.limits().over(InFlightLimits.forThisJvm()));
    }

    @Test
    void theNullsOfAMinimalApiDocumentLoadAsEmpty() throws IOException {
        State s = storeWith("state-api-documents-minimal.json").load();
        assertEquals(new NetworkMap(new Node("r", prefixes("100.64.0.1/32"), List.of()), List.of(), ""), s.netmap());
    }

    /** The limits as written before the UDP flow limit existed: the engine keeps the one it runs. */
    @Test
    void limitsWithoutMaxUdpFlowsKeepTheEnginesOwn() throws IOException {
        State s = storeWithText("""
                { "limits" : { "maxInFlight" : 100, "maxInFlightPerClient" : 50, "perClientWithinGlobal" : true } }
                """).load();
        assertEquals(null, s.netmap());
        assertEquals(new InFlightLimits(100, 50, 3000), s.limits().over(new InFlightLimits(8192, 5461, 3000)));
    }

    /**
     * What this version writes for the sample's values: the same keys in the same places, without
     * the API's derived flags, omitted lists and domain written as empty ones.
     */
    @Test
    void whatItWritesIsPinnedByteForByte() throws IOException {
        StateStore store = new StateStore(dir);
        store.saveNetmap(SAMPLE_MAP);
        store.saveLimits(SAMPLE_LIMITS);
        assertArrayEquals(resource("state.json"), Files.readAllBytes(store.file()),
                () -> "state.json as written now:\n" + readString(store.file()));
        State s = store.load();
        assertEquals(SAMPLE_MAP, s.netmap());
        assertEquals(SavedLimits.of(SAMPLE_LIMITS), s.limits());
    }

    @Test
    void savingTheNetmapKeepsTheLimitsAndTheOtherWayRound() throws IOException {
        StateStore store = storeWith("state-api-documents.json");
        NetworkMap other = new NetworkMap(new Node("router-2", prefixes("100.64.0.9/32"), null), null, null);
        store.saveNetmap(other);
        assertEquals(SAMPLE_LIMITS, store.load().limits().over(InFlightLimits.forThisJvm()));
        store.saveLimits(new InFlightLimits(10, 5, 1000));
        assertEquals(other, store.load().netmap());
    }

    @Test
    void aPersistedPrefixWithHostBitsSetStopsTheBoot() throws IOException {
        StateStore store = storeWithText("""
                { "netmap" : { "selfNode" : { "name" : "r", "addresses" : [ "100.64.0.1/24" ] } } }
                """);
        CorruptStateException e = assertThrows(CorruptStateException.class, store::load);
        assertEquals(store.file(), e.file());
        assertTrue(e.getMessage().contains("has host bits set (did you mean 100.64.0.0/24?)"), e.getMessage());
    }

    @Test
    void aPersistedNetmapWithoutItsSelfNodeOrItsAddressesStopsTheBoot() throws IOException {
        for (String netmap : List.of("{ \"peers\" : [ ] }", "{ \"selfNode\" : { \"name\" : \"r\" } }",
                "{ \"selfNode\" : { \"addresses\" : [ \"100.64.0.1/32\" ] } }",
                "{ \"selfNode\" : { \"name\" : \"r\", \"addresses\" : [ \"not-an-address\" ] } }")) {
            StateStore store = storeWithText("{ \"netmap\" : " + netmap + " }");
            assertThrows(CorruptStateException.class, store::load, netmap);
        }
    }

    @Test
    void aFileThatIsNotAStateDocumentStopsTheBoot() throws IOException {
        for (String text : List.of("", "null", "{ not json", "[ ]")) {
            StateStore store = storeWithText(text);
            CorruptStateException e = assertThrows(CorruptStateException.class, store::load, text);
            assertEquals(store.file(), e.file());
        }
    }

    /** The chart's {@code initial-netmap} document: the API's netmap document, checked the same way. */
    @Test
    void anInitialNetmapDocumentIsReadAndCheckedAsThePersistedOne() throws IOException {
        Path document = dir.resolve("netmap.json");
        Files.writeString(document, """
                {"selfNode": {"name": "router-1", "addresses": ["100.64.0.1/32"],
                              "allowedIPs": ["100.64.0.1/32", "10.0.0.0/24"]},
                 "peers": [{"name": "laptop", "addresses": ["100.64.0.2/32"]}],
                 "domain": "tail.example"}
                """);
        StateStore store = new StateStore(dir);
        assertEquals(new NetworkMap(new Node("router-1", prefixes("100.64.0.1/32"), prefixes("100.64.0.1/32", "10.0.0.0/24")),
                        List.of(new Node("laptop", prefixes("100.64.0.2/32"), null)), "tail.example"),
                store.readNetmap(document));

        Files.writeString(document, "{\"selfNode\": {\"name\": \"r\", \"addresses\": [\"10.0.0.1/8\"]}}");
        CorruptStateException e = assertThrows(CorruptStateException.class, () -> store.readNetmap(document));
        assertEquals(document, e.file());
        for (String bad : List.of("", "null", "{}", "{\"peers\": []}")) {
            Files.writeString(document, bad);
            assertThrows(CorruptStateException.class, () -> store.readNetmap(document), bad);
        }
    }

    static final String LAPTOP_KEY = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
    static final String PHONE_KEY = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=";
    /** Peers with every WireGuard field, with a key only, and with none. */
    static final NetworkMap WIREGUARD_MAP = new NetworkMap(SAMPLE_MAP.selfNode(), List.of(
            new Node("laptop", prefixes("100.64.0.2/32"), prefixes("192.168.7.0/24"), Optional.of(new WireGuardPeer(
                    WireGuardKey.parse(LAPTOP_KEY), Optional.of("[2001:db8::7]:51820"), Optional.of("laptop.psk"), 25))),
            new Node("phone", prefixes("100.64.0.3/32"), null, Optional.of(WireGuardPeer.of(WireGuardKey.parse(PHONE_KEY)))),
            new Node("printer", prefixes("100.64.0.4/32"), null)), "tail.example");

    /**
     * A peer's WireGuard fields are kept beside its addresses, as the API's document has them, and
     * only when it has them: a peer without stays as the earlier format wrote it.
     */
    @Test
    void wireGuardFieldsAreKeptBesideThePeersAddresses() throws IOException {
        StateStore store = new StateStore(dir);
        store.saveNetmap(WIREGUARD_MAP);
        assertEquals(WIREGUARD_MAP, store.load().netmap(), "what a restart reads back");
        String text = Files.readString(store.file());
        String compact = text.replaceAll("\\s", "");
        assertTrue(compact.contains("\"allowedIPs\":[\"192.168.7.0/24\"],\"publicKey\":\"" + LAPTOP_KEY
                + "\",\"endpoint\":\"[2001:db8::7]:51820\",\"presharedKey\":\"laptop.psk\",\"persistentKeepalive\":25}"), text);
        assertTrue(compact.contains("\"allowedIPs\":[],\"publicKey\":\"" + PHONE_KEY + "\"}"),
                "no keepalive, endpoint or reference written when there is none:\n" + text);
        assertTrue(compact.contains("{\"name\":\"printer\",\"addresses\":[\"100.64.0.4/32\"],\"allowedIPs\":[]}"),
                "a peer without WireGuard fields as before:\n" + text);
    }

    /** A persisted WireGuard field the API would refuse stops the boot, naming the field. */
    @Test
    void aPersistedPeerWithABadWireGuardFieldStopsTheBootNamingIt() throws IOException {
        String peer = "{ \"name\" : \"p\", \"addresses\" : [ \"100.64.0.2/32\" ], ";
        for (var bad : List.of(
                List.of(peer + "\"publicKey\" : \"short=\" }", "peers[0].publicKey"),
                List.of(peer + "\"publicKey\" : \"" + LAPTOP_KEY + "\", \"endpoint\" : \"198.51.100.7\" }", "peers[0].endpoint"),
                List.of(peer + "\"publicKey\" : \"" + LAPTOP_KEY + "\", \"presharedKey\" : \"../x\" }", "peers[0].presharedKey"),
                List.of(peer + "\"publicKey\" : \"" + LAPTOP_KEY + "\", \"persistentKeepalive\" : 70000 }",
                        "peers[0].persistentKeepalive"),
                List.of(peer + "\"endpoint\" : \"198.51.100.7:1\" }", "peers[0].publicKey"),
                List.of(peer + "\"publicKey\" : \"" + LAPTOP_KEY + "\" }, " + peer.replace("\"p\"", "\"q\"")
                        + "\"publicKey\" : \"" + LAPTOP_KEY + "\" }", "peers[1].publicKey"))) {
            StateStore store = storeWithText("{ \"netmap\" : { \"selfNode\" : { \"name\" : \"r\", \"addresses\" : "
                    + "[ \"100.64.0.1/32\" ] }, \"peers\" : [ " + bad.get(0) + " ] } }");
            CorruptStateException e = assertThrows(CorruptStateException.class, store::load, bad.get(0));
            assertTrue(e.getMessage().contains(bad.get(1)), e.getMessage());
        }
    }

    private static String readString(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return e.toString();
        }
    }
}
