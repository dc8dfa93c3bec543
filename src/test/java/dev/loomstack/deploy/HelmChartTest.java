package dev.loomstack.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import dev.loomstack.config.StateStore;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;

/** The chart lints cleanly and renders the objects a subnet-router pod needs, as they must be. */
class HelmChartTest {
    static final Path CHART = Path.of("helm", "loomstack");

    static List<Map<String, Object>> render(Path values) {
        var cmd = new Helm(CHART).template().withName("edge").withNamespace("net");
        if (values != null) {
            cmd = cmd.withValuesFile(values);
        }
        List<Map<String, Object>> docs = new ArrayList<>();
        for (Object o : new Yaml().loadAll(cmd.call())) {
            if (o instanceof Map<?, ?> m) {
                @SuppressWarnings("unchecked")
                Map<String, Object> doc = (Map<String, Object>) m;
                docs.add(doc);
            }
        }
        return docs;
    }

    static Map<String, Object> find(List<Map<String, Object>> docs, String kind, String name) {
        return docs.stream().filter(d -> kind.equals(d.get("kind")) && name.equals(get(d, "metadata", "name")))
                .findFirst().orElseThrow(() -> new AssertionError(kind + " " + name + " not rendered"));
    }

    @SuppressWarnings("unchecked")
    static <T> T get(Object o, Object... path) {
        Object cur = o;
        for (Object p : path) {
            cur = p instanceof Integer i ? ((List<Object>) cur).get(i) : ((Map<String, Object>) cur).get(p);
            if (cur == null) {
                return null;
            }
        }
        return (T) cur;
    }

    @Test
    void lintsStrictly() {
        LintResult r = new Helm(CHART).lint().strict().call();
        assertFalse(r.isFailed(), String.join("\n", r.getMessages()));
    }

    @Test
    void theDeploymentHasOnlyNetAdminTheTunDeviceAndAWritableStateVolume() {
        List<Map<String, Object>> docs = render(null);
        Map<String, Object> dep = find(docs, "Deployment", "edge-loomstack");
        Map<String, Object> c = get(dep, "spec", "template", "spec", "containers", 0);
        assertEquals(List.of("NET_ADMIN"), get(c, "securityContext", "capabilities", "add"));
        assertEquals(List.of("ALL"), get(c, "securityContext", "capabilities", "drop"));
        assertEquals(Boolean.TRUE, get(c, "securityContext", "readOnlyRootFilesystem"));
        assertEquals(Boolean.FALSE, get(c, "securityContext", "allowPrivilegeEscalation"));
        assertEquals("/actuator/health/liveness", get(c, "livenessProbe", "httpGet", "path"));
        assertEquals("/actuator/health/readiness", get(c, "readinessProbe", "httpGet", "path"));
        assertEquals("metrics", get(c, "readinessProbe", "httpGet", "port"));
        List<Map<String, Object>> mounts = get(c, "volumeMounts");
        assertTrue(mounts.stream().anyMatch(m -> "/dev/net/tun".equals(m.get("mountPath"))));
        assertTrue(mounts.stream().anyMatch(m -> "/var/lib/loomstack".equals(m.get("mountPath"))));
        List<Map<String, Object>> volumes = get(dep, "spec", "template", "spec", "volumes");
        Map<String, Object> tun = volumes.stream().filter(v -> "tun".equals(v.get("name"))).findFirst().orElseThrow();
        assertEquals("/dev/net/tun", get(tun, "hostPath", "path"));
        Map<String, Object> state = volumes.stream().filter(v -> "state".equals(v.get("name"))).findFirst().orElseThrow();
        assertEquals("edge-loomstack-state", get(state, "persistentVolumeClaim", "claimName"));
        find(docs, "PersistentVolumeClaim", "edge-loomstack-state");

        List<Map<String, Object>> env = get(c, "env");
        Map<String, Object> token = env.stream().filter(e -> "LOOMSTACK_ADMIN_TOKEN".equals(e.get("name"))).findFirst()
                .orElseThrow();
        assertEquals("edge-loomstack-admin", get(token, "valueFrom", "secretKeyRef", "name"));
        assertTrue(env.stream().anyMatch(e -> "LOOMSTACK_STATEDIR".equals(e.get("name"))
                && "/var/lib/loomstack".equals(e.get("value"))));
        assertNotNull(get(c, "resources", "requests", "memory"));
    }

