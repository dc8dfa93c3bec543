package dev.loomstack.config;

import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import tools.jackson.databind.json.JsonMapper;

/** What the service needs whether or not the stack runs: its state and the admin token. */
@Configuration(proxyBeanMethods = false)
public class ServiceConfiguration {
    @Bean
    StateStore stateStore(LoomstackProperties properties, JsonMapper json) {
        return new StateStore(properties.stateDir(), json);
    }

    @Bean
    AdminToken adminToken(LoomstackProperties properties) {
        return AdminToken.resolve(properties.admin().token(), properties.stateDir());
    }
}
