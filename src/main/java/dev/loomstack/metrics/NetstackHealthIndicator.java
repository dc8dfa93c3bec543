package dev.loomstack.metrics;

import dev.loomstack.engine.RouterControl;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/** Ready only when the TUN is up and a netmap is applied. */
public class NetstackHealthIndicator implements HealthIndicator {
    private final RouterControl router;

    public NetstackHealthIndicator(RouterControl router) {
        this.router = router;
    }

    @Override
    public Health health() {
        if (!router.linkUp()) {
            return Health.outOfService().withDetail("link", "down").build();
        }
        try {
            var map = router.netmap();
            if (map == null) {
                return Health.outOfService().withDetail("netmap", "none applied").build();
            }
            return Health.up().withDetail("self", map.selfNode().name())
                    .withDetail("peers", map.peers().size()).build();
        } catch (IllegalStateException notRunning) {
            return Health.outOfService().withDetail("link", "down").build();
        }
    }
}
