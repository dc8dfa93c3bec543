package dev.loomstack.stack;

import java.lang.System.Logger.Level;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import org.agrona.DeadlineTimerWheel;
import org.agrona.collections.Long2LongHashMap;
import org.agrona.collections.Long2ObjectHashMap;

/**
 * The stack's one timer thread: a hashed wheel (Agrona's {@link DeadlineTimerWheel}) whose tasks run
 * on a single platform daemon thread. Any thread may schedule or cancel; the wheel and the task map
 * sit behind one short lock, since timer ids must be handed back synchronously. Expired tasks run
 * outside the lock so a task may schedule again.
 *
 * <p>Agrona's wheel moves one tick per poll, so the thread polls until the wheel has caught up with
 * the clock, skipping ticks that cannot hold a due timer, and then parks until the earliest deadline
 * (not every tick); a schedule earlier than that wakes it. For this it keeps, per spoke of the
 * wheel, the number of timers and a lower bound of their deadlines, made exact each time the spoke
 * is polled.
 *
 * <p>The wheel reuses a slot as soon as its timer has fired, so the ids handed out carry a
 * generation as well: cancelling a timer that already ran never cancels the slot's next tenant.
 */
public final class HashedTimerWheel implements TimerService, AutoCloseable {
    /** About one millisecond: the wheel needs a power-of-two resolution. */
    public static final long DEFAULT_TICK_NANOS = 1L << 20;
    private static final int TICKS_PER_WHEEL = 1024;
    private static final int MAX_EXPIRIES_PER_POLL = 4096;
    private static final long NO_DEADLINE = DeadlineTimerWheel.NULL_DEADLINE;
    private static final System.Logger LOG = System.getLogger(HashedTimerWheel.class.getName());

    // A public id packs the wheel's spoke and slot with a generation; the sign bit stays clear.
    private static final int SLOT_BITS = 24;
    private static final int SPOKE_BITS = Integer.numberOfTrailingZeros(TICKS_PER_WHEEL);
    private static final int GENERATION_SHIFT = SLOT_BITS + SPOKE_BITS;
    private static final long GENERATION_MASK = (1L << (Long.SIZE - 1 - GENERATION_SHIFT)) - 1;
    private static final long SLOT_MASK = (1L << SLOT_BITS) - 1;

    private final Clock clock;
    private final int tickShift;
    private final ReentrantLock lock = new ReentrantLock();
    private final DeadlineTimerWheel wheel;
    /** Keyed by the wheel's own timer id. */
    private final Long2ObjectHashMap<Runnable> tasks = new Long2ObjectHashMap<>();
    /** The wheel's timer id to the public id handed out for it. */
    private final Long2LongHashMap publicIds = new Long2LongHashMap(NO_TIMER);
    private final int[] spokeTimers = new int[TICKS_PER_WHEEL];
    /** Per spoke, at most the earliest deadline in it; {@link #NO_DEADLINE} when the spoke is empty. */
    private final long[] spokeEarliest = new long[TICKS_PER_WHEEL];
    private final Runnable[] due = new Runnable[MAX_EXPIRIES_PER_POLL];
    private final DeadlineTimerWheel.TimerHandler onExpiry = this::onExpiry;
    private final LongAdder failedTasks = new LongAdder();
    private final Thread thread;
    private int slotsInUse;
    private long generation;
    private int dueCount;
    /** When the parked thread will wake by itself; {@code Long.MIN_VALUE} while it is awake. */
    private long parkedUntil = Long.MIN_VALUE;
    private volatile long wakeups;
    private volatile boolean running;

    public HashedTimerWheel(Clock clock, long tickNanos, String threadName) {
        if (Long.bitCount(tickNanos) != 1) {
            throw new IllegalArgumentException("tickNanos must be a power of two, got " + tickNanos);
        }
        this.clock = clock;
        this.tickShift = Long.numberOfTrailingZeros(tickNanos);
        this.wheel = new DeadlineTimerWheel(TimeUnit.NANOSECONDS, clock.nanoTime(), tickNanos, TICKS_PER_WHEEL);
        Arrays.fill(spokeEarliest, NO_DEADLINE);
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
        // The wheel marks an empty slot with the largest deadline, so that one cannot be stored.
        long deadline = Math.min(deadlineNanos, NO_DEADLINE - 1);
        long id;
        boolean wake;
        lock.lock();
        try {
            long wheelId = wheel.scheduleTimer(deadline);
            int spoke = spokeOf(wheelId);
            int slot = slotOf(wheelId);
            if (slot > SLOT_MASK) {
                wheel.cancelTimer(wheelId);
                throw new IllegalStateException("more than " + SLOT_MASK + " timers in one tick of the wheel");
            }
            id = (generation++ & GENERATION_MASK) << GENERATION_SHIFT | (long) spoke << SLOT_BITS | slot;
            tasks.put(wheelId, task);
            publicIds.put(wheelId, id);
            spokeTimers[spoke]++;
            spokeEarliest[spoke] = Math.min(spokeEarliest[spoke], deadline);
            slotsInUse = Math.max(slotsInUse, slot + 1);
            wake = deadline < parkedUntil;
            if (wake) {
                parkedUntil = deadline;
            }
        } finally {
            lock.unlock();
        }
        if (wake) {
            LockSupport.unpark(thread);
        }
        return id;
    }

