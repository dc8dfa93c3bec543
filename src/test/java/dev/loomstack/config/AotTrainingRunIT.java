package dev.loomstack.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The image's AOT training step, run as the Dockerfile writes it: the packaged jar is extracted into
 * layers as the build stage does, the layers are merged into one directory as the runtime stage's
 * COPY lines do, and the training {@code RUN java ...} line, read from the Dockerfile (so the two
 * cannot drift), runs there with its absolute paths moved into a temporary directory. It must
 * exit 0 within the time bound and leave the AOT cache, and the image's ENTRYPOINT must then start
 * the service with that cache. Runs in the integration-test phase, after {@code package} built the
 * jar.
 */
class AotTrainingRunIT {
    static final Path DOCKERFILE = Path.of(System.getProperty("loomstack.dockerfile", "Dockerfile"));
    /** Generous: a training run on a loaded 2-core machine, including writing the cache. */
    static final long TIMEOUT_SECONDS = 240;

    /** Continuation lines joined: one string per Dockerfile instruction. */
    static List<String> instructions(String dockerfile) {
        List<String> out = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (String line : dockerfile.split("\n")) {
            String t = line.strip();
            if (current.isEmpty() && (t.isEmpty() || t.startsWith("#"))) {
                continue;
            }
            if (t.startsWith("#")) {
                continue;
            }
            if (t.endsWith("\\")) {
                current.append(t, 0, t.length() - 1).append(' ');
            } else {
                current.append(t);
                out.add(current.toString().replaceAll("\\s+", " ").strip());
                current.setLength(0);
            }
        }
        return out;
    }

    /** The runtime stage: everything after the last FROM. */
    static List<String> runtimeStage(List<String> instructions) {
        int from = -1;
        for (int i = 0; i < instructions.size(); i++) {
            if (instructions.get(i).startsWith("FROM ")) {
                from = i;
            }
        }
        return instructions.subList(from + 1, instructions.size());
    }

    /** The java command of the RUN that writes the AOT cache, split into arguments. */
    static List<String> trainingCommand(List<String> stage) {
        List<String> runs = stage.stream()
                .filter(s -> s.startsWith("RUN java ") && s.contains("-XX:AOTCacheOutput=")).toList();
        assertEquals(1, runs.size(), "exactly one training RUN in the runtime stage: " + runs);
        String java = runs.getFirst().substring("RUN ".length()).split("&&")[0].strip();
        assertFalse(java.contains("\"") || java.contains("'") || java.contains("$"),
                "the training line is plain words (no quoting or variables to interpret): " + java);
        return List.of(java.split(" "));
    }

    static String workdir(List<String> stage) {
        return stage.stream().filter(s -> s.startsWith("WORKDIR ")).reduce((a, b) -> b).orElseThrow()
                .substring("WORKDIR ".length()).strip();
    }

    /** The layers the runtime stage copies, in order: {@code COPY --from=build /layers/<name>/ ./}. */
    static List<String> copiedLayers(List<String> stage) {
        Pattern copy = Pattern.compile("COPY --from=build /layers/([a-z-]+)/ \\./");
        List<String> layers = new ArrayList<>();
        for (String s : stage) {
            Matcher m = copy.matcher(s);
            if (m.matches()) {
                layers.add(m.group(1));
            }
        }
        return layers;
    }

    static Path packagedJar() {
        Path jar = Path.of(System.getProperty("loomstack.jar", "target/loomstack.jar"));
        assertTrue(Files.isRegularFile(jar), "the packaged jar " + jar + " exists (this runs after package)");
        return jar;
    }

    static String javaOfThisJvm() {
        return ProcessHandle.current().info().command().orElseThrow();
    }

