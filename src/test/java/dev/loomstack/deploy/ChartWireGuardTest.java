package dev.loomstack.deploy;

import static dev.loomstack.deploy.ChartRender.FULLNAME;
import static dev.loomstack.deploy.ChartRender.container;
import static dev.loomstack.deploy.ChartRender.env;
import static dev.loomstack.deploy.ChartRender.envVar;
import static dev.loomstack.deploy.ChartRender.find;
import static dev.loomstack.deploy.ChartRender.findOptional;
import static dev.loomstack.deploy.ChartRender.get;
import static dev.loomstack.deploy.ChartRender.podSpec;
import static dev.loomstack.deploy.ChartRender.render;
import static dev.loomstack.deploy.ChartRender.volumeMounts;
import static dev.loomstack.deploy.ChartRender.volumes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.env.SystemEnvironmentPropertySource;

/**
 * link.mode=wireguard: Loomstack is the WireGuard peer itself. The pod gets the service's WireGuard
 * properties, a UDP port and Service the peers reach, the keys from Secrets when given, and nothing
 * of the TUN device: no device, no capability, writable storage only where the service writes.
 */
class ChartWireGuardTest {
    static final String WIREGUARD = "link:\n  mode: wireguard\n";
    static final String SERVICE = FULLNAME + "-wireguard";
    static final String KEYS = WIREGUARD + """
            wireguard:
              privateKeySecret: router-key
              privateKeySecretKey: wg.key
              presharedKeysSecret: router-psks
            """;

    /** The container's plain environment (valueFrom entries left out). */
    static Map<String, Object> plainEnv(List<Map<String, Object>> docs) {
        Map<String, Object> vars = new LinkedHashMap<>();
        env(docs).stream().filter(e -> e.containsKey("value")).forEach(e -> vars.put((String) e.get("name"), e.get("value")));
        return vars;
    }

    /** Spring Boot's view of that environment, as the service binds it (relaxed names, as in the container). */
    static Binder binderOf(List<Map<String, Object>> docs) {
        var source = new SystemEnvironmentPropertySource(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME,
                plainEnv(docs));
        return new Binder(ConfigurationPropertySources.from(source));
    }

    static Optional<Map<String, Object>> mountAt(List<Map<String, Object>> docs, String name) {
        return volumeMounts(docs).stream().filter(m -> name.equals(m.get("name"))).findFirst();
    }

    static Optional<Map<String, Object>> volume(List<Map<String, Object>> docs, String name) {
        return volumes(docs).stream().filter(v -> name.equals(v.get("name"))).findFirst();
    }

    @Test
    void theServiceGetsTheWireGuardPropertiesItsLinkIsBuiltFrom() {
        Binder binder = binderOf(render(WIREGUARD + """
                wireguard:
                  listenPort: 41641
                  mtu: 1420
                """));
        assertEquals("wireguard", binder.bind("loomstack.link", String.class).get());
        assertEquals(41641, binder.bind("loomstack.wireguard.listen-port", Integer.class).get());
        assertEquals(1420, binder.bind("loomstack.wireguard.mtu", Integer.class).get());
        assertFalse(binder.bind("loomstack.wireguard.private-key-file", String.class).isBound(),
                "no Secret: the service generates the key into its state directory");
        assertFalse(binder.bind("loomstack.wireguard.preshared-key-dir", String.class).isBound());

        Binder defaults = binderOf(render(WIREGUARD));
        assertEquals(51820, defaults.bind("loomstack.wireguard.listen-port", Integer.class).get(), "WireGuard's port");
        assertEquals(1280, defaults.bind("loomstack.wireguard.mtu", Integer.class).get());
    }

    @Test
    void noTunDeviceNoCapabilityAndNoDevicePluginResource() {
        // Even with a tun.mode that would otherwise mount or request the device.
        for (String tunMode : List.of("hostPath", "devicePlugin", "privileged")) {
            List<Map<String, Object>> docs = render(WIREGUARD + "tun:\n  name: loomstack0\n  mtu: 1280\n  mode: " + tunMode + "\n");
            assertTrue(volumes(docs).stream().noneMatch(v -> v.containsKey("hostPath")), tunMode);
            assertTrue(volumeMounts(docs).stream().noneMatch(m -> String.valueOf(m.get("mountPath")).startsWith("/dev")),
                    tunMode);
            Map<String, Object> sc = get(container(docs), "securityContext");
            assertEquals(null, sc.get("privileged"), tunMode);
            assertNull(get(sc, "capabilities", "add"), tunMode);
            assertEquals(Set.of("cpu", "memory"), ChartRender.<Map<String, Object>>get(container(docs), "resources",
                    "requests").keySet(), tunMode);
            assertTrue(env(docs).stream().noneMatch(e -> String.valueOf(e.get("name")).startsWith("LOOMSTACK_TUN_")),
                    "no TUN device to configure: " + tunMode);
        }
    }

