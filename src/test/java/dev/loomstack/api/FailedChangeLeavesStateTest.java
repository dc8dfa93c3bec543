package dev.loomstack.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.put;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

import dev.loomstack.config.StackNotRunningException;
import dev.loomstack.config.StateStore;
import dev.loomstack.engine.FlowInfo;
import dev.loomstack.engine.InFlightLimits;
import dev.loomstack.engine.NetmapChange;
import dev.loomstack.engine.NetworkMap;
import dev.loomstack.engine.RouterControl;
import dev.loomstack.engine.Whois;
import dev.loomstack.packet.IpPrefix;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.http.MediaType;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.test.web.servlet.setup.MockMvcBuilders;

/**
 * A change the API answers with an error changes nothing: not the engine, not {@code state.json}
 * (byte for byte). Covers the engine stopped outright, the engine stopping between the read and
 * the write of a change, and a state file that cannot be written.
 */
class FailedChangeLeavesStateTest {
    static final String NETMAP = """
            {"selfNode":{"name":"router-2","addresses":["100.64.0.9/32"],"allowedIPs":["10.9.0.0/24"]},
             "peers":[],"domain":""}""";
    static final String LIMITS = "{\"maxInFlight\":50,\"maxInFlightPerClient\":5,\"maxUdpFlows\":2000}";
    static final NetworkMap SAVED_MAP = NetworkMap.initial("router-1", List.of(IpPrefix.parse("100.64.0.1/32")));
    static final InFlightLimits SAVED_LIMITS = new InFlightLimits(900, 600, 3000);

    /** An engine with a map and limits in force; {@code stopping} makes it refuse changes as a stopping one does. */
    static final class Engine implements RouterControl {
        NetworkMap netmap = SAVED_MAP;
        InFlightLimits limits = SAVED_LIMITS;
        boolean stopping;
        /** What a netmap is refused with, as the engine refuses one its link cannot take; null: none. */
        RuntimeException refusal;

        @Override
        public NetmapChange applyNetmap(NetworkMap map) {
            if (stopping) {
                throw new StackNotRunningException();
            }
            if (refusal != null) {
                throw refusal;
            }
            netmap = map;
            return new NetmapChange(map, List.of(), List.of());
        }

        @Override
        public NetworkMap netmap() {
            return netmap;
        }

        @Override
        public InFlightLimits limits() {
            return limits;
        }

        @Override
        public InFlightLimits updateLimits(InFlightLimits next) {
            if (stopping) {
                throw new StackNotRunningException();
            }
            limits = next;
            return next;
        }

        @Override
        public List<FlowInfo> flows() {
            return List.of();
        }

        @Override
        public Optional<Whois> whois(InetSocketAddress local) {
            return Optional.empty();
        }

        @Override
        public Map<String, Long> expvar() {
            return Map.of();
        }

        @Override
        public boolean linkUp() {
            return !stopping;
        }
    }

    @TempDir
    Path dir;
    StateStore state;
    byte[] before;

    @BeforeEach
    void persistedState() throws Exception {
        state = new StateStore(dir);
        state.saveNetmap(SAVED_MAP);
        state.saveLimits(SAVED_LIMITS);
        before = Files.readAllBytes(state.file());
    }

    static MockMvc api(RouterControl router, StateStore state) {
        return MockMvcBuilders.standaloneSetup(new AdminController(new AdminService(router, state)))
                .setControllerAdvice(new ProblemAdvice()).build();
    }

    static org.springframework.test.web.servlet.ResultActions putJson(MockMvc mvc, String path, String body)
            throws Exception {
        return mvc.perform(put(path).contentType(MediaType.APPLICATION_JSON).content(body));
    }

    @Test
    void a503FromAStoppedEngineLeavesStateJsonByteIdentical() throws Exception {
        MockMvc mvc = api(new NotRunningTest.Stopped(), state);
        putJson(mvc, "/api/v1/netmap", NETMAP).andExpect(status().isServiceUnavailable());
        assertArrayEquals(before, Files.readAllBytes(state.file()), "a 503 netmap rewrote state.json");
        putJson(mvc, "/api/v1/limits", LIMITS).andExpect(status().isServiceUnavailable());
        assertArrayEquals(before, Files.readAllBytes(state.file()), "a 503 limits change rewrote state.json");
    }

    @Test
    void a503FromAnEngineStoppingMidChangeLeavesStateJsonByteIdentical() throws Exception {
        Engine engine = new Engine();
        engine.stopping = true;
        MockMvc mvc = api(engine, state);
        putJson(mvc, "/api/v1/netmap", NETMAP).andExpect(status().isServiceUnavailable());
        assertArrayEquals(before, Files.readAllBytes(state.file()), "a 503 netmap rewrote state.json");
        putJson(mvc, "/api/v1/limits", LIMITS).andExpect(status().isServiceUnavailable());
        assertArrayEquals(before, Files.readAllBytes(state.file()), "a 503 limits change rewrote state.json");
    }

    @Test
    void aStateFileThatCannotBeWrittenPutsTheEngineBack() throws Exception {
        // state.json replaced by a directory: reading it for the merge and renaming over it both fail.
        Files.delete(state.file());
        Files.createDirectories(state.file().resolve("in-the-way"));
        Engine engine = new Engine();
        MockMvc mvc = api(engine, state);
        // Unhandled by the advice: MockMvc rethrows what the service answers with a 500.
        assertThrows(Exception.class, () -> putJson(mvc, "/api/v1/netmap", NETMAP));
        assertEquals(SAVED_MAP, engine.netmap, "the engine runs the map it ran before");
        assertThrows(Exception.class, () -> putJson(mvc, "/api/v1/limits", LIMITS));
        assertEquals(SAVED_LIMITS, engine.limits, "the engine runs the limits it ran before");
    }

    @Test
    void anAppliedChangeIsPersisted() throws Exception {
        Engine engine = new Engine();
        MockMvc mvc = api(engine, state);
        putJson(mvc, "/api/v1/netmap", NETMAP).andExpect(status().isOk());
        putJson(mvc, "/api/v1/limits", LIMITS).andExpect(status().isOk());
        assertEquals("router-2", state.load().netmap().selfNode().name());
        assertEquals(new InFlightLimits(50, 5, 2000), state.load().limits().over(SAVED_LIMITS));
        assertEquals(new InFlightLimits(50, 5, 2000), engine.limits);
    }

    /**
     * The WireGuard link cannot take the map (a pre-shared key file missing, an endpoint that does
     * not resolve): a 400 naming the field, and state.json untouched.
     */
    @Test
    void aNetmapTheLinkRefusesIsA400NamingTheFieldAndLeavesStateJsonByteIdentical() throws Exception {
        Engine engine = new Engine();
        engine.refusal = new dev.loomstack.engine.NetworkMap.InvalidException("peers[0].presharedKey",
                "no pre-shared key file 'laptop.psk' in /keys");
        MockMvc mvc = api(engine, state);
        putJson(mvc, "/api/v1/netmap", NETMAP)
                .andExpect(status().isBadRequest())
                .andExpect(org.springframework.test.web.servlet.result.MockMvcResultMatchers.jsonPath("$.errors[0].field")
                        .value("peers[0].presharedKey"))
                .andExpect(org.springframework.test.web.servlet.result.MockMvcResultMatchers.jsonPath("$.errors[0].message")
                        .value("no pre-shared key file 'laptop.psk' in /keys"));
        assertArrayEquals(before, Files.readAllBytes(state.file()), "a refused netmap rewrote state.json");
        assertEquals(SAVED_MAP, engine.netmap, "the engine runs the map it ran before");
    }
}