    /** Runs {@code command} in {@code dir}, output to {@code log}; the exit code, or fails after the bound. */
    static int run(List<String> command, Path dir, Path log) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            throw new AssertionError(command + " did not end within " + TIMEOUT_SECONDS + "s; output:\n"
                    + Files.readString(log));
        }
        return p.exitValue();
    }

    static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> all = Files.walk(from)) {
            for (Path src : (Iterable<Path>) all::iterator) {
                Path dst = to.resolve(from.relativize(src).toString());
                if (Files.isDirectory(src)) {
                    Files.createDirectories(dst);
                } else {
                    Files.copy(src, dst, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    /**
     * The file name the build stage gives the jar before extracting it (the extracted application
     * jar keeps that name): {@code java -Djarmode=tools -jar /src/loomstack.jar extract ...}.
     */
    static String extractedJarName(List<String> instructions) {
        Matcher m = Pattern.compile("java -Djarmode=tools -jar (\\S+) extract --layers").matcher(String.join("\n", instructions));
        assertTrue(m.find(), "the build stage extracts the jar into layers");
        return Path.of(m.group(1)).getFileName().toString();
    }

    @Test
    void theDockerfilesTrainingRunExitsZeroAndWritesTheAotCache(@TempDir Path tmp) throws Exception {
        List<String> all = instructions(Files.readString(DOCKERFILE, StandardCharsets.UTF_8));
        List<String> stage = runtimeStage(all);
        List<String> training = trainingCommand(stage);
        String workdir = workdir(stage);
        List<String> layers = copiedLayers(stage);
        assertEquals(List.of("dependencies", "spring-boot-loader", "snapshot-dependencies", "application"), layers);

        // Build stage: java -Djarmode=tools -jar loomstack.jar extract --layers --destination /layers
        Path jar = Files.copy(packagedJar(), Files.createDirectories(tmp.resolve("src")).resolve(extractedJarName(all)));
        Path extracted = tmp.resolve("layers");
        Path extractLog = tmp.resolve("extract.log");
        assertEquals(0, run(List.of(javaOfThisJvm(), "-Djarmode=tools", "-jar", jar.toString(),
                "extract", "--layers", "--destination", extracted.toString()), tmp, extractLog), Files.readString(extractLog));
        // Runtime stage: the COPY lines merge the layers into the working directory.
        Path app = Files.createDirectories(tmp.resolve("app"));
        for (String layer : layers) {
            if (Files.isDirectory(extracted.resolve(layer))) {
                copyTree(extracted.resolve(layer), app);
            }
        }

        // The training line, its absolute paths moved under tmp: the working directory and /tmp.
        Path fakeTmp = Files.createDirectories(tmp.resolve("tmp"));
        List<String> command = new ArrayList<>();
        for (String arg : training) {
            // Both at once, so a temporary directory that itself lies under /tmp is not moved twice.
            command.add(arg.replace(workdir + "/", "\0app\0").replace("/tmp/", "\0tmp\0")
                    .replace("\0app\0", app + "/").replace("\0tmp\0", fakeTmp + "/"));
        }
        assertEquals("java", command.getFirst());
        command.set(0, javaOfThisJvm());
        Path cache = app.resolve("loomstack.aot");
        assertTrue(command.contains("-XX:AOTCacheOutput=" + cache), command.toString());

        Path log = tmp.resolve("training.log");
        int exit = run(command, app, log);
        String output = Files.readString(log);
        assertEquals(0, exit, "the training run failed:\n" + output);
        assertTrue(Files.isRegularFile(cache) && Files.size(cache) > 0, "no AOT cache written:\n" + output);
        // It ran the real service and stopped it as SIGTERM does, in the documented order.
        assertInOrder(output, "loomstack.link=memory: no device", "serving on memory",
                "ready; exiting as loomstack.exit-when-ready asks", "admin API stopped taking requests",
                "draining 0 open flows for up to 10s", "drained: no flow left open", "link memory closed");

        // The image's ENTRYPOINT starts with that cache; AOTMode=on makes a cache it cannot use fatal.
        List<String> entrypoint = new ArrayList<>();
        for (String arg : entrypoint(stage)) {
            entrypoint.add(arg.replace(workdir + "/", app + "/"));
        }
        assertEquals("java", entrypoint.getFirst());
        assertTrue(entrypoint.contains("-XX:AOTCache=" + cache), entrypoint.toString());
        entrypoint.set(0, javaOfThisJvm());
        entrypoint.add(1, "-XX:AOTMode=on");
        entrypoint.addAll(List.of("--loomstack.link=memory", "--loomstack.exit-when-ready=true", "--server.port=0",
                "--management.server.port=0", "--loomstack.state-dir=" + fakeTmp.resolve("run"),
                "--loomstack.admin.token=run"));
        Path runLog = tmp.resolve("run.log");
        assertEquals(0, run(entrypoint, app, runLog), "the service did not start with the AOT cache:\n"
                + Files.readString(runLog));
        assertTrue(Files.readString(runLog).contains("Started LoomstackApplication"), Files.readString(runLog));
    }

    /** {@code ENTRYPOINT ["java", ...]}: the exec form's words. */
    static List<String> entrypoint(List<String> stage) {
        String line = stage.stream().filter(s -> s.startsWith("ENTRYPOINT ")).reduce((a, b) -> b).orElseThrow();
        Matcher m = Pattern.compile("\"([^\"]*)\"").matcher(line);
        List<String> words = new ArrayList<>();
        while (m.find()) {
            words.add(m.group(1));
        }
        return words;
    }

    static void assertInOrder(String output, String... lines) {
        int at = 0;
        for (String line : lines) {
            int i = output.indexOf(line, at);
            assertTrue(i >= 0, "missing, or out of order: '" + line + "' in\n" + output);
            at = i + line.length();
        }
    }
}
