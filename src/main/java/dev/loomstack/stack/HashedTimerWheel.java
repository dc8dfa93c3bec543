package dev.loomstack.stack;

import java.lang.System.Logger.Level;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import org.agrona.DeadlineTimerWheel;
import org.agrona.collections.Long2ObjectHashMap;

/**
 * The stack's one timer thread: a hashed wheel (Agrona's {@link DeadlineTimerWheel}) whose tasks run
 * on a single platform daemon thread. Any thread may schedule or cancel; the wheel and the task map
 * sit behind one short lock, since timer ids must be handed back synchronously. Expired tasks run
 * outside the lock so a task may schedule again.
 */
public final class HashedTimerWheel implements TimerService, AutoCloseable {
    /** About one millisecond: the wheel needs a power-of-two resolution. */
    public static final long DEFAULT_TICK_NANOS = 1L << 20;
    private static final int TICKS_PER_WHEEL = 1024;
    private static final int MAX_EXPIRIES_PER_POLL = 4096;
    private static final System.Logger LOG = System.getLogger(HashedTimerWheel.class.getName());

    private final Clock clock;
    private final long tickNanos;
    private final ReentrantLock lock = new ReentrantLock();
    private final DeadlineTimerWheel wheel;
    private final Long2ObjectHashMap<Runnable> tasks = new Long2ObjectHashMap<>();
    private final Runnable[] due = new Runnable[MAX_EXPIRIES_PER_POLL];
    private final Thread thread;
    private int dueCount;
    private volatile boolean running;

    public HashedTimerWheel(Clock clock, long tickNanos, String threadName) {
        if (Long.bitCount(tickNanos) != 1) {
            throw new IllegalArgumentException("tickNanos must be a power of two, got " + tickNanos);
        }
        this.clock = clock;
        this.tickNanos = tickNanos;
        this.wheel = new DeadlineTimerWheel(TimeUnit.NANOSECONDS, clock.nanoTime(), tickNanos, TICKS_PER_WHEEL);
        this.thread = Thread.ofPlatform().daemon().name(threadName).unstarted(this::run);
    }

    public HashedTimerWheel(String threadName) {
        this(Clock.system(), DEFAULT_TICK_NANOS, threadName);
    }

    public HashedTimerWheel start() {
        running = true;
        thread.start();
        return this;
    }

    @Override
    public Clock clock() {
        return clock;
    }

    @Override
    public long scheduleAt(long deadlineNanos, Runnable task) {
        long id;
        boolean wasIdle;
        lock.lock();
        try {
            wasIdle = wheel.timerCount() == 0;
            id = wheel.scheduleTimer(deadlineNanos);
            tasks.put(id, task);
        } finally {
            lock.unlock();
        }
        if (wasIdle) {
            LockSupport.unpark(thread);
        }
        return id;
    }

    @Override
    public boolean cancel(long timerId) {
        if (timerId == NO_TIMER) {
            return false;
        }
        lock.lock();
        try {
            if (tasks.remove(timerId) == null) {
                return false;
            }
            return wheel.cancelTimer(timerId);
        } finally {
            lock.unlock();
        }
    }

    /** Timers scheduled and not yet run or cancelled. */
    public int pending() {
        lock.lock();
        try {
            return tasks.size();
        } finally {
            lock.unlock();
        }
    }

    private boolean onExpiry(TimeUnit unit, long now, long timerId) {
        Runnable r = tasks.remove(timerId);
        if (r != null) {
            due[dueCount++] = r;
        }
        return true;
    }

    private void run() {
        DeadlineTimerWheel.TimerHandler handler = this::onExpiry;
        while (running) {
            boolean idle;
            lock.lock();
            try {
                dueCount = 0;
                wheel.poll(clock.nanoTime(), handler, MAX_EXPIRIES_PER_POLL);
                idle = wheel.timerCount() == 0;
            } finally {
                lock.unlock();
            }
            int n = dueCount;
            for (int i = 0; i < n; i++) {
                Runnable r = due[i];
                due[i] = null;
                try {
                    r.run();
                } catch (RuntimeException | Error e) {
                    LOG.log(Level.ERROR, "timer task failed", e);
                }
            }
            if (n < MAX_EXPIRIES_PER_POLL) {
                // An empty wheel sleeps until a schedule unparks it; otherwise wake every tick.
                LockSupport.parkNanos(this, idle ? TimeUnit.SECONDS.toNanos(1) : tickNanos);
            }
        }
    }

    @Override
    public void close() {
        running = false;
        LockSupport.unpark(thread);
        if (thread.isAlive() && Thread.currentThread() != thread) {
            try {
                thread.join(TimeUnit.SECONDS.toMillis(5));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
