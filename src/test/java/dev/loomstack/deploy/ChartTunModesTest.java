package dev.loomstack.deploy;

import static dev.loomstack.deploy.ChartRender.container;
import static dev.loomstack.deploy.ChartRender.get;
import static dev.loomstack.deploy.ChartRender.render;
import static dev.loomstack.deploy.ChartRender.volumeMounts;
import static dev.loomstack.deploy.ChartRender.volumes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The three ways the pod gets /dev/net/tun, each with only what it needs. */
class ChartTunModesTest {

    /**
     * link.mode=tun is the default and renders the chart as it was before link.mode existed:
     * deploy/loomstack.yaml, rendered by the chart of then, holds those objects, and the wireguard
     * values change nothing in tun mode.
     */
    @Test
    void linkModeTunIsTheDefaultAndRendersWhatTheChartRenderedBefore() throws Exception {
        String values = java.nio.file.Files.readString(DeployManifestsTest.Manifests.TUN.values);
        var before = DeployManifestsTest.byKindAndName(ChartRender.parse(
                java.nio.file.Files.readString(DeployManifestsTest.Manifests.TUN.file)));
        for (String tun : List.of("", "link:\n  mode: tun\n", """
                link:
                  mode: tun
                wireguard:
                  listenPort: 41641
                  mtu: 1420
                  privateKeySecret: router-key
                  presharedKeysSecret: router-psks
                  runAsUser: 2000
                  runAsGroup: 2000
                  service:
                    type: NodePort
                    nodePort: 31820
                    externalTrafficPolicy: Cluster
                """)) {
            var now = DeployManifestsTest.byKindAndName(ChartRender.parse(ChartRender.renderText(
                    DeployManifestsTest.RELEASE, DeployManifestsTest.NAMESPACE, values + tun)));
            assertEquals(before, now, "tun mode with: " + tun);
        }
    }

    static boolean hasHostPath(List<Map<String, Object>> docs) {
        return volumes(docs).stream().anyMatch(v -> v.containsKey("hostPath"));
    }

    static boolean mountsTun(List<Map<String, Object>> docs) {
        return volumeMounts(docs).stream().anyMatch(m -> "/dev/net/tun".equals(m.get("mountPath")));
    }

    @Test
    void hostPathMountsTheNodesDeviceWithNetAdminOnly() {
        List<Map<String, Object>> docs = render("tun:\n  name: loomstack0\n  mtu: 1280\n  mode: hostPath\n");
        Map<String, Object> tun = volumes(docs).stream().filter(v -> v.containsKey("hostPath")).findFirst().orElseThrow();
        assertEquals("/dev/net/tun", get(tun, "hostPath", "path"));
        assertEquals("CharDevice", get(tun, "hostPath", "type"));
        assertTrue(mountsTun(docs));
        Map<String, Object> sc = get(container(docs), "securityContext");
        assertEquals(List.of("NET_ADMIN"), get(sc, "capabilities", "add"));
        assertNull(sc.get("privileged"));
    }

    @Test
    void devicePluginRequestsTheExtendedResourceAndMountsNothingFromTheNode() {
        List<Map<String, Object>> docs = render("""
                tun:
                  name: loomstack0
                  mtu: 1280
                  mode: devicePlugin
                  devicePlugin:
                    resource: devices.example.com/tun
                """);
        assertFalse(hasHostPath(docs), "the device plugin adds the device node");
        assertFalse(mountsTun(docs));
        Map<String, Object> resources = get(container(docs), "resources");
        assertEquals(1, (Integer) get(resources, "limits", "devices.example.com/tun"));
        assertEquals(1, (Integer) get(resources, "requests", "devices.example.com/tun"));
        assertEquals("1Gi", get(resources, "limits", "memory"), "the configured resources stay");
        assertEquals("512Mi", get(resources, "requests", "memory"));
        Map<String, Object> sc = get(container(docs), "securityContext");
        assertEquals(List.of("NET_ADMIN"), get(sc, "capabilities", "add"), "creating the device still takes NET_ADMIN");
        assertEquals(List.of("ALL"), get(sc, "capabilities", "drop"));
        assertEquals(Boolean.FALSE, sc.get("allowPrivilegeEscalation"));
        assertNull(sc.get("privileged"));
    }

    @Test
    void theDefaultDevicePluginResourceIsSquatsGenericPlugin() {
        List<Map<String, Object>> docs = render("tun:\n  name: loomstack0\n  mtu: 1280\n  mode: devicePlugin\n");
        assertEquals(1, (Integer) get(container(docs), "resources", "limits", "squat.ai/tun"));
    }

    @Test
    void privilegedRunsAPrivilegedContainerWithoutHostPath() {
        List<Map<String, Object>> docs = render("tun:\n  name: loomstack0\n  mtu: 1280\n  mode: privileged\n");
        Map<String, Object> sc = get(container(docs), "securityContext");
        assertEquals(Boolean.TRUE, sc.get("privileged"));
        // Kubernetes refuses privileged together with allowPrivilegeEscalation: false.
        assertNull(sc.get("allowPrivilegeEscalation"));
        assertNull(sc.get("capabilities"), "a privileged container has every capability");
        assertEquals(Boolean.TRUE, sc.get("readOnlyRootFilesystem"));
        assertFalse(hasHostPath(docs), "a privileged container sees the node's devices");
        assertFalse(mountsTun(docs));
        assertNull(get(container(docs), "resources", "limits", "squat.ai/tun"));
    }
}
