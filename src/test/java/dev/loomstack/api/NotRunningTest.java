package dev.loomstack.api;

import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.content;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.jsonPath;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

import dev.loomstack.config.StackNotRunningException;
import dev.loomstack.config.StateStore;
import dev.loomstack.engine.FlowInfo;
import dev.loomstack.engine.InFlightLimits;
import dev.loomstack.engine.NetmapChange;
import dev.loomstack.engine.NetworkMap;
import dev.loomstack.engine.RouterControl;
import dev.loomstack.engine.Whois;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.test.web.servlet.setup.MockMvcBuilders;

/** While the stack is starting or stopping the API answers 503 with a problem, not a stack trace. */
class NotRunningTest {
    /** A router whose engine is not running: every call says so, as the live one does then. */
    static final class Stopped implements RouterControl {
        @Override
        public NetmapChange applyNetmap(NetworkMap map) {
            throw new StackNotRunningException();
        }

        @Override
        public NetworkMap netmap() {
            throw new StackNotRunningException();
        }

        @Override
        public InFlightLimits limits() {
            throw new StackNotRunningException();
        }

        @Override
        public InFlightLimits updateLimits(InFlightLimits limits) {
            throw new StackNotRunningException();
        }

        @Override
        public List<FlowInfo> flows() {
            throw new StackNotRunningException();
        }

        @Override
        public Optional<Whois> whois(InetSocketAddress local) {
            throw new StackNotRunningException();
        }

        @Override
        public Map<String, Long> expvar() {
            throw new StackNotRunningException();
        }

        @Override
        public boolean linkUp() {
            return false;
        }
    }

    @Test
    void aStoppedStackIs503(@TempDir Path state) throws Exception {
        AdminService service = new AdminService(new Stopped(), new StateStore(state));
        MockMvc mvc = MockMvcBuilders.standaloneSetup(new AdminController(service))
                .setControllerAdvice(new ProblemAdvice()).build();
        mvc.perform(get("/api/v1/netmap"))
                .andExpect(status().isServiceUnavailable())
                .andExpect(content().contentTypeCompatibleWith("application/problem+json"))
                .andExpect(jsonPath("$.detail").value("the network stack is not running"));
        mvc.perform(get("/api/v1/flows")).andExpect(status().isServiceUnavailable());
    }
}
