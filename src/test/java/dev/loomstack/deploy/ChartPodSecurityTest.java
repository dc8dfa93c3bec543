package dev.loomstack.deploy;

import static dev.loomstack.deploy.ChartRender.FULLNAME;
import static dev.loomstack.deploy.ChartRender.container;
import static dev.loomstack.deploy.ChartRender.find;
import static dev.loomstack.deploy.ChartRender.get;
import static dev.loomstack.deploy.ChartRender.noneOfKind;
import static dev.loomstack.deploy.ChartRender.podSpec;
import static dev.loomstack.deploy.ChartRender.render;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * What a strict cluster expects of the pod: its own ServiceAccount without an API token, the
 * runtime's seccomp profile, pull secrets, the ping sysctl, a NetworkPolicy on the admin and
 * metrics ports, and a disruption budget only where it means something.
 */
class ChartPodSecurityTest {

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