    @Test
    void onlyTheStateVolumeAndTmpAreWritable() {
        List<Map<String, Object>> docs = render(KEYS + """
                initialNetmap:
                  selfNode:
                    name: router-1
                    addresses: ["100.64.0.1/32"]
                config:
                  dns:
                    upstreams: ["192.0.2.53"]
                """);
        assertEquals(Boolean.TRUE, get(container(docs), "securityContext", "readOnlyRootFilesystem"));
        Set<String> writable = volumeMounts(docs).stream().filter(m -> !Boolean.TRUE.equals(m.get("readOnly")))
                .map(m -> (String) m.get("mountPath")).collect(Collectors.toSet());
        assertEquals(Set.of("/var/lib/loomstack", "/tmp"), writable, "the state directory, and the JVM's temporary files");
        assertEquals("/var/lib/loomstack", get(envVar(docs, "LOOMSTACK_STATEDIR").orElseThrow(), "value"));
        assertEquals(FULLNAME + "-state", get(volume(docs, "state").orElseThrow(), "persistentVolumeClaim", "claimName"),
                "the generated key and the netmap outlive the pod");
        find(docs, "PersistentVolumeClaim", FULLNAME + "-state");
    }

    @Test
    void aPrivateKeySecretIsMountedReadOnlyAndNamedToTheService() {
        List<Map<String, Object>> docs = render(KEYS);
        Map<String, Object> secret = get(volume(docs, "wireguard-key").orElseThrow(), "secret");
        assertEquals("router-key", secret.get("secretName"));
        assertEquals(List.of(Map.of("key", "wg.key", "path", "private-key")), secret.get("items"));
        assertEquals(0440, (Integer) secret.get("defaultMode"), "root's file, readable by the router's group (fsGroup)");
        Map<String, Object> mount = mountAt(docs, "wireguard-key").orElseThrow();
        assertEquals(Boolean.TRUE, mount.get("readOnly"));
        assertEquals(mount.get("mountPath") + "/private-key",
                binderOf(docs).bind("loomstack.wireguard.private-key-file", String.class).get());

        Map<String, Object> psks = get(volume(docs, "wireguard-preshared-keys").orElseThrow(), "secret");
        assertEquals("router-psks", psks.get("secretName"));
        assertEquals(null, psks.get("items"), "every key of the Secret is a file");
        Map<String, Object> pskMount = mountAt(docs, "wireguard-preshared-keys").orElseThrow();
        assertEquals(Boolean.TRUE, pskMount.get("readOnly"));
        assertEquals(pskMount.get("mountPath"), binderOf(docs).bind("loomstack.wireguard.preshared-key-dir", String.class).get());

        assertEquals("private-key", get(volume(render(WIREGUARD + "wireguard:\n  privateKeySecret: router-key\n"), "wireguard-key")
                .orElseThrow(), "secret", "items", 0, "key"), "the default key name in the Secret");
    }

