package dev.loomstack.stack;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Timers driven by a {@link ManualClock}: nothing fires until the test {@link #advance advances}
 * time, and then tasks run on the caller's thread in deadline order (ties in scheduling order),
 * including tasks scheduled by tasks as long as they fall within the advance. Loss, back-off and
 * TIME-WAIT scenarios run in milliseconds and the same way every time.
 */
public final class ManualTimerService implements TimerService {
    private record Entry(long deadline, long id, Runnable task) {}

    private final ManualClock clock;
    private final ReentrantLock lock = new ReentrantLock();
    private final PriorityQueue<Entry> queue = new PriorityQueue<>(
            (a, b) -> a.deadline != b.deadline ? Long.compare(a.deadline, b.deadline) : Long.compare(a.id, b.id));
    private final Map<Long, Entry> live = new HashMap<>();
    private long nextId = 1;

    public ManualTimerService() {
        this(new ManualClock(0));
    }

    public ManualTimerService(ManualClock clock) {
        this.clock = clock;
    }

    @Override
    public ManualClock clock() {
        return clock;
    }

    @Override
    public long scheduleAt(long deadlineNanos, Runnable task) {
        lock.lock();
        try {
            Entry e = new Entry(deadlineNanos, nextId++, task);
            queue.add(e);
            live.put(e.id, e);
            return e.id;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public boolean cancel(long timerId) {
        lock.lock();
        try {
            Entry e = live.remove(timerId);
            return e != null && queue.remove(e);
        } finally {
            lock.unlock();
        }
    }

    public void advance(Duration d) {
        advanceNanos(d.toNanos());
    }

    /** Moves time forward by {@code nanos}, running every task that falls due on the way, at its deadline. */
    public void advanceNanos(long nanos) {
        long target = clock.nanoTime() + nanos;
        while (true) {
            Entry e;
            lock.lock();
            try {
                e = queue.peek();
                if (e == null || e.deadline > target) {
                    break;
                }
                queue.poll();
                live.remove(e.id);
            } finally {
                lock.unlock();
            }
            if (e.deadline > clock.nanoTime()) {
                clock.set(e.deadline);
            }
            e.task.run();
        }
        clock.set(target);
    }

    /** Runs the tasks already due without moving time. */
    public void runDue() {
        advanceNanos(0);
    }

    /** The deadline of the next pending timer, or {@code Long.MAX_VALUE} when none. */
    public long nextDeadline() {
        lock.lock();
        try {
            Entry e = queue.peek();
            return e == null ? Long.MAX_VALUE : e.deadline;
        } finally {
            lock.unlock();
        }
    }

    public int pending() {
        lock.lock();
        try {
            return queue.size();
        } finally {
            lock.unlock();
        }
    }
}
