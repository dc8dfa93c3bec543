package dev.loomstack.wireguard;

import dev.loomstack.stack.TimerService;

/**
 * One of a peer's protocol timers, with wireguard-go's timer operations: {@link #mod} (arm for a
 * delay from now, replacing any deadline), {@link #del} and {@link #isPending}. Several are moved
 * on every packet (the persistent keepalive on every authenticated packet), so moving a deadline
 * later only records it: the entry already on the timer service fires at the old deadline, finds
 * it early and schedules itself again. At most one entry per timer exists at any time.
 *
 * <p>The action runs on the timer service's thread, outside the lock, and must not block.
 */
final class LazyTimer {
    private final TimerService timers;
    private final Runnable action;
    private final Runnable expiry = this::expired;
    /** Guarded by {@code this}. */
    private long entry = TimerService.NO_TIMER;
    private long entryDeadline;
    private long deadline;
    private boolean pending;
    private boolean stopped;

    LazyTimer(TimerService timers, Runnable action) {
        this.timers = timers;
        this.action = action;
    }

    synchronized void mod(long delayNanos) {
        if (stopped) {
            return;
        }
        deadline = timers.clock().nanoTime() + delayNanos;
        pending = true;
        if (entry != TimerService.NO_TIMER) {
            if (entryDeadline - deadline <= 0) {
                return; // fires first, then moves itself to the new deadline
            }
            if (!timers.cancel(entry)) {
                return; // expiring right now: it will find the new deadline and reschedule
            }
        }
        schedule(deadline);
    }

    synchronized void del() {
        pending = false;
    }

    synchronized boolean isPending() {
        return pending;
    }

    /** For good: no action runs any more. */
    synchronized void stop() {
        stopped = true;
        pending = false;
        if (entry != TimerService.NO_TIMER && timers.cancel(entry)) {
            entry = TimerService.NO_TIMER;
        }
    }

    private void schedule(long at) {
        entryDeadline = at;
        entry = timers.scheduleAt(at, expiry);
    }

    private void expired() {
        synchronized (this) {
            entry = TimerService.NO_TIMER;
            if (!pending || stopped) {
                return;
            }
            if (timers.clock().nanoTime() - deadline < 0) {
                schedule(deadline);
                return;
            }
            pending = false;
        }
        action.run();
    }
}
