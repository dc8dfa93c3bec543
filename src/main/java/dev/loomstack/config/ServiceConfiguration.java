package dev.loomstack.config;

import dev.loomstack.packet.IpPrefix;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.boot.context.properties.ConfigurationPropertiesBinding;
import org.springframework.context.ApplicationListener;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.convert.converter.Converter;

/**
 * What the service needs besides the stack: its state, the admin token, the conversion that binds
 * prefixes as typed values, and {@code loomstack.exit-when-ready}.
 */
@Configuration(proxyBeanMethods = false)
public class ServiceConfiguration {
    private static final System.Logger LOG = System.getLogger(ServiceConfiguration.class.getName());

    /** Static: the binder needs it before any configuration bean exists. */
    @Bean
    @ConfigurationPropertiesBinding
    static Converter<String, IpPrefix> ipPrefixConverter() {
        return new IpPrefixConverter();
    }

    /**
     * {@code loomstack.exit-when-ready}: once ready, the context closes as on SIGTERM (web servers,
     * drain, link) and the JVM exits 0. The image build's AOT training run records start and stop so.
     */
    @Bean
    @ConditionalOnBooleanProperty("loomstack.exit-when-ready")
    ApplicationListener<ApplicationReadyEvent> exitWhenReady() {
        return event -> {
            LOG.log(System.Logger.Level.INFO, "ready; exiting as loomstack.exit-when-ready asks");
            System.exit(SpringApplication.exit(event.getApplicationContext()));
        };
    }

    @Bean
    StateStore stateStore(LoomstackProperties properties) {
        return new StateStore(properties.stateDir());
    }

    @Bean
    AdminToken adminToken(LoomstackProperties properties) {
        return AdminToken.resolve(properties.admin().token(), properties.stateDir());
    }
}
