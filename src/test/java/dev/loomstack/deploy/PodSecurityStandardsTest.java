package dev.loomstack.deploy;

import static dev.loomstack.deploy.ChartRender.get;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.loomstack.deploy.PodSecurityStandards.Level;
import dev.loomstack.deploy.PodSecurityStandards.Violation;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The checker the chart's pod is held to refuses each thing the Pod Security Standards forbid: every
 * control is shown failing on the wireguard-mode pod with one field changed, at the level that
 * forbids it (so a pod that passes it has passed real checks, not an empty list).
 */
class PodSecurityStandardsTest {
    /** The rendered wireguard-mode pod template (metadata and spec): admitted at restricted. */
    static Map<String, Object> template;

    @BeforeAll
    static void renderTheWireGuardPod() {
        template = get(ChartRender.deployment(ChartRender.render("link:\n  mode: wireguard\n")), "spec", "template");
    }

    static Set<String> checks(List<Violation> violations) {
        Set<String> ids = new TreeSet<>();
        violations.forEach(v -> ids.add(v.check()));
        return ids;
    }

    static List<Violation> check(Map<String, Object> pod, Level level) {
        return PodSecurityStandards.violations(get(pod, "metadata"), get(pod, "spec"), level);
    }

    @Test
    void theUnchangedWireGuardPodIsAdmittedAtBothLevels() {
        assertEquals(List.of(), check(template, Level.BASELINE));
        assertEquals(List.of(), check(template, Level.RESTRICTED));
    }

    static Map<String, Object> spec(Map<String, Object> pod) {
        return get(pod, "spec");
    }

    static Map<String, Object> podSc(Map<String, Object> pod) {
        return get(pod, "spec", "securityContext");
    }

    static Map<String, Object> containerSc(Map<String, Object> pod) {
        return get(pod, "spec", "containers", 0, "securityContext");
    }

    @SuppressWarnings("unchecked")
    static void annotate(Map<String, Object> pod, String key, String value) {
        Map<String, Object> metadata = get(pod, "metadata");
        ((Map<String, Object>) metadata.computeIfAbsent("annotations", k -> new LinkedHashMap<>())).put(key, value);
    }

    @SuppressWarnings("unchecked")
    static void addVolume(Map<String, Object> pod, Map<String, Object> volume) {
        ((List<Object>) spec(pod).get("volumes")).add(new LinkedHashMap<>(volume));
    }

    static Arguments change(String what, Consumer<Map<String, Object>> edit, Set<String> baseline, Set<String> restricted) {
        return Arguments.of(what, edit, baseline, restricted);
    }

    /** Forbidden at baseline, hence also at restricted. */
    static Arguments baseline(String what, Consumer<Map<String, Object>> edit, String... checks) {
        return change(what, edit, Set.of(checks), Set.of(checks));
    }

    static Arguments restrictedOnly(String what, Consumer<Map<String, Object>> edit, String... checks) {
        return change(what, edit, Set.of(), Set.of(checks));
    }

    static Arguments allowed(String what, Consumer<Map<String, Object>> edit) {
        return change(what, edit, Set.of(), Set.of());
    }

