package dev.loomstack.deploy;

import static dev.loomstack.deploy.ChartRender.get;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The Kubernetes Pod Security Standards' "baseline" and "restricted" levels, checked on a pod as
 * YAML maps (a rendered pod template's metadata and spec), control by control as the built-in
 * PodSecurity admission controller evaluates them at its newest version ("restricted:latest").
 * Each control's name is the admission controller's check ID, so a violation reads like its
 * warning ("violates PodSecurity restricted:latest: runAsNonRoot ...").
 *
 * <p>Deliberately stricter in two places, so that a pod passing here passes on every cluster from
 * Kubernetes 1.25 (PodSecurity admission GA) on: the safe sysctls are the original five (later
 * versions add more), and the relaxations for Windows pods and for pods in a user namespace
 * ({@code hostUsers: false}) are not granted.
 */
final class PodSecurityStandards {

    enum Level { BASELINE, RESTRICTED }

    /** One failed control: its check ID and what failed. */
    record Violation(String check, String detail) {}

    /** Baseline: capabilities beyond the container runtime's default set may not be added. */
    static final Set<String> BASELINE_CAPABILITIES = Set.of("AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID",
            "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT");
    /** Sysctls that are namespaced and isolated from other pods (the 1.0 list; see the class comment). */
    static final Set<String> SAFE_SYSCTLS = Set.of("kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range",
            "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start");
    static final Set<String> SELINUX_TYPES = Set.of("", "container_t", "container_init_t", "container_kvm_t",
            "container_engine_t");
    /** Restricted: the only inline volume sources allowed. */
    static final Set<String> RESTRICTED_VOLUME_SOURCES = Set.of("configMap", "csi", "downwardAPI", "emptyDir",
            "ephemeral", "persistentVolumeClaim", "projected", "secret");
    static final String APPARMOR_ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/";
    static final String SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod";
    static final String SECCOMP_CONTAINER_ANNOTATION_PREFIX = "container.seccomp.security.alpha.kubernetes.io/";

    private PodSecurityStandards() {}

    /** Every violation of {@code level} (restricted includes baseline); empty when the pod is admitted. */
    static List<Violation> violations(Map<String, Object> podMetadata, Map<String, Object> podSpec, Level level) {
        var c = new Checker(podMetadata == null ? Map.of() : podMetadata, podSpec, level);
        c.baseline();
        if (level == Level.RESTRICTED) {
            c.restricted();
        }
        return List.copyOf(c.violations);
    }

    /** The pod template of a Deployment, as the admission controller sees the pods it creates. */
    static List<Violation> violationsOfDeployment(Map<String, Object> deployment, Level level) {
        return violations(get(deployment, "spec", "template", "metadata"), get(deployment, "spec", "template", "spec"),
                level);
    }

    private static final class Checker {
        final Map<String, Object> metadata;
        final Map<String, Object> spec;
        final Map<String, Object> podSc;
        final Level level;
        final List<Violation> violations = new ArrayList<>();

        Checker(Map<String, Object> metadata, Map<String, Object> spec, Level level) {
            this.metadata = metadata;
            this.spec = spec;
            this.level = level;
            Map<String, Object> sc = get(spec, "securityContext");
            this.podSc = sc == null ? Map.of() : sc;
        }

        void fail(String check, String detail) {
            violations.add(new Violation(check, detail));
        }

        /** containers, initContainers and ephemeralContainers, as the controller visits them. */
        void eachContainer(Consumer<Map<String, Object>> visit) {
            for (String kind : List.of("containers", "initContainers", "ephemeralContainers")) {
                List<Map<String, Object>> list = get(spec, kind);
                if (list != null) {
                    list.forEach(visit);
                }
            }
        }

        static Map<String, Object> sc(Map<String, Object> container) {
            Map<String, Object> sc = get(container, "securityContext");
            return sc == null ? Map.of() : sc;
        }

        static String name(Map<String, Object> container) {
            return String.valueOf(container.get("name"));
        }

        Map<String, String> annotations() {
            Map<String, String> a = get(metadata, "annotations");
            return a == null ? Map.of() : a;
        }

        void baseline() {
            // HostProcess: Windows host-process containers reach the host.
            if (Boolean.TRUE.equals(get(podSc, "windowsOptions", "hostProcess"))) {
                fail("hostProcess", "pod sets windowsOptions.hostProcess");
            }
            eachContainer(c -> {
                if (Boolean.TRUE.equals(get(sc(c), "windowsOptions", "hostProcess"))) {
                    fail("hostProcess", "container " + name(c) + " sets windowsOptions.hostProcess");
                }
            });
            // Host namespaces.
            for (String ns : List.of("hostNetwork", "hostPID", "hostIPC")) {
                if (Boolean.TRUE.equals(spec.get(ns))) {
                    fail("hostNamespaces", ns + "=true");
                }
            }
            // Privileged containers.
            eachContainer(c -> {
                if (Boolean.TRUE.equals(sc(c).get("privileged"))) {
                    fail("privileged", "container " + name(c) + " is privileged");
                }
            });
            // Capabilities beyond the runtime's default set.
            eachContainer(c -> {
                List<String> add = get(sc(c), "capabilities", "add");
                for (String cap : add == null ? List.<String>of() : add) {
                    if (!BASELINE_CAPABILITIES.contains(cap)) {
                        fail("capabilities_baseline", "container " + name(c) + " adds " + cap);
                    }
                }
            });
            // HostPath volumes (at restricted, restrictedVolumes takes this check's place, as in the controller).
            for (Map<String, Object> v : level == Level.RESTRICTED ? List.<Map<String, Object>>of() : volumes()) {
                if (v.containsKey("hostPath")) {
                    fail("hostPathVolumes", "volume " + v.get("name") + " is a hostPath");
                }
            }
            // Host ports.
            eachContainer(c -> {
                List<Map<String, Object>> ports = get(c, "ports");
                for (Map<String, Object> p : ports == null ? List.<Map<String, Object>>of() : ports) {
                    Object hostPort = p.get("hostPort");
                    if (hostPort != null && ((Number) hostPort).intValue() != 0) {
                        fail("hostPorts", "container " + name(c) + " uses hostPort " + hostPort);
                    }
                }
            });
            // AppArmor: the annotation or the field may ask for the runtime's or a local profile, not none.
            annotations().forEach((k, v) -> {
                if (k.startsWith(APPARMOR_ANNOTATION_PREFIX) && !(v.isEmpty() || "runtime/default".equals(v)
                        || v.startsWith("localhost/"))) {
                    fail("appArmorProfile", k + "=" + v);
                }
            });
            checkAppArmorField("pod", podSc);
            eachContainer(c -> checkAppArmorField("container " + name(c), sc(c)));
            // SELinux: only the container types, no user or role.
            checkSeLinux("pod", podSc);
            eachContainer(c -> checkSeLinux("container " + name(c), sc(c)));
            // /proc mount: the default, masked one.
            eachContainer(c -> {
                Object procMount = sc(c).get("procMount");
                if (procMount != null && !"Default".equals(procMount)) {
                    fail("procMount", "container " + name(c) + " sets procMount " + procMount);
                }
            });
            // Seccomp: never unconfined (fields and the old annotations).
            if ("Unconfined".equals(get(podSc, "seccompProfile", "type"))) {
                fail("seccompProfile_baseline", "pod sets seccompProfile Unconfined");
            }
            eachContainer(c -> {
                if ("Unconfined".equals(get(sc(c), "seccompProfile", "type"))) {
                    fail("seccompProfile_baseline", "container " + name(c) + " sets seccompProfile Unconfined");
                }
            });
            annotations().forEach((k, v) -> {
                if ((k.equals(SECCOMP_POD_ANNOTATION) || k.startsWith(SECCOMP_CONTAINER_ANNOTATION_PREFIX))
                        && "unconfined".equals(v)) {
                    fail("seccompProfile_baseline", k + "=" + v);
                }
            });
            // Sysctls: the safe set only.
            List<Map<String, Object>> sysctls = get(podSc, "sysctls");
            for (Map<String, Object> s : sysctls == null ? List.<Map<String, Object>>of() : sysctls) {
                if (!SAFE_SYSCTLS.contains(String.valueOf(s.get("name")))) {
                    fail("sysctls", "sysctl " + s.get("name"));
                }
            }
            // Probes and lifecycle handlers may not aim at another host (1.34).
            eachContainer(c -> {
                for (String probe : List.of("livenessProbe", "readinessProbe", "startupProbe")) {
                    checkHost(c, probe, get(c, probe));
                }
                for (String hook : List.of("postStart", "preStop")) {
                    checkHost(c, "lifecycle." + hook, get(c, "lifecycle", hook));
                }
            });
            // Container ulimits (1.37).
            eachContainer(c -> {
                if (sc(c).get("ulimits") != null) {
                    fail("ulimits", "container " + name(c) + " sets ulimits");
                }
            });
        }

        void restricted() {
            // Volume types: the core ones and those defined through PersistentVolumes.
            for (Map<String, Object> v : volumes()) {
                for (String key : v.keySet()) {
                    if (!"name".equals(key) && !RESTRICTED_VOLUME_SOURCES.contains(key)) {
                        fail("restrictedVolumes", "volume " + v.get("name") + " uses " + key);
                    }
                }
            }
            // Privilege escalation: every container must say false.
            eachContainer(c -> {
                if (!Boolean.FALSE.equals(sc(c).get("allowPrivilegeEscalation"))) {
                    fail("allowPrivilegeEscalation", "container " + name(c) + " must set allowPrivilegeEscalation=false");
                }
            });
            // Running as non-root: the pod says true and no container says false, or every container says true.
            Object podNonRoot = podSc.get("runAsNonRoot");
            if (Boolean.FALSE.equals(podNonRoot)) {
                fail("runAsNonRoot", "pod sets runAsNonRoot=false");
            }
            eachContainer(c -> {
                Object nonRoot = sc(c).get("runAsNonRoot");
                if (Boolean.FALSE.equals(nonRoot)) {
                    fail("runAsNonRoot", "container " + name(c) + " sets runAsNonRoot=false");
                } else if (nonRoot == null && !Boolean.TRUE.equals(podNonRoot)) {
                    fail("runAsNonRoot", "pod or container " + name(c) + " must set runAsNonRoot=true");
                }
            });
            // Running as a non-root user: uid 0 is refused wherever it is set.
            if (isZero(podSc.get("runAsUser"))) {
                fail("runAsUser", "pod sets runAsUser=0");
            }
            eachContainer(c -> {
                if (isZero(sc(c).get("runAsUser"))) {
                    fail("runAsUser", "container " + name(c) + " sets runAsUser=0");
                }
            });
            // Seccomp: RuntimeDefault or Localhost, on the pod or on every container.
            Object podSeccomp = get(podSc, "seccompProfile", "type");
            if (podSeccomp != null && !validSeccomp(podSeccomp)) {
                fail("seccompProfile_restricted", "pod sets seccompProfile " + podSeccomp);
            }
            eachContainer(c -> {
                Object type = get(sc(c), "seccompProfile", "type");
                if (type != null && !validSeccomp(type)) {
                    fail("seccompProfile_restricted", "container " + name(c) + " sets seccompProfile " + type);
                } else if (type == null && !validSeccomp(podSeccomp)) {
                    fail("seccompProfile_restricted", "pod or container " + name(c)
                            + " must set seccompProfile RuntimeDefault or Localhost");
                }
            });
            // Capabilities: drop ALL, add at most NET_BIND_SERVICE.
            eachContainer(c -> {
                List<String> drop = get(sc(c), "capabilities", "drop");
                if (drop == null || !drop.contains("ALL")) {
                    fail("capabilities_restricted", "container " + name(c) + " must drop ALL");
                }
                List<String> add = get(sc(c), "capabilities", "add");
                for (String cap : add == null ? List.<String>of() : add) {
                    if (!"NET_BIND_SERVICE".equals(cap)) {
                        fail("capabilities_restricted", "container " + name(c) + " adds " + cap);
                    }
                }
            });
            // Writable cgroups (1.38).
            eachContainer(c -> {
                if ("Writable".equals(get(sc(c), "cgroupOptions", "mountMode"))) {
                    fail("cgroupOptions_restricted", "container " + name(c) + " mounts its cgroup writable");
                }
            });
        }

        List<Map<String, Object>> volumes() {
            List<Map<String, Object>> v = get(spec, "volumes");
            return v == null ? List.of() : v;
        }

        void checkAppArmorField(String who, Map<String, Object> sc) {
            Object type = get(sc, "appArmorProfile", "type");
            if (type != null && !"RuntimeDefault".equals(type) && !"Localhost".equals(type)) {
                fail("appArmorProfile", who + " sets appArmorProfile " + type);
            }
        }

        void checkSeLinux(String who, Map<String, Object> sc) {
            Map<String, Object> opts = get(sc, "seLinuxOptions");
            if (opts == null) {
                return;
            }
            String type = Objects.toString(opts.get("type"), "");
            if (!SELINUX_TYPES.contains(type)) {
                fail("seLinuxOptions", who + " sets SELinux type " + type);
            }
            for (String field : List.of("user", "role")) {
                if (!Objects.toString(opts.get(field), "").isEmpty()) {
                    fail("seLinuxOptions", who + " sets SELinux " + field);
                }
            }
        }

        void checkHost(Map<String, Object> container, String where, Map<String, Object> handler) {
            if (handler == null) {
                return;
            }
            for (String action : List.of("httpGet", "tcpSocket")) {
                String host = Objects.toString(get(handler, action, "host"), "");
                if (!host.isEmpty()) {
                    fail("hostProbesAndHostLifecycle", "container " + name(container) + " " + where + " aims at " + host);
                }
            }
        }

        static boolean isZero(Object uid) {
            return uid instanceof Number n && n.longValue() == 0;
        }

        static boolean validSeccomp(Object type) {
            return "RuntimeDefault".equals(type) || "Localhost".equals(type);
        }
    }
}
