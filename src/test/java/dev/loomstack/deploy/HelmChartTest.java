package dev.loomstack.deploy;

import static dev.loomstack.deploy.ChartRender.container;
import static dev.loomstack.deploy.ChartRender.deployment;
import static dev.loomstack.deploy.ChartRender.envVar;
import static dev.loomstack.deploy.ChartRender.find;
import static dev.loomstack.deploy.ChartRender.get;
import static dev.loomstack.deploy.ChartRender.noneOfKind;
import static dev.loomstack.deploy.ChartRender.render;
import static dev.loomstack.deploy.ChartRender.volumeMounts;
import static dev.loomstack.deploy.ChartRender.volumes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import dev.loomstack.config.StateStore;
import dev.loomstack.packet.IpPrefix;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The chart lints cleanly and renders the objects a subnet-router pod needs, as they must be. */
class HelmChartTest {

    @Test
    void lintsStrictly() {
        LintResult r = new Helm(ChartRender.CHART).lint().strict().call();
        assertFalse(r.isFailed(), String.join("\n", r.getMessages()));
    }

    @Test
    void theDeploymentHasOnlyNetAdminTheTunDeviceAndAWritableStateVolume() {
        List<Map<String, Object>> docs = render("");
        Map<String, Object> c = container(docs);
        assertEquals(List.of("NET_ADMIN"), get(c, "securityContext", "capabilities", "add"));
        assertEquals(List.of("ALL"), get(c, "securityContext", "capabilities", "drop"));
        assertEquals(Boolean.TRUE, get(c, "securityContext", "readOnlyRootFilesystem"));
        assertEquals(Boolean.FALSE, get(c, "securityContext", "allowPrivilegeEscalation"));
        assertEquals("/actuator/health/liveness", get(c, "livenessProbe", "httpGet", "path"));
        assertEquals("/actuator/health/readiness", get(c, "readinessProbe", "httpGet", "path"));
        assertEquals("metrics", get(c, "readinessProbe", "httpGet", "port"));
        assertTrue(volumeMounts(docs).stream().anyMatch(m -> "/dev/net/tun".equals(m.get("mountPath"))));
        assertTrue(volumeMounts(docs).stream().anyMatch(m -> "/var/lib/loomstack".equals(m.get("mountPath"))));
        Map<String, Object> tun = volumes(docs).stream().filter(v -> "tun".equals(v.get("name"))).findFirst().orElseThrow();
        assertEquals("/dev/net/tun", get(tun, "hostPath", "path"));
        Map<String, Object> state = volumes(docs).stream().filter(v -> "state".equals(v.get("name"))).findFirst().orElseThrow();
        assertEquals("edge-loomstack-state", get(state, "persistentVolumeClaim", "claimName"));
        find(docs, "PersistentVolumeClaim", "edge-loomstack-state");

        Map<String, Object> token = envVar(docs, "LOOMSTACK_ADMIN_TOKEN").orElseThrow();
        assertEquals("edge-loomstack-admin", get(token, "valueFrom", "secretKeyRef", "name"));
        assertEquals("/var/lib/loomstack", get(envVar(docs, "LOOMSTACK_STATEDIR").orElseThrow(), "value"));
        assertNotNull(get(c, "resources", "requests", "memory"));
        assertEquals(ChartRender.NAMESPACE, get(deployment(docs), "metadata", "namespace"), "plain manifests carry it");
    }

    @Test
    void servicesAndSecretByDefaultButNoConfigMapsAndNoBudget() {
        List<Map<String, Object>> docs = render("");
        assertEquals(8080, (Integer) get(find(docs, "Service", "edge-loomstack-api"), "spec", "ports", 0, "port"));
        assertEquals(8081, (Integer) get(find(docs, "Service", "edge-loomstack-metrics"), "spec", "ports", 0, "port"));
        String token = get(find(docs, "Secret", "edge-loomstack-admin"), "data", "token");
        assertTrue(new String(Base64.getDecoder().decode(token), StandardCharsets.UTF_8).length() >= 32,
                "a generated token is long");
        assertTrue(noneOfKind(docs, "PodDisruptionBudget"), "a budget for one pod is opt-in");
        assertTrue(noneOfKind(docs, "ServiceMonitor"), "off by default");
        assertTrue(noneOfKind(docs, "ConfigMap"), "no netmap, no config: no ConfigMap");
    }

    @Test
    void podAnnotationsStayBesideTheChecksums() {
        Map<String, String> annotations = ChartRender.podAnnotations(render("""
                podAnnotations:
                  example.com/owner: network-team
                """));
        assertEquals("network-team", annotations.get("example.com/owner"));
        assertTrue(annotations.containsKey("checksum/admin-token"));
        assertFalse(annotations.containsKey("checksum/netmap"), "no netmap, nothing to watch");
    }

    @Test
    void anInitialNetmapBecomesAConfigMapTheServiceCanRead(@TempDir Path tmp) throws Exception {
        List<Map<String, Object>> docs = render("""
                adminToken:
                  value: chosen-token-0123456789
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
        String json = get(find(docs, "ConfigMap", "edge-loomstack-netmap"), "data", "netmap.json");
        Path file = tmp.resolve("netmap.json");
        Files.writeString(file, json);
        var netmap = new StateStore(tmp).readNetmap(file);
        assertEquals("router-1", netmap.selfNode().name());
        assertEquals(List.of(IpPrefix.parseStrict("100.64.0.1/32"), IpPrefix.parseStrict("10.0.0.0/24")),
                netmap.selfNode().allowedIPs());

        String path = get(envVar(docs, "LOOMSTACK_INITIALNETMAP").orElseThrow(), "value");
        Map<String, Object> mount = volumeMounts(docs).stream().filter(m -> "netmap".equals(m.get("name"))).findFirst()
                .orElseThrow();
        assertEquals(mount.get("mountPath") + "/netmap.json", path, "the service reads the file the ConfigMap mounts");
        Map<String, Object> volume = volumes(docs).stream().filter(v -> "netmap".equals(v.get("name"))).findFirst()
                .orElseThrow();
        assertEquals("edge-loomstack-netmap", get(volume, "configMap", "name"));

        String token = get(find(docs, "Secret", "edge-loomstack-admin"), "data", "token");
        assertEquals("chosen-token-0123456789", new String(Base64.getDecoder().decode(token), StandardCharsets.UTF_8));
        assertTrue(ChartRender.podAnnotations(docs).containsKey("checksum/netmap"), "a changed netmap restarts the pod");
        Map<String, Object> sm = find(docs, "ServiceMonitor", "edge-loomstack");
        assertEquals("/actuator/prometheus", get(sm, "spec", "endpoints", 0, "path"));
    }
}
