package dev.loomstack.api;

import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.put;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.content;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.jsonPath;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

import dev.loomstack.config.NetstackLifecycle;
import dev.loomstack.config.StateStore;
import dev.loomstack.engine.NetworkMap;
import dev.loomstack.engine.Node;
import dev.loomstack.engine.WireGuardPeer;
import dev.loomstack.wireguard.WireGuardKey;
import dev.loomstack.packet.IpPrefix;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.webmvc.test.autoconfigure.AutoConfigureMockMvc;
import org.springframework.http.MediaType;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.test.web.servlet.request.MockHttpServletRequestBuilder;

/**
 * The peers' WireGuard fields in the admin API, on a link that is not WireGuard
 * ({@code loomstack.link=memory}): each malformed field is a 400 naming it and changes nothing, a
 * well-formed map is taken, persisted and returned as written, and GET /api/v1/wireguard says the
 * link is not WireGuard (409).
 */
@SpringBootTest(properties = {"loomstack.link=memory", "loomstack.self-addresses=100.64.0.1/32",
        "loomstack.dns.upstreams=192.0.2.53", "loomstack.admin.token=" + WireGuardNetmapApiTest.TOKEN,
        "server.port=0", "management.server.port="})
@AutoConfigureMockMvc
class WireGuardNetmapApiTest {
    static final String TOKEN = "wg-token";
    static final Path STATE = AdminApiTest.tempDir();
    static final String LAPTOP_KEY = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
    static final String PHONE_KEY = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=";
    static final String GOOD = """
            {"selfNode":{"name":"router-1","addresses":["100.64.0.1/32"],"allowedIPs":["100.64.0.1/32"],
                         "publicKey":"%s"},
             "peers":[{"name":"laptop","addresses":["100.64.0.2/32"],"allowedIPs":["192.168.7.0/24"],
                       "publicKey":"%s","endpoint":"198.51.100.7:51820","presharedKey":"laptop.psk",
                       "persistentKeepalive":25},
                      {"name":"phone","addresses":["100.64.0.3/32"],"publicKey":"%s"},
                      {"name":"printer","addresses":["100.64.0.4/32"]}],
             "domain":"tail.example"}""".formatted(PHONE_KEY, LAPTOP_KEY, PHONE_KEY.replace("X0=", "X1="));

    @DynamicPropertySource
    static void stateDir(DynamicPropertyRegistry r) {
        r.add("loomstack.state-dir", STATE::toString);
    }

    @Autowired
    MockMvc mvc;
    @Autowired
    NetstackLifecycle lifecycle;
    @Autowired
    StateStore state;

    static MockHttpServletRequestBuilder authed(MockHttpServletRequestBuilder b) {
        return b.header("Authorization", "Bearer " + TOKEN);
    }

    @BeforeEach
    void reset() {
        lifecycle.netstack().applyNetmap(NetworkMap.initial("router-1", List.of(IpPrefix.parse("100.64.0.1/32"))));
    }

    private void rejected(String body, String field) throws Exception {
        NetworkMap before = lifecycle.netstack().netmap();
        mvc.perform(authed(put("/api/v1/netmap")).contentType(MediaType.APPLICATION_JSON).content(body))
                .andExpect(status().isBadRequest())
                .andExpect(content().contentTypeCompatibleWith("application/problem+json"))
                .andExpect(jsonPath("$.errors[0].field").value(field))
                .andExpect(jsonPath("$.detail").value(containsString(field)));
        assertEquals(before, lifecycle.netstack().netmap(), "a rejected request changes nothing");
    }

