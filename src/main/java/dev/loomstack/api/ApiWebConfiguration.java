package dev.loomstack.api;

import dev.loomstack.config.AdminToken;
import dev.loomstack.config.LoomstackProperties;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;

/** The admin API's filters: authentication first, then the body cap. */
@Configuration(proxyBeanMethods = false)
public class ApiWebConfiguration {
    static final String API_PATTERN = "/api/*";

    @Bean
    FilterRegistrationBean<BearerTokenFilter> bearerTokenFilter(AdminToken token) {
        FilterRegistrationBean<BearerTokenFilter> r = new FilterRegistrationBean<>(new BearerTokenFilter(token));
        r.addUrlPatterns(API_PATTERN);
        r.setOrder(Ordered.HIGHEST_PRECEDENCE + 10);
        return r;
    }

    @Bean
    FilterRegistrationBean<BodySizeLimitFilter> bodySizeLimitFilter(LoomstackProperties properties) {
        FilterRegistrationBean<BodySizeLimitFilter> r = new FilterRegistrationBean<>(
                new BodySizeLimitFilter(properties.admin().maxBody().toBytes()));
        r.addUrlPatterns(API_PATTERN);
        r.setOrder(Ordered.HIGHEST_PRECEDENCE + 20);
        return r;
    }
}
