package dev.loomstack.config;

import dev.loomstack.engine.RouterControl;
import org.springframework.boot.web.server.context.WebServerInitializedEvent;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.ApplicationListener;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Wires the stack into the service: always there, on the TUN device or, with
 * {@code loomstack.link=memory}, on a link to nothing (the image's AOT training run, tests).
 */
@Configuration(proxyBeanMethods = false)
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
