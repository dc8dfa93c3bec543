package dev.loomstack.deploy;

import static dev.loomstack.deploy.ChartRender.FULLNAME;
import static dev.loomstack.deploy.ChartRender.container;
import static dev.loomstack.deploy.ChartRender.find;
import static dev.loomstack.deploy.ChartRender.get;
import static dev.loomstack.deploy.ChartRender.noneOfKind;
import static dev.loomstack.deploy.ChartRender.podSpec;
import static dev.loomstack.deploy.ChartRender.render;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.deploy.PodSecurityStandards.Level;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What a strict cluster expects of the pod: its own ServiceAccount without an API token, the
 * runtime's seccomp profile, pull secrets, the ping sysctl, a NetworkPolicy on the admin and
 * metrics ports, and a disruption budget only where it means something. The Pod Security level
 * each link mode's pod is admitted at, checked on the rendered pod ({@link PodSecurityStandards}).
 */
class ChartPodSecurityTest {

    /** Every value that adds a volume, a mount or an annotation to the wireguard-mode pod. */
    static final String WIREGUARD_EVERYTHING = """
            link:
              mode: wireguard
            wireguard:
              privateKeySecret: router-key
              presharedKeysSecret: router-psks
            initialNetmap:
              selfNode:
                name: router-1
                addresses: ["100.64.0.1/32"]
            config:
              dns:
                upstreams: ["192.0.2.53"]
            podAnnotations:
              example.com/owner: network-team
            """;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"link:\n  mode: wireguard\n", WIREGUARD_EVERYTHING})
    void theWireGuardModePodIsAdmittedAtTheRestrictedLevel(String values) {
        Map<String, Object> deployment = ChartRender.deployment(render(values));
        assertEquals(List.of(), PodSecurityStandards.violationsOfDeployment(deployment, Level.RESTRICTED));
        Map<String, Object> podSc = get(deployment, "spec", "template", "spec", "securityContext");
        assertEquals(Boolean.TRUE, podSc.get("runAsNonRoot"));
        assertEquals(10001, (Integer) podSc.get("runAsUser"));
        assertEquals(10001, (Integer) podSc.get("runAsGroup"));
        assertEquals(10001, (Integer) podSc.get("fsGroup"), "the state volume is group-writable for the router");
        assertEquals("RuntimeDefault", get(podSc, "seccompProfile", "type"));
        Map<String, Object> sc = get(deployment, "spec", "template", "spec", "containers", 0, "securityContext");
        assertEquals(Boolean.TRUE, sc.get("readOnlyRootFilesystem"));
        assertEquals(Boolean.FALSE, sc.get("allowPrivilegeEscalation"));
        assertEquals(List.of("ALL"), get(sc, "capabilities", "drop"));
        assertNull(get(sc, "capabilities", "add"), "adds nothing");
        assertEquals(null, sc.get("privileged"));
    }

    /** values.yaml's promise for each tun.mode: the "privileged" level, for these reasons. */
    @ParameterizedTest(name = "tun.mode={0}")
    @ValueSource(strings = {"hostPath", "devicePlugin", "privileged"})
    void everyTunModeNeedsThePrivilegedLevel(String mode) {
        Map<String, Object> deployment = ChartRender.deployment(render("tun:\n  name: loomstack0\n  mtu: 1280\n  mode: "
                + mode + "\n"));
        Set<String> expected = switch (mode) {
            case "hostPath" -> Set.of("capabilities_baseline", "hostPathVolumes");
            case "devicePlugin" -> Set.of("capabilities_baseline");
            default -> Set.of("privileged");
        };
        assertEquals(expected, PodSecurityStandardsTest.checks(
                PodSecurityStandards.violationsOfDeployment(deployment, Level.BASELINE)));
        Set<String> restricted = PodSecurityStandardsTest.checks(
                PodSecurityStandards.violationsOfDeployment(deployment, Level.RESTRICTED));
        assertTrue(restricted.containsAll(Set.of("runAsNonRoot", "runAsUser")), "root: " + restricted);
    }

    @Test
    void theNetworkPolicyAdmitsNoOneToTheAdminAndMetricsPortsByDefault() {
        Map<String, Object> np = find(render(""), "NetworkPolicy", FULLNAME);
        assertEquals(List.of("Ingress"), get(np, "spec", "policyTypes"), "egress stays open for forwarded flows");
        assertEquals(Map.of("app.kubernetes.io/name", "loomstack", "app.kubernetes.io/instance", "edge"),
                get(np, "spec", "podSelector", "matchLabels"));
        assertEquals(List.of(), get(np, "spec", "ingress"));
    }

    @Test
    void theNetworkPolicyAdmitsEachPortFromTheNamespacesNamedForIt() {
        List<Map<String, Object>> docs = render("""
                networkPolicy:
                  enabled: true
                  api:
                    allowedNamespaces: [ops]
                  metrics:
                    allowedNamespaces: [monitoring, ops]
                """);
        List<Map<String, Object>> rules = get(find(docs, "NetworkPolicy", FULLNAME), "spec", "ingress");
        assertEquals(2, rules.size());
        assertEquals(List.of("ops"), namespacesAdmittedTo(rules, 8080));
        assertEquals(List.of("monitoring", "ops"), namespacesAdmittedTo(rules, 8081));
    }

    @Test
    void theNetworkPolicyCanBeLeftOut() {
        assertTrue(noneOfKind(render("networkPolicy:\n  enabled: false\n"), "NetworkPolicy"));
    }

    /** The namespace names of the one rule that admits to {@code port}, by kubernetes.io/metadata.name. */
    static List<String> namespacesAdmittedTo(List<Map<String, Object>> rules, int port) {
        List<Map<String, Object>> matching = rules.stream()
                .filter(r -> List.of(Map.of("protocol", "TCP", "port", port)).equals(r.get("ports"))).toList();
        assertEquals(1, matching.size(), "one rule for port " + port);
        Map<String, Object> from = get(matching.getFirst(), "from", 0);
        assertEquals(1, ((List<?>) matching.getFirst().get("from")).size());
        assertEquals(null, from.get("podSelector"), "whole namespaces");
        Map<String, Object> expr = get(from, "namespaceSelector", "matchExpressions", 0);
        assertEquals("kubernetes.io/metadata.name", expr.get("key"));
        assertEquals("In", expr.get("operator"));
        return get(expr, "values");
    }

    @Test
    void thePodRunsAsItsOwnServiceAccountWithoutAnApiToken() {
        List<Map<String, Object>> docs = render("");
        Map<String, Object> sa = find(docs, "ServiceAccount", FULLNAME);
        assertEquals(Boolean.FALSE, sa.get("automountServiceAccountToken"));
        assertEquals(FULLNAME, podSpec(docs).get("serviceAccountName"));
        assertEquals(Boolean.FALSE, podSpec(docs).get("automountServiceAccountToken"));

        List<Map<String, Object>> given = render("serviceAccount:\n  create: false\n  name: routers\n");
        assertTrue(noneOfKind(given, "ServiceAccount"));
        assertEquals("routers", podSpec(given).get("serviceAccountName"));
        assertEquals(Boolean.FALSE, podSpec(given).get("automountServiceAccountToken"));
    }

    @Test
    void podAndContainerUseTheRuntimesSeccompProfileAndAReadOnlyRoot() {
        List<Map<String, Object>> docs = render("");
        assertEquals("RuntimeDefault", get(podSpec(docs), "securityContext", "seccompProfile", "type"));
        assertEquals("RuntimeDefault", get(container(docs), "securityContext", "seccompProfile", "type"));
        assertEquals(Boolean.TRUE, get(container(docs), "securityContext", "readOnlyRootFilesystem"));
        assertEquals(Boolean.FALSE, get(container(docs), "securityContext", "allowPrivilegeEscalation"));
    }

    @Test
    void unprivilegedPingSocketsAreAllowedByTheSafeSysctl() {
        List<Map<String, Object>> sysctls = get(podSpec(render("")), "securityContext", "sysctls");
        assertEquals(List.of(Map.of("name", "net.ipv4.ping_group_range", "value", "0 2147483647")), sysctls);
    }

    @Test
    void imagePullSecretsReachThePod() {
        List<Map<String, Object>> docs = render("imagePullSecrets:\n  - name: regcred\n");
        assertEquals(List.of(Map.of("name", "regcred")), podSpec(docs).get("imagePullSecrets"));
        assertEquals(null, podSpec(render("")).get("imagePullSecrets"));
    }

    @Test
    void aDisruptionBudgetIsOptInAndThenHoldsTheSingleRouterAgainstEviction() {
        assertTrue(noneOfKind(render(""), "PodDisruptionBudget"),
                "maxUnavailable 1 of one pod would mean nothing; minAvailable 1 would block every drain unasked");
        Map<String, Object> pdb = find(render("podDisruptionBudget:\n  enabled: true\n"), "PodDisruptionBudget", FULLNAME);
        assertEquals(0, (Integer) get(pdb, "spec", "maxUnavailable"));
        assertEquals("AlwaysAllow", get(pdb, "spec", "unhealthyPodEvictionPolicy"),
                "a router that is not ready does not hold a node");
        assertEquals(Map.of("app.kubernetes.io/name", "loomstack", "app.kubernetes.io/instance", "edge"),
                get(pdb, "spec", "selector", "matchLabels"));
    }
}