    static Stream<Arguments> changes() {
        List<Arguments> all = new ArrayList<>(List.of(
                baseline("hostNetwork", p -> spec(p).put("hostNetwork", true), "hostNamespaces"),
                baseline("hostPID", p -> spec(p).put("hostPID", true), "hostNamespaces"),
                baseline("hostIPC", p -> spec(p).put("hostIPC", true), "hostNamespaces"),
                baseline("a Windows host process", p -> podSc(p).put("windowsOptions", Map.of("hostProcess", true)),
                        "hostProcess"),
                change("a privileged container", p -> containerSc(p).put("privileged", true),
                        Set.of("privileged"), Set.of("privileged")),
                change("NET_ADMIN added", p -> containerSc(p).put("capabilities", Map.of("drop", List.of("ALL"),
                        "add", List.of("NET_ADMIN"))), Set.of("capabilities_baseline"), Set.of("capabilities_baseline",
                        "capabilities_restricted")),
                restrictedOnly("CHOWN added (in the runtime's default set)", p -> containerSc(p).put("capabilities",
                        Map.of("drop", List.of("ALL"), "add", List.of("CHOWN"))), "capabilities_restricted"),
                allowed("NET_BIND_SERVICE added", p -> containerSc(p).put("capabilities",
                        Map.of("drop", List.of("ALL"), "add", List.of("NET_BIND_SERVICE")))),
                restrictedOnly("capabilities not dropped", p -> containerSc(p).remove("capabilities"),
                        "capabilities_restricted"),
                change("a hostPath volume", p -> addVolume(p, Map.of("name", "dev", "hostPath", Map.of("path", "/dev"))),
                        Set.of("hostPathVolumes"), Set.of("restrictedVolumes")),
                restrictedOnly("an nfs volume", p -> addVolume(p, Map.of("name", "share",
                        "nfs", Map.of("server", "192.0.2.1", "path", "/"))), "restrictedVolumes"),
                allowed("a projected volume", p -> addVolume(p, Map.of("name", "token", "projected",
                        Map.of("sources", List.of())))),
                baseline("a hostPort", p -> ChartRender.<List<Map<String, Object>>>get(p, "spec", "containers", 0, "ports")
                        .getFirst().put("hostPort", 8080), "hostPorts"),
                baseline("AppArmor unconfined by annotation", p -> annotate(p,
                        "container.apparmor.security.beta.kubernetes.io/loomstack", "unconfined"), "appArmorProfile"),
                allowed("AppArmor localhost profile by annotation", p -> annotate(p,
                        "container.apparmor.security.beta.kubernetes.io/loomstack", "localhost/loomstack")),
                baseline("AppArmor unconfined by field", p -> containerSc(p).put("appArmorProfile",
                        Map.of("type", "Unconfined")), "appArmorProfile"),
                allowed("AppArmor RuntimeDefault by field", p -> podSc(p).put("appArmorProfile",
                        Map.of("type", "RuntimeDefault"))),
                baseline("SELinux type spc_t", p -> podSc(p).put("seLinuxOptions", Map.of("type", "spc_t")),
                        "seLinuxOptions"),
                baseline("SELinux user", p -> containerSc(p).put("seLinuxOptions", Map.of("user", "system_u")),
                        "seLinuxOptions"),
                allowed("SELinux level only", p -> containerSc(p).put("seLinuxOptions", Map.of("level", "s0:c1,c2"))),
                baseline("procMount Unmasked", p -> containerSc(p).put("procMount", "Unmasked"), "procMount"),
                change("seccomp Unconfined on the container", p -> containerSc(p).put("seccompProfile",
                        Map.of("type", "Unconfined")), Set.of("seccompProfile_baseline"),
                        Set.of("seccompProfile_baseline", "seccompProfile_restricted")),
                change("seccomp unconfined by the old annotation", p -> annotate(p,
                        "seccomp.security.alpha.kubernetes.io/pod", "unconfined"), Set.of("seccompProfile_baseline"),
                        Set.of("seccompProfile_baseline")),
                restrictedOnly("no seccomp profile at all", p -> {
                    podSc(p).remove("seccompProfile");
                    containerSc(p).remove("seccompProfile");
                }, "seccompProfile_restricted"),
                allowed("seccomp only on the container", p -> podSc(p).remove("seccompProfile")),
                allowed("seccomp Localhost", p -> containerSc(p).put("seccompProfile",
                        Map.of("type", "Localhost", "localhostProfile", "loomstack.json"))),
                baseline("an unsafe sysctl", p -> podSc(p).put("sysctls", List.of(Map.of("name", "net.ipv4.ip_forward",
                        "value", "1"))), "sysctls"),
                baseline("a probe aimed at another host", p -> ChartRender.<Map<String, Object>>get(p, "spec",
                        "containers", 0, "livenessProbe", "httpGet").put("host", "192.0.2.1"),
                        "hostProbesAndHostLifecycle"),
                baseline("container ulimits", p -> containerSc(p).put("ulimits", List.of()), "ulimits"),
                restrictedOnly("privilege escalation not refused", p -> containerSc(p).remove("allowPrivilegeEscalation"),
                        "allowPrivilegeEscalation"),
                restrictedOnly("privilege escalation allowed", p -> containerSc(p).put("allowPrivilegeEscalation", true),
                        "allowPrivilegeEscalation"),
                restrictedOnly("runAsNonRoot false on the container", p -> containerSc(p).put("runAsNonRoot", false),
                        "runAsNonRoot"),
                restrictedOnly("runAsNonRoot nowhere", p -> {
                    podSc(p).remove("runAsNonRoot");
                    containerSc(p).remove("runAsNonRoot");
                }, "runAsNonRoot"),
                allowed("runAsNonRoot only on the pod", p -> containerSc(p).remove("runAsNonRoot")),
                restrictedOnly("uid 0 on the pod", p -> podSc(p).put("runAsUser", 0), "runAsUser"),
                restrictedOnly("uid 0 on the container", p -> containerSc(p).put("runAsUser", 0), "runAsUser"),
                restrictedOnly("a writable cgroup", p -> containerSc(p).put("cgroupOptions", Map.of("mountMode", "Writable")),
                        "cgroupOptions_restricted")));
        return all.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("changes")
    void eachForbiddenFieldFailsItsControlAtTheLevelThatForbidsIt(String what, Consumer<Map<String, Object>> edit,
            Set<String> baseline, Set<String> restricted) {
        Map<String, Object> pod = ChartRender.deepCopy(template);
        edit.accept(pod);
        assertEquals(new TreeSet<>(baseline), checks(check(pod, Level.BASELINE)), what + " at baseline");
        assertEquals(new TreeSet<>(restricted), checks(check(pod, Level.RESTRICTED)), what + " at restricted");
    }

    @Test
    void initAndEphemeralContainersAreHeldToTheSameRules() {
        for (String kind : List.of("initContainers", "ephemeralContainers")) {
            Map<String, Object> pod = ChartRender.deepCopy(template);
            spec(pod).put(kind, List.of(Map.of("name", "setup", "image", "busybox")));
            assertEquals(Set.of("allowPrivilegeEscalation", "capabilities_restricted"), checks(check(pod, Level.RESTRICTED)),
                    kind + ": a bare container neither refuses escalation nor drops capabilities");
            assertEquals(Set.of(), checks(check(pod, Level.BASELINE)), kind);
        }
    }
}