    @Test
    void eachMalformedWireGuardFieldIsA400NamingIt() throws Exception {
        rejected(GOOD.replace(LAPTOP_KEY, "not base64 at all, but 44 characters long =="), "peers[0].publicKey");
        rejected(GOOD.replace(LAPTOP_KEY, "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg"), "peers[0].publicKey");
        rejected(GOOD.replace(LAPTOP_KEY, "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8A=="), "peers[0].publicKey");
        rejected(GOOD.replace(LAPTOP_KEY, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="), "peers[0].publicKey");
        rejected(GOOD.replace("198.51.100.7:51820", "198.51.100.7"), "peers[0].endpoint");
        rejected(GOOD.replace("198.51.100.7:51820", "2001:db8::7:51820"), "peers[0].endpoint");
        rejected(GOOD.replace("198.51.100.7:51820", "198.51.100.7:65536"), "peers[0].endpoint");
        rejected(GOOD.replace("198.51.100.7:51820", "198.51.100.7:0"), "peers[0].endpoint");
        rejected(GOOD.replace("laptop.psk", "../laptop.psk"), "peers[0].presharedKey");
        rejected(GOOD.replace("laptop.psk", "keys/laptop.psk"), "peers[0].presharedKey");
        rejected(GOOD.replace("\"persistentKeepalive\":25", "\"persistentKeepalive\":65536"), "peers[0].persistentKeepalive");
        rejected(GOOD.replace("\"persistentKeepalive\":25", "\"persistentKeepalive\":-1"), "peers[0].persistentKeepalive");
        rejected(GOOD.replace("\"publicKey\":\"" + PHONE_KEY.replace("X0=", "X1=") + "\"", "\"publicKey\":\"" + LAPTOP_KEY + "\""),
                "peers[1].publicKey");
        rejected(GOOD.replace("\"name\":\"printer\",\"addresses\":[\"100.64.0.4/32\"]",
                "\"name\":\"printer\",\"addresses\":[\"100.64.0.4/32\"],\"endpoint\":\"198.51.100.8:51820\""),
                "peers[2].publicKey");
    }

    @Test
    void aWellFormedMapIsTakenPersistedAndReturnedAsWritten() throws Exception {
        mvc.perform(authed(put("/api/v1/netmap")).contentType(MediaType.APPLICATION_JSON).content(GOOD))
                .andExpect(status().isOk())
                .andExpect(jsonPath("$.applied.peers[0].publicKey").value(LAPTOP_KEY))
                .andExpect(jsonPath("$.applied.selfNode.publicKey").doesNotExist());
        NetworkMap applied = lifecycle.netstack().netmap();
        assertEquals(Optional.empty(), applied.selfNode().wireGuard(), "the self node's publicKey is not taken");
        Node laptop = applied.peers().get(0);
        assertEquals(new WireGuardPeer(WireGuardKey.parse(LAPTOP_KEY), Optional.of("198.51.100.7:51820"),
                Optional.of("laptop.psk"), 25), laptop.wireGuard().orElseThrow());
        assertEquals(Optional.empty(), applied.peers().get(2).wireGuard());
        assertEquals(applied, state.load().netmap(), "persisted with the WireGuard fields");
        String onDisk = Files.readString(state.file());
        assertTrue(onDisk.contains("\"presharedKey\" : \"laptop.psk\""), onDisk);
        mvc.perform(authed(get("/api/v1/netmap")))
                .andExpect(status().isOk())
                .andExpect(jsonPath("$.selfNode.publicKey").doesNotExist())
                .andExpect(jsonPath("$.peers[0].publicKey").value(LAPTOP_KEY))
                .andExpect(jsonPath("$.peers[0].endpoint").value("198.51.100.7:51820"))
                .andExpect(jsonPath("$.peers[0].presharedKey").value("laptop.psk"))
                .andExpect(jsonPath("$.peers[0].persistentKeepalive").value(25))
                .andExpect(jsonPath("$.peers[1].endpoint").doesNotExist())
                .andExpect(jsonPath("$.peers[2].publicKey").doesNotExist())
                .andExpect(jsonPath("$.peers[0].wireGuardKeyed").doesNotExist());
    }

    @Test
    void theWireGuardEndpointSaysTheLinkIsNotWireGuard() throws Exception {
        mvc.perform(get("/api/v1/wireguard")).andExpect(status().isUnauthorized());
        mvc.perform(authed(get("/api/v1/wireguard")))
                .andExpect(status().isConflict())
                .andExpect(content().contentTypeCompatibleWith("application/problem+json"))
                .andExpect(jsonPath("$.detail").value(containsString("not WireGuard")));
    }

    @Test
    void theWireGuardCountersAreThereAndZeroOnAnotherLink() throws Exception {
        mvc.perform(get("/actuator/netstack"))
                .andExpect(status().isOk())
                .andExpect(jsonPath("$.counter_wireguard_handshakes_sent").value(0))
                .andExpect(jsonPath("$.counter_wireguard_source_mismatch").value(0))
                .andExpect(jsonPath("$.gauge_wireguard_peers_with_session").value(0));
        String scrape = mvc.perform(get("/actuator/prometheus")).andExpect(status().isOk())
                .andReturn().getResponse().getContentAsString();
        for (String meter : new String[] {"netstack_wireguard_handshakes_sent_total", "netstack_wireguard_handshakes_received_total",
                "netstack_wireguard_handshakes_failed_total", "netstack_wireguard_cookie_replies_sent_total",
                "netstack_wireguard_cookie_replies_received_total", "netstack_wireguard_packets_replayed_total",
                "netstack_wireguard_packets_invalid_total", "netstack_wireguard_source_mismatch_total",
                "netstack_wireguard_no_peer_total", "netstack_wireguard_send_dropped_total",
                "netstack_wireguard_received_bytes_total", "netstack_wireguard_received_packets_total",
                "netstack_wireguard_sent_bytes_total", "netstack_wireguard_sent_packets_total",
                "netstack_wireguard_keepalives_sent_total", "netstack_wireguard_peers_with_session"}) {
            assertTrue(scrape.contains("\n" + meter + " 0"), meter + " in\n" + scrape);
            assertTrue(scrape.contains("# HELP " + meter), meter + " has help text");
        }
        assertFalse(scrape.contains("netstack_wireguard_handshakes_sent_total{"), "no tags");
    }
}
