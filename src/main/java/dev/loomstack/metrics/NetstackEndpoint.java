package dev.loomstack.metrics;

import dev.loomstack.engine.RouterControl;
import java.util.Map;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;

/** {@code /actuator/netstack}: Tailscale's {@code ExpVar()} keys and values as flat JSON. */
@Endpoint(id = "netstack")
public class NetstackEndpoint {
    private final RouterControl router;

    public NetstackEndpoint(RouterControl router) {
        this.router = router;
    }

    @ReadOperation
    public Map<String, Long> expvar() {
        return router.expvar();
    }
}
