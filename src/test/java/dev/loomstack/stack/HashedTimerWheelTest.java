package dev.loomstack.stack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.testing.Await;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/** The hashed wheel fires timers on time, not merely eventually: its own thread, and stepped by hand. */
class HashedTimerWheelTest {
    /**
     * How much later than a plain sleeping thread a timer may fire. The wheel's resolution is about
     * 1 ms; the rest is room for a loaded two-core machine. Before the wheel caught up with the
     * clock, a timer set after an idle spell fired about as late as the spell was long.
     */
    static final long MAX_EXTRA_LATENESS_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
    static final long IDLE_SPELL_MILLIS = 1500;
    static final int TIMERS = 1000;
    static final long TICK = HashedTimerWheel.DEFAULT_TICK_NANOS;
    static final long REVOLUTION = 1024 * TICK;

    @Test
    void timersSetAfterAnIdleSpellFireOnTimeWhileACoreIsBusy() throws Exception {
        try (HashedTimerWheel wheel = new HashedTimerWheel("test-wheel-lateness").start()) {
            // The scenario itself, not synchronisation: a wheel with nothing to do for a while.
            Thread.sleep(IDLE_SPELL_MILLIS);
            AtomicBoolean loading = new AtomicBoolean(true);
            Thread load = Thread.ofPlatform().name("test-core-load").start(() -> busyWork(loading));
            try {
                Random random = new Random(10);
                long[] deadlines = new long[TIMERS];
                TimedTasks tasks = new TimedTasks(deadlines);
                long start = System.nanoTime();
                for (int i = 0; i < TIMERS; i++) {
                    deadlines[i] = start + TimeUnit.MILLISECONDS.toNanos(1)
                            + random.nextLong(TimeUnit.MILLISECONDS.toNanos(99));
                }
                // What the machine does to a thread that simply sleeps until the same deadlines:
                // the wheel is judged on the lateness it adds, not on the machine's scheduling.
                long[][] sleeper = new long[1][];
                Thread control = Thread.ofPlatform().name("test-sleeper")
                        .start(() -> sleeper[0] = sleeperLateness(deadlines.clone()));
                long[] lateness = tasks.scheduleAndAwait(wheel);
                control.join();
                long[] reference = sleeper[0];
                Arrays.sort(lateness);
                Arrays.sort(reference);
                System.out.printf("timer lateness after a %d ms idle spell, %d timers at 1-100 ms, one core busy: "
                                + "min %.3f ms, median %.3f ms, p99 %.3f ms, max %.3f ms "
                                + "(a sleeping thread: median %.3f ms, p99 %.3f ms, max %.3f ms)%n",
                        IDLE_SPELL_MILLIS, TIMERS, millis(lateness[0]), millis(lateness[TIMERS / 2]),
                        millis(lateness[TIMERS * 99 / 100]), millis(lateness[TIMERS - 1]),
                        millis(reference[TIMERS / 2]), millis(reference[TIMERS * 99 / 100]),
                        millis(reference[TIMERS - 1]));
                assertTrue(lateness[0] >= 0, "a timer fired " + millis(-lateness[0]) + " ms before its deadline");
                assertTrue(lateness[TIMERS - 1] <= reference[TIMERS - 1] + MAX_EXTRA_LATENESS_NANOS,
                        "a timer fired " + millis(lateness[TIMERS - 1]) + " ms after its deadline; a sleeping thread "
                                + "overslept at most " + millis(reference[TIMERS - 1]) + " ms");
            } finally {
                loading.set(false);
                load.join();
            }
        }
    }

    @Test
    void aWheelWhoseNextTimerIsFarAwaySleepsUntilThen() throws Exception {
        try (HashedTimerWheel wheel = new HashedTimerWheel("test-wheel-sleeps").start()) {
            parkForAFarTimer(wheel);
            long before = wheel.wakeups();
            // A window to count wake-ups in; the old wheel woke every tick (about 300 times here).
            Thread.sleep(300);
            long woke = wheel.wakeups() - before;
            assertTrue(woke <= 1, "woke " + woke + " times with nothing due");
        }
    }

