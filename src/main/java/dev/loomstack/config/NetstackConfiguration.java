package dev.loomstack.config;

import dev.loomstack.engine.RouterControl;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.web.server.context.WebServerInitializedEvent;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.ApplicationListener;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Wires the stack into the service. {@code loomstack.stack.enabled=false} leaves it out (web-layer
 * tests supply their own {@link RouterControl}).
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnProperty(name = "loomstack.stack.enabled", havingValue = "true", matchIfMissing = true)
public class NetstackConfiguration {
    @Bean
    NetstackLifecycle netstackLifecycle(LoomstackProperties properties, StateStore state,
                                        ApplicationEventPublisher events) {
        return new NetstackLifecycle(properties, state, new LinkLossAvailability(events));
    }

    @Bean
    RouterControl routerControl(NetstackLifecycle lifecycle) {
        return new LiveRouter(lifecycle);
    }

    /** Every port this process serves HTTP on (API and management) is refused from the TUN side. */
    @Bean
    ApplicationListener<WebServerInitializedEvent> servicePortGuard(NetstackLifecycle lifecycle) {
        return event -> lifecycle.refuseServicePort(event.getWebServer().getPort());
    }
}
