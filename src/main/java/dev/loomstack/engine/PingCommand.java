package dev.loomstack.engine;

import dev.loomstack.packet.IpAddress;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The ping relay's fallback where the kernel refuses ping sockets: one {@code ping}, as Tailscale's
 * netstack runs it on Linux. Nothing waits for it: the JDK's process reaper completes the future
 * when the command exits, and a command that outlives its deadline is killed.
 */
final class PingCommand {
    /** Beyond {@code ping -W}: time for the command itself to start and exit. */
    static final Duration GRACE = Duration.ofSeconds(2);

    private PingCommand() {}

    /** Starts {@code ping -c 1 -W timeout target}; completes true when it exits 0. */
    static CompletableFuture<Boolean> run(IpAddress target, Duration timeout) {
        Process p;
        try {
            p = new ProcessBuilder("ping", target.v4() ? "-4" : "-6", "-c", "1", "-W",
                    Long.toString(Math.max(1, timeout.toSeconds())), target.toString())
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
        } catch (IOException e) {
            return CompletableFuture.failedFuture(e);
        }
        try {
            // ping reads nothing: its stdin pipe is closed at once rather than left to the collector.
            p.getOutputStream().close();
        } catch (IOException ignored) {
            // Already closed.
        }
        CompletableFuture<Boolean> done = p.onExit().thenApply(exited -> exited.exitValue() == 0)
                .completeOnTimeout(false, timeout.plus(GRACE).toMillis(), TimeUnit.MILLISECONDS);
        done.whenComplete((ok, e) -> {
            if (p.isAlive()) {
                p.destroyForcibly();
            }
        });
        return done;
    }
}