    @Test
    void aGeneratedKeyNeedsAPersistentStateVolume() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> render(WIREGUARD + "persistence:\n  enabled: false\n"));
        assertTrue(e.getMessage().contains("set persistence.enabled=true or give wireguard.privateKeySecret"), e.getMessage());
        // With the key from a Secret, the identity does not depend on the volume.
        List<Map<String, Object>> docs = render(WIREGUARD + "persistence:\n  enabled: false\nwireguard:\n  privateKeySecret: k\n");
        assertEquals(Map.of(), get(volume(docs, "state").orElseThrow(), "emptyDir"));
    }

    @Test
    void theListenPortIsAUdpContainerPortBehindAUdpService() {
        List<Map<String, Object>> docs = render(WIREGUARD);
        List<Map<String, Object>> ports = get(container(docs), "ports");
        Map<String, Object> port = ports.stream().filter(p -> "wireguard".equals(p.get("name"))).findFirst().orElseThrow();
        assertEquals(51820, (Integer) port.get("containerPort"));
        assertEquals("UDP", port.get("protocol"));
        assertEquals(null, port.get("hostPort"));

        Map<String, Object> svc = find(docs, "Service", SERVICE);
        assertEquals("LoadBalancer", get(svc, "spec", "type"));
        assertEquals("Local", get(svc, "spec", "externalTrafficPolicy"), "the peer's own address reaches the router");
        assertEquals(List.of(Map.of("name", "wireguard", "protocol", "UDP", "port", 51820, "targetPort", "wireguard")),
                get(svc, "spec", "ports"));
        Map<String, Object> selector = get(ChartRender.deployment(docs), "spec", "selector", "matchLabels");
        assertEquals(selector, get(svc, "spec", "selector"));
    }

    @Test
    void theServiceTypeNodePortAndSourceRangesComeFromTheValues() {
        List<Map<String, Object>> docs = render(WIREGUARD + """
                wireguard:
                  listenPort: 41641
                  service:
                    type: NodePort
                    nodePort: 31820
                    externalTrafficPolicy: Cluster
                    annotations:
                      example.com/lb: udp
                """);
        Map<String, Object> svc = find(docs, "Service", SERVICE);
        assertEquals("NodePort", get(svc, "spec", "type"));
        assertEquals("Cluster", get(svc, "spec", "externalTrafficPolicy"));
        assertEquals(41641, (Integer) get(svc, "spec", "ports", 0, "port"));
        assertEquals(31820, (Integer) get(svc, "spec", "ports", 0, "nodePort"));
        assertEquals(Map.of("example.com/lb", "udp"), get(svc, "metadata", "annotations"));
        assertNull(get(svc, "spec", "loadBalancerSourceRanges"), "only a load balancer has source ranges");

        Map<String, Object> lb = find(render(WIREGUARD + """
                wireguard:
                  service:
                    loadBalancerSourceRanges: ["198.51.100.0/24", "2001:db8::/32"]
                """), "Service", SERVICE);
        assertEquals(List.of("198.51.100.0/24", "2001:db8::/32"), get(lb, "spec", "loadBalancerSourceRanges"));
    }

    @Test
    void theNetworkPolicyAdmitsTheWireGuardPortFromAnywhereAndTheApiAsBefore() {
        List<Map<String, Object>> docs = render(WIREGUARD + """
                networkPolicy:
                  enabled: true
                  api:
                    allowedNamespaces: [ops]
                """);
        List<Map<String, Object>> rules = get(find(docs, "NetworkPolicy", FULLNAME), "spec", "ingress");
        assertEquals(2, rules.size());
        assertEquals(List.of("ops"), ChartPodSecurityTest.namespacesAdmittedTo(rules, 8080));
        Map<String, Object> udp = rules.stream().filter(r -> !r.containsKey("from")).findFirst().orElseThrow();
        assertEquals(List.of(Map.of("protocol", "UDP", "port", 51820)), udp.get("ports"));

        List<Map<String, Object>> closed = get(find(render(WIREGUARD), "NetworkPolicy", FULLNAME), "spec", "ingress");
        assertEquals(List.of(Map.of("ports", List.of(Map.of("protocol", "UDP", "port", 51820)))), closed,
                "the peers still get in when the API admits no one");
    }

    @Test
    void tunModeHasNoneOfIt() {
        List<Map<String, Object>> docs = render(KEYS.replace("mode: wireguard", "mode: tun"));
        assertTrue(findOptional(docs, "Service", SERVICE).isEmpty());
        assertTrue(volume(docs, "wireguard-key").isEmpty());
        assertTrue(volume(docs, "wireguard-preshared-keys").isEmpty());
        assertTrue(env(docs).stream().noneMatch(e -> String.valueOf(e.get("name")).matches("LOOMSTACK_(LINK|WIREGUARD_.*)")));
        assertNull(get(podSpec(docs), "securityContext", "runAsNonRoot"));
        assertEquals(0, (Integer) get(container(docs), "securityContext", "runAsUser"));
        List<Map<String, Object>> ports = get(container(docs), "ports");
        assertTrue(ports.stream().noneMatch(p -> "UDP".equals(p.get("protocol"))));
        assertEquals(List.of(), get(find(docs, "NetworkPolicy", FULLNAME), "spec", "ingress"));
    }

    /** What `helm install` prints (NOTES.txt), rendered client-side as a dry run. */
    static String installNotes(String values) throws Exception {
        java.nio.file.Path file = java.nio.file.Files.createTempFile("loomstack-values", ".yaml");
        try {
            java.nio.file.Files.writeString(file, values);
            return new com.marcnuri.helm.Helm(ChartRender.CHART).install().withName(ChartRender.RELEASE)
                    .withNamespace(ChartRender.NAMESPACE).clientOnly().dryRun().withValuesFile(file).call().getOutput();
        } finally {
            java.nio.file.Files.deleteIfExists(file);
        }
    }

    @Test
    void theInstallNotesNameTheRestrictedLevelAndTheServiceThePeersReach() throws Exception {
        String wg = installNotes(WIREGUARD);
        assertTrue(wg.contains("pod-security.kubernetes.io/enforce=restricted"), wg);
        assertTrue(wg.contains("svc/" + SERVICE + " (LoadBalancer, UDP 51820)"), wg);
        assertTrue(wg.contains("generated once into the state volume"), wg);
        assertTrue(wg.contains("The WireGuard port (UDP 51820) is open to any source."), wg);
        String tun = installNotes("adminToken:\n  value: chosen-token-0123456789\n");
        assertTrue(tun.contains("pod-security.kubernetes.io/enforce=privileged"), tun);
        assertTrue(tun.contains("must route the tailnet's packets into loomstack0"), tun);
        assertFalse(tun.contains("WireGuard port"), tun);
    }
}
