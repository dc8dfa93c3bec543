package dev.loomstack.api;

import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.hasItem;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.put;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.content;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.header;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.jsonPath;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

import dev.loomstack.config.NetstackLifecycle;
import dev.loomstack.config.StateStore;
import dev.loomstack.engine.InFlightLimits;
import dev.loomstack.engine.Netstack;
import dev.loomstack.packet.IpPrefix;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
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
 * The admin API over MockMvc, with the service's real engine behind it on a link that goes nowhere
 * ({@code loomstack.link=memory}): every endpoint, every error case, and authentication.
 */
@SpringBootTest(properties = {"loomstack.link=memory", "loomstack.self-addresses=100.64.0.1/32",
        "loomstack.dns.upstreams=192.0.2.53", "loomstack.admin.token=" + AdminApiTest.TOKEN,
        "loomstack.admin.max-body=4KB", "server.port=0", "management.server.port="})
@AutoConfigureMockMvc
class AdminApiTest {
    static final String TOKEN = "s3cret-token";
    static final Path STATE = tempDir();
    static final String GOOD = """
            {"selfNode":{"name":"router-1","addresses":["100.64.0.1/32","fd7a:115c:a1e0::1/128"],
             "allowedIPs":["100.64.0.1/32","fd7a:115c:a1e0::1/128","10.0.0.0/24"]},
             "peers":[{"name":"laptop","addresses":["100.64.0.2/32"]}],"domain":"tail.example"}""";

