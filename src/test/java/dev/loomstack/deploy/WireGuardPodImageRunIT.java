package dev.loomstack.deploy;

import static dev.loomstack.deploy.ChartRender.container;
import static dev.loomstack.deploy.ChartRender.envVar;
import static dev.loomstack.deploy.ChartRender.get;
import static dev.loomstack.deploy.ChartRender.podSpec;
import static dev.loomstack.deploy.ChartRender.volumeMounts;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The image runs under the wireguard-mode pod's security context: the application files and the
 * AOT cache written as root at build time (the Dockerfile's training RUN), then the Dockerfile's
 * ENTRYPOINT as the chart's uid and gid, without capabilities and with no_new_privs
 * (allowPrivilegeEscalation: false), on a read-only root filesystem where only the chart's writable
 * mounts are writable: /tmp (an empty tmpfs, as the emptyDir) and the state directory (group-owned
 * by the fsGroup with the setgid bit, as the kubelet leaves a volume). It must start with the AOT
 * cache (AOTMode=on: an unusable cache is fatal), write its state, and stop cleanly.
 *
 * <p>The link is loomstack.link=memory, which needs nothing from the host either: wireguard mode
 * adds a UDP socket on an unprivileged port. Needs root, unshare(1) and setpriv(1) to build the
 * pod's conditions; runs in the integration-test phase, after {@code package} built the jar.
 */
class WireGuardPodImageRunIT {
    static final Path DOCKERFILE = Path.of(System.getProperty("loomstack.dockerfile", "Dockerfile"));
    /** Generous: a training run and a start on a loaded 2-core machine. */
    static final long TIMEOUT_SECONDS = 240;
    /** Under the root filesystem (not /tmp, which the pod gets as a fresh tmpfs), traversable by any user. */
    static final Path SCRATCH = Path.of("/var/tmp");

    /** Continuation lines joined: one string per Dockerfile instruction, comments left out. */
    static List<String> instructions(String dockerfile) {
        List<String> out = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (String line : dockerfile.split("\n")) {
            String t = line.strip();
            if (t.isEmpty() && current.isEmpty() || t.startsWith("#")) {
                continue;
            }
            if (t.endsWith("\\")) {
                current.append(t, 0, t.length() - 1).append(' ');
            } else {
                out.add(current.append(t).toString().replaceAll("\\s+", " ").strip());
                current.setLength(0);
            }
        }
        return out;
    }

    /** The words of the runtime stage's training command (the RUN that writes the AOT cache). */
    static List<String> trainingCommand(List<String> instructions) {
        String run = instructions.stream().filter(s -> s.startsWith("RUN java ") && s.contains("-XX:AOTCacheOutput="))
                .reduce((a, b) -> b).orElseThrow();
        return List.of(run.substring("RUN ".length()).split("&&")[0].strip().split(" "));
    }

    /** {@code ENTRYPOINT ["java", ...]}: the exec form's words. */
    static List<String> entrypoint(List<String> instructions) {
        String line = instructions.stream().filter(s -> s.startsWith("ENTRYPOINT ")).reduce((a, b) -> b).orElseThrow();
        Matcher m = Pattern.compile("\"([^\"]*)\"").matcher(line);
        List<String> words = new ArrayList<>();
        while (m.find()) {
            words.add(m.group(1));
        }
        return words;
    }

    static String workdir(List<String> instructions) {
        return instructions.stream().filter(s -> s.startsWith("WORKDIR ")).reduce((a, b) -> b).orElseThrow()
                .substring("WORKDIR ".length()).strip();
    }

    static String javaOfThisJvm() {
        return ProcessHandle.current().info().command().orElseThrow();
    }

    static boolean onPath(String tool) {
        return Stream.of("/usr/bin", "/bin", "/usr/sbin", "/sbin").anyMatch(d -> Files.isExecutable(Path.of(d, tool)));
    }

    static int run(List<String> command, Path dir, Map<String, String> env, Path log) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        pb.environment().putAll(env);
        Process p = pb.start();
        if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            throw new AssertionError(command + " did not end within " + TIMEOUT_SECONDS + "s:\n" + Files.readString(log));
        }
        return p.exitValue();
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** Builds the pod's filesystem in a private mount namespace, then execs the entrypoint as the pod's user. */
    static final String POD_SCRIPT = """
            set -e
            state="$1"; uid="$2"; gid="$3"; shift 3
            mount --bind "$state" "$state"
            mount -o remount,bind,ro /
            mount -t tmpfs -o mode=1777 tmpfs /tmp
            if touch /var/tmp/loomstack-probe 2>/dev/null; then echo "root filesystem writable"; exit 9; fi
            echo "root filesystem read-only"
            exec setpriv --reuid="$uid" --regid="$gid" --groups="$gid" --no-new-privs --inh-caps=-all \
              --bounding-set=-all -- "$@"
            """;

    @Test
    void theImageRunsAsTheWireGuardPodsUserWithNoCapabilitiesOnAReadOnlyRoot() throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "skipped: needs root to build the pod's mounts");
        Assumptions.assumeTrue(onPath("unshare") && onPath("setpriv"), "skipped: needs unshare(1) and setpriv(1)");

        // The pod as the chart renders it in wireguard mode.
        List<Map<String, Object>> docs = ChartRender.render("link:\n  mode: wireguard\n");
        Map<String, Object> podSc = get(podSpec(docs), "securityContext");
        Map<String, Object> sc = get(container(docs), "securityContext");
        int uid = (Integer) podSc.get("runAsUser");
        int gid = (Integer) podSc.get("runAsGroup");
        assertEquals(gid, (Integer) podSc.get("fsGroup"));
        assertEquals(Boolean.TRUE, sc.get("readOnlyRootFilesystem"));
        assertEquals(List.of("ALL"), get(sc, "capabilities", "drop"));
        String stateInPod = (String) get(envVar(docs, "LOOMSTACK_STATEDIR").orElseThrow(), "value");
        Set<String> writable = volumeMounts(docs).stream().filter(m -> !Boolean.TRUE.equals(m.get("readOnly")))
                .map(m -> (String) m.get("mountPath")).collect(Collectors.toSet());
        assertEquals(Set.of(stateInPod, "/tmp"), writable, "what this run makes writable, and nothing else");
        String javaToolOptions = (String) get(envVar(docs, "JAVA_TOOL_OPTIONS").orElseThrow(), "value");

        List<String> dockerfile = instructions(Files.readString(DOCKERFILE, StandardCharsets.UTF_8));
        String workdir = workdir(dockerfile);
        Path jar = Path.of(System.getProperty("loomstack.jar", "target/loomstack.jar"));
        assertTrue(Files.isRegularFile(jar), "the packaged jar " + jar + " exists (this runs after package)");

        Path image = Files.createTempDirectory(SCRATCH, "loomstack-pod-");
        try {
            Files.setPosixFilePermissions(image, PosixFilePermissions.fromString("rwxr-xr-x"));
            // The image's files, root's and world-readable as COPY leaves them (the plain jar stands in
            // for the extracted layers: the same java -jar of the same classes).
            Path app = Files.createDirectories(image.resolve(workdir.substring(1)));
            Files.copy(jar, app.resolve("loomstack.jar"));
            Path buildTmp = Files.createDirectories(image.resolve("build-tmp"));

            // Build time, as root: the Dockerfile's training RUN writes the AOT cache.
            List<String> training = new ArrayList<>();
            for (String w : trainingCommand(dockerfile)) {
                training.add(w.replace(workdir + "/", "\0app\0").replace("/tmp/", "\0tmp\0")
                        .replace("\0app\0", app + "/").replace("\0tmp\0", buildTmp + "/"));
            }
            training.set(0, javaOfThisJvm());
            Path trainingLog = image.resolve("training.log");
            assertEquals(0, run(training, app, Map.of(), trainingLog), Files.readString(trainingLog));
            Path cache = app.resolve("loomstack.aot");
            assertTrue(Files.isRegularFile(cache), "the training run wrote the AOT cache");
            assertTrue(Files.getPosixFilePermissions(cache).contains(java.nio.file.attribute.PosixFilePermission.OTHERS_READ),
                    "the cache is readable by a non-root user");

            // The state volume as the kubelet hands it over with fsGroup: the group's, setgid, group-writable.
            Path state = Files.createDirectories(image.resolve("state"));
            Path setupLog = image.resolve("setup.log");
            assertEquals(0, run(List.of("chgrp", String.valueOf(gid), state.toString()), image, Map.of(), setupLog));
            assertEquals(0, run(List.of("chmod", "2775", state.toString()), image, Map.of(), setupLog));
            // The netmap ConfigMap: read-only, applied and persisted on the first start.
            Path netmap = Files.writeString(image.resolve("netmap.json"), """
                    {"selfNode":{"name":"router-1","addresses":["100.64.0.1/32"],"allowedIPs":["100.64.0.1/32"]},
                     "peers":[{"name":"laptop","addresses":["100.64.0.2/32"]}],"domain":"tail.example"}
                    """);

            // Run time, as the pod: the ENTRYPOINT, the chart's environment, the state directory where the volume is.
            List<String> entrypoint = new ArrayList<>();
            for (String w : entrypoint(dockerfile)) {
                entrypoint.add(w.replace(workdir + "/", app + "/"));
            }
            assertTrue(entrypoint.contains("-XX:AOTCache=" + cache), entrypoint.toString());
            entrypoint.set(0, javaOfThisJvm());
            entrypoint.add(1, "-XX:AOTMode=on");
            entrypoint.addAll(List.of("--loomstack.link=memory", "--loomstack.exit-when-ready=true", "--server.port=0",
                    "--management.server.port=0"));
            List<String> command = new ArrayList<>(List.of("unshare", "--mount", "--propagation", "private", "--",
                    "sh", "-c", POD_SCRIPT, "pod", state.toString(), String.valueOf(uid), String.valueOf(gid)));
            command.addAll(entrypoint);
            Path log = image.resolve("pod.log");
            int exit = run(command, app, Map.of("JAVA_TOOL_OPTIONS", javaToolOptions, "LOOMSTACK_STATEDIR", state.toString(),
                    "LOOMSTACK_INITIALNETMAP", netmap.toString()), log);
            String output = Files.readString(log);
            assertEquals(0, exit, "the service did not run as the pod's user:\n" + output);
            assertTrue(output.contains("root filesystem read-only"), output);
            assertTrue(output.contains("Started LoomstackApplication"), output);
            assertFalse(output.contains("Read-only file system"), "wrote outside /tmp and the state volume:\n" + output);

            for (String file : List.of("state.json", "admin-token")) {
                PosixFileAttributes a = Files.readAttributes(state.resolve(file), PosixFileAttributes.class);
                assertEquals(String.valueOf(uid), a.owner().getName(), file + " written by the pod's user");
                assertEquals(String.valueOf(gid), a.group().getName(), file + " in the volume's group");
            }
            assertFalse(Files.exists(SCRATCH.resolve("loomstack-probe")), "the probe could not write the root filesystem");
        } finally {
            deleteTree(image);
        }
    }
}
