package dev.loomstack.link;

/**
 * Time and deferred work for a link decorator that keeps no thread of its own: a simulation hands
 * its manual clock and timer service in through this, so held packets move only when simulated
 * time does. (The stack's {@code TimerService} sits above this package and fits in one adapter.)
 */
public interface LinkScheduler {
    /** The current time, in the nanoseconds {@link #runAt} deadlines are given in. */
    long nanoTime();

    /** Runs {@code task} once, at or after {@code deadlineNanos}; tasks due at the same time run in the order given. */
    void runAt(long deadlineNanos, Runnable task);
}
