package dev.loomstack.stack;

import java.util.concurrent.locks.Lock;

/**
 * A timer that is moved far more often than it fires, such as the retransmission timer RFC 6298
 * section 5.3 restarts on every ACK of new data. Moving the deadline later only records it: the
 * entry already on the wheel fires at the old deadline, finds it early and schedules itself again
 * for the recorded one. Moving it earlier reschedules at once. A busy connection so costs about one
 * wheel operation per timeout period instead of a cancel and a schedule per ACK.
 *
 * <p>The owner's lock guards this object: call every method holding it. The task runs holding it
 * too, which makes "is this expiry still wanted?" and the task one step with respect to the owner.
 * At most one wheel entry exists per timer, so a timer costs nothing to move while it is pending.
 */
public final class RearmableTimer {
    private final TimerService timers;
    private final Lock ownerLock;
    private final Runnable task;
    private final Runnable expiry = this::onExpiry;
    /** The one wheel entry (pending, or expired and about to run), or {@link TimerService#NO_TIMER}. */
    private long entry = TimerService.NO_TIMER;
    private long entryDeadline;
    private long deadline;
    private boolean armed;

    public RearmableTimer(TimerService timers, Lock ownerLock, Runnable task) {
        this.timers = timers;
        this.ownerLock = ownerLock;
        this.task = task;
    }

    /** Arms the timer for {@code delayNanos} from now, replacing any earlier or later deadline. */
    public void armAfter(long delayNanos) {
        armAt(timers.clock().nanoTime() + delayNanos);
    }

    /** Arms the timer for {@code deadlineNanos} ({@link TimerService#clock()} time), replacing any other. */
    public void armAt(long deadlineNanos) {
        deadline = deadlineNanos;
        armed = true;
        if (entry != TimerService.NO_TIMER) {
            if (entryDeadline - deadlineNanos <= 0) {
                return; // the entry fires first and moves itself to the new deadline
            }
            if (!timers.cancel(entry)) {
                return; // it expired already and is waiting for the lock: it will find the deadline due
            }
        }
        schedule(deadlineNanos);
    }

    /**
     * Stops the timer cheaply: its wheel entry stays and, when it fires, does nothing unless the timer
     * was armed again meanwhile. For timers stopped and re-armed often (delayed ACK, RTO when all
     * data is acknowledged).
     */
    public void disarm() {
        armed = false;
    }

    /** Stops the timer and removes its wheel entry, so nothing keeps the owner reachable. */
    public void cancel() {
        armed = false;
        if (entry != TimerService.NO_TIMER && timers.cancel(entry)) {
            entry = TimerService.NO_TIMER;
        }
    }

    public boolean armed() {
        return armed;
    }

    /** The deadline the timer is armed for; meaningless when not {@link #armed()}. */
    public long deadline() {
        return deadline;
    }

    private void schedule(long at) {
        entryDeadline = at;
        entry = timers.scheduleAt(at, expiry);
    }

    private void onExpiry() {
        ownerLock.lock();
        try {
            entry = TimerService.NO_TIMER;
            if (!armed) {
                return;
            }
            if (timers.clock().nanoTime() - deadline < 0) {
                schedule(deadline);
                return;
            }
            armed = false;
            task.run();
        } finally {
            ownerLock.unlock();
        }
    }
}