    @Test
    void anEarlierTimerWakesTheParkedThread() throws Exception {
        try (HashedTimerWheel wheel = new HashedTimerWheel("test-wheel-earlier").start()) {
            parkForAFarTimer(wheel);
            long near = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(20);
            AtomicLong ranAt = new AtomicLong();
            wheel.scheduleAt(near, () -> ranAt.set(System.nanoTime()));
            Await.until(Duration.ofSeconds(5), "the near timer ran", () -> ranAt.get() != 0);
            assertTrue(ranAt.get() >= near, "not before its deadline");
            assertEquals(1, wheel.pending(), "the far timer is still pending");
        }
    }

    /** Schedules a timer a minute away and waits until the wheel's thread parks for it. */
    private static void parkForAFarTimer(HashedTimerWheel wheel) {
        long far = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        wheel.scheduleAt(far, () -> {});
        Await.until(Duration.ofSeconds(5), "the thread parks for the far timer", () -> wheel.parkedUntil() == far);
    }

    @Test
    void cancellingATimerThatAlreadyRanLeavesTheNextTimerInItsSlotAlone() throws Exception {
        // A one-microsecond tick makes a revolution (1,024 ticks) short enough to wait for.
        ManualClock clock = new ManualClock(0);
        long tick = 1L << 10;
        try (HashedTimerWheel wheel = new HashedTimerWheel(clock, tick, "test-wheel-slots").start()) {
            CountDownLatch first = new CountDownLatch(1);
            long firstId = wheel.scheduleAt(0, first::countDown);
            assertTrue(first.await(5, TimeUnit.SECONDS));
            // One revolution later the same spoke, and its slot is free again.
            AtomicInteger secondRan = new AtomicInteger();
            long secondDeadline = 1024 * tick;
            long secondId = wheel.scheduleAt(secondDeadline, secondRan::incrementAndGet);
            assertFalse(wheel.cancel(firstId), "the first timer ran already");
            assertEquals(1, wheel.pending(), "the second timer is still pending");
            clock.set(secondDeadline);
            Await.until(Duration.ofSeconds(5), "the second timer ran", () -> secondRan.get() == 1);
            assertFalse(wheel.cancel(secondId));
        }
    }

    /**
     * Stepped by hand on a manual clock, through idle spells shorter and much longer than a
     * revolution of the wheel: every timer runs in the first step that reaches its deadline, never
     * before; cancelled ones never; and the wheel reports when it next has something due.
     */
    @Test
    void everyTimerRunsInTheFirstStepThatReachesItsDeadline() {
        ManualClock clock = new ManualClock(TimeUnit.SECONDS.toNanos(5));
        HashedTimerWheel wheel = new HashedTimerWheel(clock, TICK, "test-wheel-stepped");
        Random random = new Random(7);
        List<Long> deadlines = new ArrayList<>();
        List<Long> ranAt = new ArrayList<>();
        Map<Integer, Long> pending = new HashMap<>();
        Set<Integer> cancelled = new HashSet<>();
        for (int step = 0; step < 3000; step++) {
            int schedules = random.nextInt(6);
            for (int k = 0; k < schedules; k++) {
                long deadline = clock.nanoTime() - TICK + nextDelay(random);
                pending.put(schedule(wheel, clock, deadlines, ranAt, pending, random, deadline), deadline);
            }
            if (!pending.isEmpty() && random.nextInt(4) == 0) {
                int victim = pending.keySet().iterator().next();
                assertTrue(wheel.cancel(idOf(victim)), "a pending timer can be cancelled");
                assertFalse(wheel.cancel(idOf(victim)));
                pending.remove(victim);
                cancelled.add(victim);
            }
            clock.set(clock.nanoTime() + nextStep(random, step));
            // Together with the check below, at every step, that nothing runs before its deadline:
            // each timer runs in the first step that reaches its deadline.
            long now = clock.nanoTime();
            long next = wheel.runDue();
            for (int i = 0; i < deadlines.size(); i++) {
                long deadline = deadlines.get(i);
                if (cancelled.contains(i)) {
                    assertEquals(-1L, ranAt.get(i), "cancelled timer " + i + " ran");
                } else if (deadline <= now) {
                    assertTrue(ranAt.get(i) >= 0, "timer " + i + " due at " + deadline + " has not run at " + now);
                    pending.remove(i);
                } else {
                    assertEquals(-1L, ranAt.get(i), "timer " + i + " ran before its deadline");
                }
            }
            long earliest = pending.values().stream().mapToLong(Long::longValue).min().orElse(Long.MAX_VALUE);
            assertTrue(next > now, "the next deadline reported lies ahead");
            assertTrue(next <= earliest, "the next deadline reported is no later than the earliest pending one");
            assertEquals(pending.size(), wheel.pending());
        }
        assertTrue(deadlines.size() > 5000, "timers scheduled: " + deadlines.size());
    }

