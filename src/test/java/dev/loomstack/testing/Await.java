package dev.loomstack.testing;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Waits for a condition with a bounded deadline: the test's alternative to sleeping. */
public final class Await {
    private static final long POLL_MILLIS = 10;

    private Await() {}

    public static void until(Duration limit, String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("not within " + limit + ": " + what);
            }
            try {
                Thread.sleep(POLL_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting for " + what, e);
            }
        }
    }
}
