package dev.loomstack.config;

import dev.loomstack.engine.RouterControl;
import org.springframework.boot.web.server.context.WebServerInitializedEvent;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.ApplicationListener;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

/**
 * Wires the stack into the service: always there, on the TUN device or, with
 * {@code loomstack.link=memory}, on a link to nothing (the image's AOT training run, tests).
 */
@Configuration(proxyBeanMethods = false)
public class NetstackConfiguration {
    /**
     * The configured HTTP ports are refused from the start: the stack starts before the web
     * servers, and a port bound later (configured as 0) is added when its server is up.
     */
    @Bean
    NetstackLifecycle netstackLifecycle(LoomstackProperties properties, StateStore state,
                                        ApplicationEventPublisher events, Environment environment) {
        NetstackLifecycle lifecycle = new NetstackLifecycle(properties, state, new LinkLossAvailability(events));
        for (String port : new String[] {"server.port", "management.server.port"}) {
            Integer configured = environment.getProperty(port, Integer.class);
            if (configured != null && configured > 0) {
                lifecycle.refuseServicePort(configured);
            }
        }
        return lifecycle;
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
