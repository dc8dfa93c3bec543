package dev.loomstack.testing;

import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;

/**
 * A line on the console every few seconds while a long step of a test runs ("TcpEndToEndTest: 2 %
 * loss, download over IPv4: 12 MiB of 32 MiB through after 10 s"), so that a slow run of the suite
 * is never silent for minutes and a stalled transfer shows where it stopped. A step that ends
 * within the first interval prints nothing.
 */
public final class Progress implements AutoCloseable {
    public static final Duration EVERY = Duration.ofSeconds(5);
    private static final double MIB = 1 << 20;

    private final String what;
    private final long total;
    private final LongSupplier done;
    private final long startedNanos = System.nanoTime();
    private final Thread reporter;
    private volatile boolean closed;

    private Progress(String what, long total, LongSupplier done) {
        this.what = what;
        this.total = total;
        this.done = done;
        this.reporter = Thread.ofVirtual().name("progress").start(this::report);
    }

    /** Reports {@code done} against {@code totalBytes} until closed; {@code done} counts from zero. */
    public static Progress ofBytes(String what, long totalBytes, LongSupplier done) {
        return new Progress(what, totalBytes, done);
    }

    private void report() {
        long every = EVERY.toNanos();
        long next = startedNanos + every;
        // Ends when the step is closed; at most one line per interval.
        while (!closed) {
            LockSupport.parkNanos(next - System.nanoTime());
            if (!closed && System.nanoTime() - next >= 0) {
                System.out.println(line());
                next += every;
            }
        }
    }

    String line() {
        return String.format(Locale.ROOT, "%s: %.0f MiB of %.0f MiB through after %d s", what,
                done.getAsLong() / MIB, total / MIB, Duration.ofNanos(System.nanoTime() - startedNanos).toSeconds());
    }

    @Override
    public void close() {
        closed = true;
        LockSupport.unpark(reporter);
    }
}
