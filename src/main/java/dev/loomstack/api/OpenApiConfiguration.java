package dev.loomstack.api;

import io.swagger.v3.oas.models.Components;
import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.info.Info;
import io.swagger.v3.oas.models.info.License;
import io.swagger.v3.oas.models.security.SecurityScheme;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The document's header and the bearer scheme; springdoc derives the rest from the controller. */
@Configuration(proxyBeanMethods = false)
public class OpenApiConfiguration {
    static final String BEARER = "bearer";

    @Bean
    OpenAPI loomstackOpenApi() {
        return new OpenAPI()
                .info(new Info().title("Loomstack admin API").version("v1")
                        .description("Push network maps and limits to a Loomstack subnet router and see the flows "
                                + "it forwards. Every call needs the admin bearer token; errors are RFC 9457 "
                                + "problem details.")
                        .license(new License().name("Apache-2.0")))
                .servers(java.util.List.of(new io.swagger.v3.oas.models.servers.Server().url("/")
                        .description("The service's API port (loomstack server.port, 8080 by default)")))
                .components(new Components().addSecuritySchemes(BEARER, new SecurityScheme()
                        .type(SecurityScheme.Type.HTTP).scheme("bearer")
                        .description("The token from loomstack.admin.token or <state-dir>/admin-token")));
    }
}
