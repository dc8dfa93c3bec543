package dev.loomstack.config;

import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Wires the stack into the service. {@code loomstack.stack.enabled=false} leaves it out (web-layer
 * tests, tooling that only needs the API document).
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnProperty(name = "loomstack.stack.enabled", havingValue = "true", matchIfMissing = true)
public class NetstackConfiguration {
    @Bean
    NetstackLifecycle netstackLifecycle(LoomstackProperties properties) {
        return new NetstackLifecycle(properties);
    }
}
