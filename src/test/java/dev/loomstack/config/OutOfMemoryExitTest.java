package dev.loomstack.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * An {@link OutOfMemoryError} ends the service's JVM instead of leaving it half-alive: the image's
 * ENTRYPOINT carries {@code -XX:+ExitOnOutOfMemoryError}, and a JVM launched with the ENTRYPOINT's
 * options exits (code 3) when one thread runs out of heap while others would keep it up; without
 * the flag the same process lingers. The flag cannot be switched on from inside the process (it is
 * a product option, not a manageable one); started without it, the service halts when such an
 * error ends a thread ({@link OutOfMemoryExit}).
 */
class OutOfMemoryExitTest {
    static final String FLAG = "-XX:+ExitOnOutOfMemoryError";
    /** HotSpot's exit code for ExitOnOutOfMemoryError. */
    static final int OOM_EXIT = OutOfMemoryExit.EXIT_CODE;

    /** The ENTRYPOINT's JVM options, without the AOT cache (built by the image) and the jar. */
    static List<String> entrypointJvmOptions() throws IOException {
        List<String> words = AotTrainingRunIT.entrypoint(AotTrainingRunIT.runtimeStage(
                AotTrainingRunIT.instructions(Files.readString(AotTrainingRunIT.DOCKERFILE))));
        assertEquals("java", words.getFirst(), words.toString());
        List<String> options = new ArrayList<>();
        for (String w : words.subList(1, words.indexOf("-jar"))) {
            if (!w.startsWith("-XX:AOTCache=")) {
                options.add(w);
            }
        }
        return options;
    }

    /** This test JVM's class path (surefire's booter jar names every entry), so the victim sees the service's classes. */
    private static Process victim(List<String> jvmOptions, String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-Xmx32m", "-cp", System.getProperty("java.class.path"), OutOfMemoryVictim.class.getName()));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).start();
    }

    @Test
    void theImageStartsTheJvmWithExitOnOutOfMemoryError() throws IOException {
        assertTrue(entrypointJvmOptions().contains(FLAG), entrypointJvmOptions().toString());
    }

    @Test
    void aJvmLaunchedLikeTheImageExitsOnOutOfMemoryError() throws Exception {
        Process p = victim(entrypointJvmOptions());
        try {
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "still running after running out of memory");
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(OOM_EXIT, p.exitValue(), out);
            assertTrue(out.contains("Terminating due to java.lang.OutOfMemoryError"), out);
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void withoutTheFlagTheSameJvmLingersHalfAlive() throws Exception {
        Process p = victim(List.of("--enable-native-access=ALL-UNNAMED"));
        try {
            var out = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String line = out.readLine();
            assertTrue(line != null && line.startsWith("out of memory in victim"), String.valueOf(line));
            // The thread died; the process did not.
            assertFalse(p.waitFor(2, TimeUnit.SECONDS), "exited without the flag");
        } finally {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void startedWithoutTheFlagTheServiceHaltsWhenAnOutOfMemoryErrorEndsAThread() throws Exception {
        Process p = victim(List.of("--enable-native-access=ALL-UNNAMED"), "guarded");
        try {
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "still running after running out of memory");
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(OOM_EXIT, p.exitValue(), out);
            assertTrue(out.contains("started without -XX:+ExitOnOutOfMemoryError"), out);
            assertTrue(out.contains("Terminating due to java.lang.OutOfMemoryError"), out);
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void theFlagCannotBeSetFromInsideTheProcess() {
        HotSpotDiagnosticMXBean hotspot = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
        assertFalse(hotspot.getVMOption("ExitOnOutOfMemoryError").isWriteable(),
                "a manageable flag could be set at start-up by the service itself");
    }
}
