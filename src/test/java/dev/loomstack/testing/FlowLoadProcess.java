package dev.loomstack.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * {@link FlowLoad} in a child JVM of its own (so its connections count against its own descriptor
 * limit), optionally inside a namespace: its output lines are collected as they come, and it is
 * killed on close if still running.
 */
public final class FlowLoadProcess implements AutoCloseable {
    private final Process process;
    private final List<String> command;
    private final LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final StringBuffer all = new StringBuffer();

    private FlowLoadProcess(Process process, List<String> command) {
        this.process = process;
        this.command = command;
        Thread.ofVirtual().name("flowload-out").start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    all.append(line).append('\n');
                    lines.add(line);
                }
            } catch (IOException e) {
                // The process ended.
            }
        });
    }

    /** Starts {@code FlowLoad args} in {@code ns} (null: this namespace). */
    public static FlowLoadProcess start(NetNs ns, String... args) {
        List<String> cmd = new ArrayList<>();
        if (ns != null) {
            cmd.addAll(List.of("ip", "netns", "exec", ns.name()));
        }
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        // A small heap is plenty for 10,000 sockets and keeps the box's memory for the test JVM.
        cmd.addAll(List.of("-Xmx512m", "-XX:+UseSerialGC", "-cp", classDirectory(), FlowLoad.class.getName()));
        cmd.addAll(List.of(args));
        cmd.addAll(List.of("--watch-pid", Long.toString(ProcessHandle.current().pid())));
        try {
            return new FlowLoadProcess(new ProcessBuilder(cmd).redirectErrorStream(true).start(), cmd);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + cmd, e);
        }
    }

    private static String classDirectory() {
        try {
            return Path.of(FlowLoad.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The next output line starting with {@code prefix}; fails with the output so far after {@code limit}. */
    public String awaitLine(String prefix, Duration limit) {
        long deadline = System.nanoTime() + limit.toNanos();
        try {
            while (true) {
                long left = deadline - System.nanoTime();
                String line = left > 0 ? lines.poll(left, TimeUnit.NANOSECONDS) : null;
                if (line == null) {
                    throw new AssertionError("no line \"" + prefix + "...\" from " + String.join(" ", command)
                            + " within " + limit + (process.isAlive() ? "" : " (exited " + process.exitValue() + ")")
                            + "; output:\n" + all);
                }
                if (line.startsWith(prefix)) {
                    return line;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    /** Writes one line to its input (goes on after {@code hold --pause}). */
    public void proceed() {
        try {
            OutputStream in = process.getOutputStream();
            in.write('\n');
            in.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Waits for its exit code. */
    public int awaitExit(Duration limit) {
        try {
            if (!process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new AssertionError(String.join(" ", command) + " still running after " + limit + "; output:\n" + all);
            }
            return process.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    public String output() {
        return all.toString();
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