    @Override
    public boolean cancel(long timerId) {
        if (timerId < 0) {
            return false;
        }
        long wheelId = (timerId >>> SLOT_BITS & (TICKS_PER_WHEEL - 1)) << 32 | (timerId & SLOT_MASK);
        lock.lock();
        try {
            if (publicIds.get(wheelId) != timerId) {
                return false;
            }
            publicIds.remove(wheelId);
            tasks.remove(wheelId);
            wheel.cancelTimer(wheelId);
            timerGone(spokeOf(wheelId));
            // A stale lower bound only costs one early wake-up, after which the spoke is exact again.
            return true;
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

    /** Tasks that threw; each is logged, and the wheel goes on. */
    public long failedTasks() {
        return failedTasks.sum();
    }

    /** How often the thread has woken from parking: a wheel with nothing due sleeps. */
    long wakeups() {
        return wakeups;
    }

    /** The clock time the parked thread wakes by itself; {@code Long.MIN_VALUE} while it is awake. */
    long parkedUntil() {
        lock.lock();
        try {
            return parkedUntil;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Runs every task that is due by the clock, polling the wheel until it has caught up with the
     * clock; returns the earliest deadline still pending (a lower bound), or {@code Long.MAX_VALUE}
     * when nothing is. The timer thread calls this on every wake-up; tests without the thread may
     * call it to step a wheel on a {@link ManualClock}.
     */
    long runDue() {
        while (true) {
            long now = clock.nanoTime();
            int n;
            lock.lock();
            try {
                parkedUntil = Long.MIN_VALUE;
                skipTicksWithNothingDue(now);
                int spoke = currentSpoke();
                dueCount = 0;
                wheel.poll(now, onExpiry, MAX_EXPIRIES_PER_POLL);
                refreshEarliest(spoke);
                n = dueCount;
                // currentTickTime() is the end of the wheel's current tick: past now means caught up.
                if (n == 0 && wheel.currentTickTime() > now) {
                    long next = earliestDeadline();
                    parkedUntil = next;
                    return next;
                }
            } finally {
                lock.unlock();
            }
            runTasks(n);
        }
    }

    /**
     * Moves the wheel forward to the first tick that may hold a due timer, never past the clock's
     * tick. Ticks before the earliest deadline hold only timers of later revolutions. When the
     * wheel is more than a revolution behind, one revolution of polls from now on visits every spoke
     * with the current time, so everything due fires.
     */
    private void skipTicksWithNothingDue(long now) {
        long nowTick = tickOf(now);
        long earliest = earliestDeadline();
        long target = earliest == NO_DEADLINE ? nowTick : Math.max(tickOf(earliest), nowTick - TICKS_PER_WHEEL + 1);
        target = Math.min(target, nowTick);
        if (target > currentTick()) {
            wheel.currentTickTime(wheel.startTime() + (target << tickShift));
        }
    }

    private long earliestDeadline() {
        long earliest = NO_DEADLINE;
        for (long d : spokeEarliest) {
            earliest = Math.min(earliest, d);
        }
        return earliest;
    }

    /** After a poll the spoke holds only timers that are not due: its earliest deadline, exactly. */
    private void refreshEarliest(int spoke) {
        if (spokeTimers[spoke] == 0) {
            spokeEarliest[spoke] = NO_DEADLINE;
            return;
        }
        long earliest = NO_DEADLINE;
        long spokeBase = (long) spoke << 32;
        for (int slot = 0; slot < slotsInUse; slot++) {
            earliest = Math.min(earliest, wheel.deadline(spokeBase | slot));
        }
        spokeEarliest[spoke] = earliest;
    }

    private void timerGone(int spoke) {
        if (--spokeTimers[spoke] == 0) {
            spokeEarliest[spoke] = NO_DEADLINE;
        }
    }

    private long tickOf(long nanos) {
        return (nanos - wheel.startTime()) >> tickShift;
    }

    private long currentTick() {
        return tickOf(wheel.currentTickTime()) - 1;
    }

    private int currentSpoke() {
        return (int) (currentTick() & (TICKS_PER_WHEEL - 1));
    }

    private static int spokeOf(long wheelId) {
        return (int) (wheelId >>> 32);
    }

    private static int slotOf(long wheelId) {
        return (int) wheelId;
    }

    private boolean onExpiry(TimeUnit unit, long now, long wheelId) {
        Runnable r = tasks.remove(wheelId);
        publicIds.remove(wheelId);
        timerGone(spokeOf(wheelId));
        if (r != null) {
            due[dueCount++] = r;
        }
        return true;
    }

    private void runTasks(int n) {
        for (int i = 0; i < n; i++) {
            Runnable r = due[i];
            due[i] = null;
            try {
                r.run();
            } catch (RuntimeException | Error e) {
                failedTasks.increment();
                LOG.log(Level.ERROR, "timer task failed", e);
            }
        }
    }

    private void run() {
        while (running) {
            long next = runDue();
            if (!running) {
                return;
            }
            // A schedule earlier than next unparks the thread (see scheduleAt).
            if (next == NO_DEADLINE) {
                LockSupport.park(this);
            } else {
                long delay = next - clock.nanoTime();
                if (delay > 0) {
                    LockSupport.parkNanos(this, delay);
                }
            }
            wakeups++;
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
