package dev.loomstack.metrics;

import dev.loomstack.engine.RouterControl;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Actuator's view of the router: the expvar endpoint, meters and the readiness indicator. */
@Configuration(proxyBeanMethods = false)
public class MetricsConfiguration {
    @Bean
    NetstackEndpoint netstackEndpoint(RouterControl router) {
        return new NetstackEndpoint(router);
    }

    @Bean
    NetstackMeters netstackMeters(RouterControl router) {
        return new NetstackMeters(router);
    }

    /** Named so that the health contributor is {@code netstack} (used by the readiness group). */
    @Bean
    NetstackHealthIndicator netstackHealthIndicator(RouterControl router) {
        return new NetstackHealthIndicator(router);
    }
}
