package dev.loomstack.testing;

import dev.loomstack.link.LinkScheduler;
import dev.loomstack.stack.TimerService;

/** Adapts the stack's timers to the {@link LinkScheduler} an impaired link holds its packets on. */
public final class LinkSchedulers {
    private LinkSchedulers() {}

    /**
     * The link's time is {@code timers}' clock and its held packets are tasks on {@code timers}; with a
     * {@link dev.loomstack.stack.ManualTimerService} they move only when the test advances time.
     */
    public static LinkScheduler on(TimerService timers) {
        return new LinkScheduler() {
            @Override
            public long nanoTime() {
                return timers.clock().nanoTime();
            }

            @Override
            public void runAt(long deadlineNanos, Runnable task) {
                timers.scheduleAt(deadlineNanos, task);
            }
        };
    }
}
