package dev.loomstack.stack;

/**
 * One-shot timers for the whole stack (RTO, delayed ACK, keep-alive, TIME-WAIT, persist,
 * reassembly and flow timeouts), served from a single hashed wheel rather than a thread per
 * connection. Tasks run on the timer thread and must not block.
 *
 * <p>Callers keep one {@link Runnable} per timer kind and reuse it, so scheduling allocates nothing.
 * A timer moved far more often than it fires (RTO, tail-loss probe, delayed ACK) is a
 * {@link RearmableTimer}, which costs a schedule only when its deadline moves earlier or
 * its old deadline passes.
 *
 * <p>An id names one timer: cancelling a timer that already ran returns false and affects no other.
 */
public interface TimerService {
    /** Sentinel for "no timer scheduled". */
    long NO_TIMER = -1;

    Clock clock();

    /** Runs {@code task} once at or after {@code deadlineNanos} ({@link #clock()} time). */
    long scheduleAt(long deadlineNanos, Runnable task);

    default long scheduleAfter(long delayNanos, Runnable task) {
        return scheduleAt(clock().nanoTime() + delayNanos, task);
    }

    /** Cancels a timer; false when it already ran, was cancelled, or is {@link #NO_TIMER}. */
    boolean cancel(long timerId);
}
