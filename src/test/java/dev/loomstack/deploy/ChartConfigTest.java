package dev.loomstack.deploy;

import static dev.loomstack.deploy.ChartRender.env;
import static dev.loomstack.deploy.ChartRender.envVar;
import static dev.loomstack.deploy.ChartRender.find;
import static dev.loomstack.deploy.ChartRender.get;
import static dev.loomstack.deploy.ChartRender.podAnnotations;
import static dev.loomstack.deploy.ChartRender.podSpec;
import static dev.loomstack.deploy.ChartRender.render;
import static dev.loomstack.deploy.ChartRender.volumeMounts;
import static dev.loomstack.deploy.ChartRender.volumes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.loomstack.config.LoomstackProperties;
import dev.loomstack.tcp.CongestionControlAlgorithm;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.env.YamlPropertySourceLoader;
import org.springframework.core.env.PropertySource;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.io.ByteArrayResource;
import org.springframework.util.unit.DataSize;

/**
 * {@code config} and {@code logging} reach the service as an application.yaml it loads, {@code
 * extraEnv} as environment variables, and the grace period follows the drain time.
 */
class ChartConfigTest {
    static final String CONFIG = """
            config:
              dns:
                upstreams: ["192.0.2.53", "[2001:db8::53]:5353"]
              tcp:
                congestion-control: newreno
                keep-alive:
                  enabled: true
                  idle: 2m
                forward:
                  dial-timeout: 5s
              admin:
                max-body: 64KB
              deny-host-ports: [22]
            logging:
              level:
                dev.loomstack: DEBUG
              structured:
                format:
                  console: ecs
            """;

    @Test
    void configAndLoggingBecomeAnApplicationYamlTheServiceBindsAsLoomstackProperties() throws Exception {
        List<Map<String, Object>> docs = render(CONFIG);
        String yaml = get(find(docs, "ConfigMap", "edge-loomstack-config"), "data", "application.yaml");

        // Loaded and bound as Spring Boot does with the file SPRING_CONFIG_ADDITIONAL_LOCATION names.
        List<PropertySource<?>> sources = new YamlPropertySourceLoader()
                .load("chart", new ByteArrayResource(yaml.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        var environment = new StandardEnvironment();
        environment.getPropertySources().remove(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME);
        environment.getPropertySources().remove(StandardEnvironment.SYSTEM_PROPERTIES_PROPERTY_SOURCE_NAME);
        sources.forEach(environment.getPropertySources()::addLast);
        Binder binder = Binder.get(environment);
        // Section by section: the sections the chart sets through values of their own stay out of it.
        var dns = binder.bind("loomstack.dns", LoomstackProperties.Dns.class).get();
        var tcp = binder.bind("loomstack.tcp", LoomstackProperties.Tcp.class).get();
        var admin = binder.bind("loomstack.admin", LoomstackProperties.Admin.class).get();
        assertEquals(List.of("192.0.2.53", "[2001:db8::53]:5353"), dns.upstreams());
        assertEquals(CongestionControlAlgorithm.NEWRENO, tcp.congestionControl());
        assertEquals(Boolean.TRUE, tcp.keepAlive().enabled());
        assertEquals(Duration.ofMinutes(2), tcp.keepAlive().idle());
        assertEquals(Duration.ofSeconds(5), tcp.forward().dialTimeout());
        assertEquals(DataSize.ofKilobytes(64), admin.maxBody());
        assertEquals(List.of(22), binder.bind("loomstack.deny-host-ports", Bindable.listOf(Integer.class)).get());
        assertEquals("DEBUG", binder.bind("logging.level.dev.loomstack", String.class).get());
        assertEquals("ecs", binder.bind("logging.structured.format.console", String.class).get(), "JSON logs");

        String location = get(envVar(docs, "SPRING_CONFIG_ADDITIONAL_LOCATION").orElseThrow(), "value");
        Map<String, Object> mount = volumeMounts(docs).stream().filter(m -> "config".equals(m.get("name"))).findFirst()
                .orElseThrow();
        assertEquals("file:" + mount.get("mountPath") + "/application.yaml", location);
        Map<String, Object> volume = volumes(docs).stream().filter(v -> "config".equals(v.get("name"))).findFirst()
                .orElseThrow();
        assertEquals("edge-loomstack-config", get(volume, "configMap", "name"));
    }

    @Test
    void aChangedConfigRestartsThePodAndAnUnchangedOneDoesNot() {
        String before = podAnnotations(render(CONFIG)).get("checksum/config");
        String same = podAnnotations(render(CONFIG)).get("checksum/config");
        String changed = podAnnotations(render(CONFIG.replace("newreno", "cubic"))).get("checksum/config");
        assertEquals(before, same);
        assertNotEquals(before, changed);
        assertFalse(podAnnotations(render("")).containsKey("checksum/config"), "no config, nothing to watch");
    }

    @Test
    void tunOffloadBecomesLoomstackTunOffload() {
        assertEquals("true", envValue(env(render("")), "LOOMSTACK_TUN_OFFLOAD"), "on by default");
        assertEquals("false", envValue(env(render("""
                tun:
                  offload: false
                """)), "LOOMSTACK_TUN_OFFLOAD"));
    }

    private static Object envValue(List<Map<String, Object>> env, String name) {
        return env.stream().filter(e -> name.equals(e.get("name"))).findFirst().map(e -> e.get("value")).orElse(null);
    }

    @Test
    void extraEnvComesAfterTheChartsOwnVariables() {
        List<Map<String, Object>> docs = render("""
                extraEnv:
                  - name: LOOMSTACK_PROCESSSUBNETS
                    value: "false"
                  - name: POD_IP
                    valueFrom:
                      fieldRef:
                        fieldPath: status.podIP
                """);
        List<Map<String, Object>> env = env(docs);
        assertEquals("LOOMSTACK_PROCESSSUBNETS", env.get(env.size() - 2).get("name"));
        assertEquals("false", env.get(env.size() - 2).get("value"));
        assertEquals("POD_IP", env.getLast().get("name"));
        assertEquals("status.podIP", get(env.getLast(), "valueFrom", "fieldRef", "fieldPath"));
        assertEquals(1, env.stream().filter(e -> "LOOMSTACK_ADMIN_TOKEN".equals(e.get("name"))).count());
    }

    @ParameterizedTest(name = "drain {0} + margin {1} = {2} s")
    @CsvSource({"10s, 20s, 30", "2m, 20s, 140", "500ms, 20s, 21", "1500ms, 5s, 7", "0s, 1m, 60", "1h, 30s, 3630"})
    void theGracePeriodIsTheDrainPlusTheMarginInWholeSeconds(String drain, String margin, int seconds) {
        List<Map<String, Object>> docs = render("shutdown:\n  drain: " + drain + "\n  margin: " + margin + "\n");
        assertEquals(seconds, (Integer) podSpec(docs).get("terminationGracePeriodSeconds"));
        assertEquals(drain, get(envVar(docs, "LOOMSTACK_SHUTDOWN_DRAIN").orElseThrow(), "value"),
                "the service drains for the time the grace period was computed from");
    }
}