    private final List<Long> ids = new ArrayList<>();

    private long idOf(int index) {
        return ids.get(index);
    }

    /** Schedules a timer that records when it ran; some schedule another from inside the wheel. */
    private int schedule(HashedTimerWheel wheel, ManualClock clock, List<Long> deadlines, List<Long> ranAt,
                         Map<Integer, Long> pending, Random random, long deadline) {
        int index = deadlines.size();
        deadlines.add(deadline);
        ranAt.add(-1L);
        boolean nests = random.nextInt(8) == 0;
        long nestedOffset = random.nextLong(-TICK, 3 * TICK);
        ids.add(wheel.scheduleAt(deadline, () -> {
            ranAt.set(index, clock.nanoTime());
            if (nests) {
                long nestedDeadline = clock.nanoTime() + nestedOffset;
                pending.put(schedule(wheel, clock, deadlines, ranAt, pending, random, nestedDeadline), nestedDeadline);
            }
        }));
        return index;
    }

    /** Mostly near deadlines, some a few revolutions away. */
    private static long nextDelay(Random random) {
        return random.nextInt(5) == 0 ? random.nextLong(4 * REVOLUTION) : random.nextLong(30 * TICK);
    }

    /** Mostly a fraction of a tick to a few ticks; now and then an idle spell of seconds or an hour. */
    private static long nextStep(Random random, int step) {
        if (step == 1500) {
            return TimeUnit.HOURS.toNanos(1);
        }
        return random.nextInt(50) == 0 ? random.nextLong(5 * REVOLUTION) : random.nextLong(4 * TICK);
    }

    /**
     * Tasks that record how late they ran: after their deadline, or after they were scheduled if
     * that was later (a descheduled test thread is no fault of the wheel). Made before the
     * deadlines are drawn, so creating them does not eat into the first deadlines.
     */
    private static final class TimedTasks {
        final long[] deadlines;
        final long[] scheduledAt;
        final long[] lateness;
        final Runnable[] tasks;
        final CountDownLatch done;

        TimedTasks(long[] deadlines) {
            this.deadlines = deadlines;
            int n = deadlines.length;
            scheduledAt = new long[n];
            lateness = new long[n];
            tasks = new Runnable[n];
            done = new CountDownLatch(n);
            for (int i = 0; i < n; i++) {
                int index = i;
                tasks[i] = () -> {
                    lateness[index] = System.nanoTime() - Math.max(deadlines[index], scheduledAt[index]);
                    done.countDown();
                };
            }
        }

        long[] scheduleAndAwait(HashedTimerWheel wheel) throws InterruptedException {
            for (int i = 0; i < tasks.length; i++) {
                scheduledAt[i] = System.nanoTime();
                wheel.scheduleAt(deadlines[i], tasks[i]);
            }
            assertTrue(done.await(30, TimeUnit.SECONDS), "all timers ran");
            assertEquals(0, wheel.pending());
            return lateness;
        }
    }

    /** How late a platform thread wakes when it parks until each deadline in turn. */
    private static long[] sleeperLateness(long[] deadlines) {
        Arrays.sort(deadlines);
        long[] lateness = new long[deadlines.length];
        for (int i = 0; i < deadlines.length; i++) {
            long now;
            while ((now = System.nanoTime()) < deadlines[i]) {
                LockSupport.parkNanos(deadlines[i] - now);
            }
            lateness[i] = now - deadlines[i];
        }
        return lateness;
    }

    private static void busyWork(AtomicBoolean loading) {
        long x = 1;
        while (loading.get()) {
            for (int i = 0; i < 100_000; i++) {
                x = x * 6364136223846793005L + 1442695040888963407L;
            }
        }
        if (x == 42) {
            System.out.println("a busy loop whose result is used");
        }
    }

    private static double millis(long nanos) {
        return nanos / 1e6;
    }
}