    @Test
    void servicesSecretAndDisruptionBudget() {
        List<Map<String, Object>> docs = render(null);
        assertEquals(8080, (Integer) get(find(docs, "Service", "edge-loomstack-api"), "spec", "ports", 0, "port"));
        assertEquals(8081, (Integer) get(find(docs, "Service", "edge-loomstack-metrics"), "spec", "ports", 0, "port"));
        String token = get(find(docs, "Secret", "edge-loomstack-admin"), "data", "token");
        assertTrue(new String(Base64.getDecoder().decode(token), StandardCharsets.UTF_8).length() >= 32,
                "a generated token is long");
        find(docs, "PodDisruptionBudget", "edge-loomstack");
        assertTrue(docs.stream().noneMatch(d -> "ServiceMonitor".equals(d.get("kind"))), "off by default");
        assertTrue(docs.stream().noneMatch(d -> "ConfigMap".equals(d.get("kind"))), "no netmap, no ConfigMap");
    }

    @Test
    void anInitialNetmapBecomesAConfigMapTheServiceCanRead(@TempDir Path tmp) throws Exception {
        Path values = tmp.resolve("values.yaml");
        Files.writeString(values, """
                adminToken:
                  value: chosen-token
                serviceMonitor:
                  enabled: true
                initialNetmap:
                  selfNode:
                    name: router-1
                    addresses: ["100.64.0.1/32"]
                    allowedIPs: ["100.64.0.1/32", "10.0.0.0/24"]
                  peers:
                    - name: laptop
                      addresses: ["100.64.0.2/32"]
                  domain: tail.example
                """);
        List<Map<String, Object>> docs = render(values);
        String json = get(find(docs, "ConfigMap", "edge-loomstack-netmap"), "data", "netmap.json");
        Path file = tmp.resolve("netmap.json");
        Files.writeString(file, json);
        var view = new StateStore(tmp, tools.jackson.databind.json.JsonMapper.builder().build()).readNetmap(file);
        assertEquals("router-1", view.selfNode().name());
        assertEquals(List.of("100.64.0.1/32", "10.0.0.0/24"), view.selfNode().allowedIPs());
        Map<String, Object> dep = find(docs, "Deployment", "edge-loomstack");
        List<Map<String, Object>> env = get(dep, "spec", "template", "spec", "containers", 0, "env");
        assertTrue(env.stream().anyMatch(e -> "LOOMSTACK_INITIALNETMAP".equals(e.get("name"))));
        String token = get(find(docs, "Secret", "edge-loomstack-admin"), "data", "token");
        assertEquals("chosen-token", new String(Base64.getDecoder().decode(token), StandardCharsets.UTF_8));
        Map<String, Object> sm = find(docs, "ServiceMonitor", "edge-loomstack");
        assertEquals("/actuator/prometheus", get(sm, "spec", "endpoints", 0, "path"));
    }

    @Test
    void theSchemaRefusesBadValues(@TempDir Path tmp) throws Exception {
        Path two = tmp.resolve("two.yaml");
        Files.writeString(two, "replicaCount: 2\n");
        assertThrows(IllegalStateException.class, () -> render(two), "one router per release");
        Path badTun = tmp.resolve("tun.yaml");
        Files.writeString(badTun, "tun:\n  name: this-name-is-far-too-long\n  mtu: 1280\n");
        assertThrows(IllegalStateException.class, () -> render(badTun));
    }
}
