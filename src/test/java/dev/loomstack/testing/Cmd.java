package dev.loomstack.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a command with a time limit and captures its output. */
public final class Cmd {
    public static final long DEFAULT_TIMEOUT_SECONDS = 60;

    private Cmd() {}

    public record Result(List<String> command, int exitCode, String output) {
        public boolean ok() {
            return exitCode == 0;
        }

        /** Throws with the command's output unless it exited 0. */
        public Result check() {
            if (exitCode != 0) {
                throw new AssertionError(String.join(" ", command) + " exited " + exitCode + ":\n" + output);
            }
            return this;
        }
    }

    public static Result run(String... command) {
        return run(DEFAULT_TIMEOUT_SECONDS, List.of(command));
    }

    /** Runs {@code command} (stderr merged into stdout); a command still running at the limit is killed. */
    public static Result run(long timeoutSeconds, List<String> command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getOutputStream().close();
            byte[][] holder = new byte[1][];
            Thread out = Thread.ofVirtual().start(() -> {
                try {
                    holder[0] = p.getInputStream().readAllBytes();
                } catch (IOException e) {
                    holder[0] = ("<output unreadable: " + e + ">").getBytes(StandardCharsets.UTF_8);
                }
            });
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
                out.join(5_000);
                return new Result(command, -1, "timed out after " + timeoutSeconds + " s\n"
                        + (holder[0] == null ? "" : new String(holder[0], StandardCharsets.UTF_8)));
            }
            out.join(5_000);
            return new Result(command, p.exitValue(), holder[0] == null ? "" : new String(holder[0], StandardCharsets.UTF_8));
        } catch (IOException e) {
            return new Result(command, -1, "cannot start: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted running " + command, e);
        }
    }
}