    static Path tempDir() {
        try {
            return Files.createTempDirectory("loomstack-api");
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

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
    Netstack netstack;

    static MockHttpServletRequestBuilder authed(MockHttpServletRequestBuilder b) {
        return b.header("Authorization", "Bearer " + TOKEN);
    }

    static MockHttpServletRequestBuilder putJson(String path, String body) {
        return authed(put(path)).contentType(MediaType.APPLICATION_JSON).content(body);
    }

    @BeforeEach
    void reset() {
        netstack = lifecycle.netstack();
        netstack.updateLimits(new InFlightLimits(900, 600, 3000));
        netstack.applyNetmap(dev.loomstack.engine.NetworkMap.initial("router-1", List.of(IpPrefix.parse("100.64.0.1/32"))));
    }

    @Test
    void missingOrWrongTokenIsRefused() throws Exception {
        mvc.perform(get("/api/v1/netmap"))
                .andExpect(status().isUnauthorized())
                .andExpect(header().string("WWW-Authenticate", containsString("Bearer")))
                .andExpect(content().contentTypeCompatibleWith("application/problem+json"))
                .andExpect(jsonPath("$.status").value(401));
        mvc.perform(get("/api/v1/netmap").header("Authorization", "Bearer wrong"))
                .andExpect(status().isUnauthorized())
                .andExpect(jsonPath("$.detail").value("the bearer token is not valid"));
        mvc.perform(get("/api/v1/netmap").header("Authorization", "Basic " + TOKEN))
                .andExpect(status().isUnauthorized());
        mvc.perform(put("/api/v1/limits").contentType(MediaType.APPLICATION_JSON)
                        .content("{\"maxInFlight\":1,\"maxInFlightPerClient\":1}"))
                .andExpect(status().isUnauthorized());
        assertEquals(900, netstack.limits().maxInFlight(), "an unauthenticated request changes nothing");
        mvc.perform(authed(get("/api/v1/netmap"))).andExpect(status().isOk());
    }

    @Test
    void healthStaysOpenForProbes() throws Exception {
        mvc.perform(get("/actuator/health")).andExpect(status().isOk());
    }

    @Test
    void putNetmapAppliesPersistsAndReportsTheDiff() throws Exception {
        mvc.perform(putJson("/api/v1/netmap", GOOD))
                .andExpect(status().isOk())
                .andExpect(jsonPath("$.applied.selfNode.name").value("router-1"))
                .andExpect(jsonPath("$.applied.peers[0].name").value("laptop"))
                .andExpect(jsonPath("$.applied.domain").value("tail.example"))
                .andExpect(jsonPath("$.added").value(hasItem("10.0.0.0/24")))
                .andExpect(jsonPath("$.added").value(hasItem("fd7a:115c:a1e0::1/128")));
        mvc.perform(authed(get("/api/v1/netmap")))
                .andExpect(status().isOk())
                .andExpect(jsonPath("$.selfNode.allowedIPs").value(hasItem("10.0.0.0/24")));
        assertTrue(netstack.policy().routesSubnet(dev.loomstack.packet.IpAddress.parse("10.0.0.9")));
        assertEquals("router-1", state.load().netmap().selfNode().name(), "persisted");
    }

    private void rejected(String body, String field) throws Exception {
        var before = netstack.netmap();
        mvc.perform(putJson("/api/v1/netmap", body))
                .andExpect(status().isBadRequest())
                .andExpect(content().contentTypeCompatibleWith("application/problem+json"))
                .andExpect(jsonPath("$.detail").value(containsString(field)));
        assertEquals(before, netstack.netmap(), "a rejected request changes nothing");
    }

    @Test
    void invalidPrefixesAreNamed() throws Exception {
        rejected(GOOD.replace("\"10.0.0.0/24\"", "\"10.0.0.0/33\""), "selfNode.allowedIPs[2]");
        rejected(GOOD.replace("\"100.64.0.2/32\"", "\"300.1.1.1/32\""), "peers[0].addresses[0]");
        rejected(GOOD.replace("\"10.0.0.0/24\"", "\"10.0.0.1/24\""), "selfNode.allowedIPs[2]");
        rejected(GOOD.replace("\"router-1\"", "\"bad name!\""), "selfNode.name");
        rejected(GOOD.replace("\"addresses\":[\"100.64.0.1/32\",\"fd7a:115c:a1e0::1/128\"]", "\"addresses\":[]"),
                "selfNode.addresses");
        rejected("{\"peers\":[]}", "selfNode");
    }

    @Test
    void malformedJsonIsAProblem() throws Exception {
        mvc.perform(putJson("/api/v1/netmap", "{\"selfNode\": {"))
                .andExpect(status().isBadRequest())
                .andExpect(content().contentTypeCompatibleWith("application/problem+json"))
                .andExpect(jsonPath("$.detail").value(containsString("malformed JSON")));
        mvc.perform(putJson("/api/v1/limits", "{\"maxInFlight\":\"many\",\"maxInFlightPerClient\":1}"))
                .andExpect(status().isBadRequest())
                .andExpect(jsonPath("$.detail").value(containsString("maxInFlight")));
    }

    @Test
    void bodiesOverTheCapAre413() throws Exception {
        String huge = GOOD.replace("\"domain\":\"tail.example\"", "\"domain\":\"" + "a".repeat(5000) + "\"");
        mvc.perform(putJson("/api/v1/netmap", huge))
                .andExpect(status().isContentTooLarge())
                .andExpect(content().contentTypeCompatibleWith("application/problem+json"));
    }

    @Test
    void limitsAreReadAndChangedLive() throws Exception {
        mvc.perform(authed(get("/api/v1/limits")))
                .andExpect(status().isOk())
                .andExpect(jsonPath("$.maxInFlight").value(900))
                .andExpect(jsonPath("$.maxInFlightPerClient").value(600));
        mvc.perform(putJson("/api/v1/limits", "{\"maxInFlight\":8192,\"maxInFlightPerClient\":5461}"))
                .andExpect(status().isOk())
                .andExpect(jsonPath("$.maxInFlight").value(8192));
        assertEquals(8192, netstack.tcpForwarder().maxInFlight());
        assertEquals(5461, netstack.limiter().maxPerClient());
        assertEquals(8192, state.load().limits().maxInFlight(), "persisted");
    }

    @Test
    void theUdpFlowLimitIsReadChangedLiveAndPersisted() throws Exception {
        mvc.perform(authed(get("/api/v1/limits")))
                .andExpect(status().isOk())
                .andExpect(jsonPath("$.maxUdpFlows").value(3000));
        mvc.perform(putJson("/api/v1/limits", "{\"maxInFlight\":900,\"maxInFlightPerClient\":600,\"maxUdpFlows\":20000}"))
                .andExpect(status().isOk())
                .andExpect(jsonPath("$.maxUdpFlows").value(20000));
        assertEquals(20_000, netstack.udpForwarder().maxFlows(), "applied to the running forwarder");
        assertEquals(20_000, netstack.expvar().get("gauge_udp_forward_flows_limit"));
        assertEquals(20_000, state.load().limits().maxUdpFlows(), "persisted");

        // Absent, it is left as it is (clients that predate it keep working), and what is
        // persisted is the complete set applied.
        mvc.perform(putJson("/api/v1/limits", "{\"maxInFlight\":800,\"maxInFlightPerClient\":500}"))
                .andExpect(status().isOk())
                .andExpect(jsonPath("$.maxUdpFlows").value(20000));
        assertEquals(20_000, state.load().limits().maxUdpFlows());

        mvc.perform(putJson("/api/v1/limits", "{\"maxInFlight\":900,\"maxInFlightPerClient\":600,\"maxUdpFlows\":0}"))
                .andExpect(status().isBadRequest())
                .andExpect(jsonPath("$.errors[0].field").value("maxUdpFlows"));
        mvc.perform(putJson("/api/v1/limits", "{\"maxInFlight\":900,\"maxInFlightPerClient\":600,\"maxUdpFlows\":65537}"))
                .andExpect(status().isBadRequest())
                .andExpect(jsonPath("$.errors[0].field").value("maxUdpFlows"));
        assertEquals(20_000, netstack.udpForwarder().maxFlows(), "a refused request changes nothing");
    }

    @Test
    void perClientAboveGlobalIsRefused() throws Exception {
        mvc.perform(putJson("/api/v1/limits", "{\"maxInFlight\":10,\"maxInFlightPerClient\":11}"))
                .andExpect(status().isBadRequest())
                .andExpect(jsonPath("$.errors[0].field").value("maxInFlightPerClient"));
        mvc.perform(putJson("/api/v1/limits", "{\"maxInFlight\":0,\"maxInFlightPerClient\":0}"))
                .andExpect(status().isBadRequest())
                .andExpect(jsonPath("$.detail").value(containsString("maxInFlight")));
        mvc.perform(putJson("/api/v1/limits", "{\"maxInFlight\":10}"))
                .andExpect(status().isBadRequest())
                .andExpect(jsonPath("$.detail").value(containsString("maxInFlightPerClient")));
        assertEquals(900, netstack.limits().maxInFlight());
    }

    @Test
    void flowsArePaged() throws Exception {
        mvc.perform(authed(get("/api/v1/flows")))
                .andExpect(status().isOk())
                .andExpect(jsonPath("$.totalElements").value(0))
                .andExpect(jsonPath("$.page").value(0))
                .andExpect(jsonPath("$.size").value(50));
        mvc.perform(authed(get("/api/v1/flows").param("size", "0")))
                .andExpect(status().isBadRequest())
                .andExpect(jsonPath("$.detail").value(containsString("size")));
        mvc.perform(authed(get("/api/v1/flows").param("page", "-1")))
                .andExpect(status().isBadRequest());
    }

    @Test
    void whoisAnswersFromTheProxyMap() throws Exception {
        netstack.proxyMap().register(new java.net.InetSocketAddress("127.0.0.1", 40404),
                dev.loomstack.packet.IpAddress.parse("100.64.0.2"));
        try {
            mvc.perform(putJson("/api/v1/netmap", GOOD)).andExpect(status().isOk());
            mvc.perform(authed(get("/api/v1/whois").param("addr", "127.0.0.1:40404")))
                    .andExpect(status().isOk())
                    .andExpect(jsonPath("$.peerAddress").value("100.64.0.2"))
                    .andExpect(jsonPath("$.peerName").value("laptop"));
            mvc.perform(authed(get("/api/v1/whois").param("addr", "127.0.0.1:40405")))
                    .andExpect(status().isNotFound())
                    .andExpect(content().contentTypeCompatibleWith("application/problem+json"));
            mvc.perform(authed(get("/api/v1/whois").param("addr", "nonsense")))
                    .andExpect(status().isBadRequest())
                    .andExpect(jsonPath("$.errors[0].field").value("addr"));
            mvc.perform(authed(get("/api/v1/whois").param("addr", "::1:80")))
                    .andExpect(status().isBadRequest());
        } finally {
            netstack.proxyMap().unregister(new java.net.InetSocketAddress("127.0.0.1", 40404));
        }
    }

    @Test
    void netstackEndpointAndPrometheusShowTheCounters() throws Exception {
        mvc.perform(get("/actuator/netstack"))
                .andExpect(status().isOk())
                .andExpect(jsonPath("$.counter_tcp_forward_max_in_flight_drop").isNumber())
                .andExpect(jsonPath("$.gauge_tcp_forward_in_flight_limit").value(900));
        mvc.perform(get("/actuator/prometheus"))
                .andExpect(status().isOk())
                .andExpect(content().string(containsString("netstack_dropped_packets_total{reason=\"tcp_in_flight_limit\"}")))
                .andExpect(content().string(containsString("netstack_tcp_forward_in_flight_limit 900")));
        mvc.perform(get("/actuator/info"))
                .andExpect(status().isOk())
                .andExpect(jsonPath("$.build.version").isNotEmpty());
        mvc.perform(get("/actuator/health/readiness")).andExpect(status().isOk());
    }
}
