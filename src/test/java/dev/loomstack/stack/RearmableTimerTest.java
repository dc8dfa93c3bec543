package dev.loomstack.stack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.testing.Await;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.junit.jupiter.api.Test;

class RearmableTimerTest {
    private final ManualTimerService timers = new ManualTimerService();
    private final ReentrantLock lock = new ReentrantLock();
    private final List<Long> ranAt = new ArrayList<>();
    private final RearmableTimer timer = new RearmableTimer(timers, lock, () -> {
        assertTrue(lock.isHeldByCurrentThread(), "the task runs holding the owner's lock");
        ranAt.add(timers.clock().nanoTime());
    });

    /** Runs what the timer's owner does, holding the owner's lock as the owner must. */
    private void asOwner(Runnable action) {
        lock.lock();
        try {
            action.run();
        } finally {
            lock.unlock();
        }
    }

    @Test
    void movingTheDeadlineLaterLeavesTheWheelAloneUntilTheOldDeadline() {
        asOwner(() -> {
            timer.armAt(100);
            timer.armAt(200);
            timer.armAt(300);
        });
        assertEquals(1, timers.pending(), "one wheel entry");
        assertEquals(100, timers.nextDeadline(), "still at the first deadline");
        timers.advanceNanos(150);
        assertEquals(List.of(), ranAt, "the entry found the deadline moved");
        assertEquals(300, timers.nextDeadline(), "and moved itself to it");
        assertEquals(1, timers.pending());
        timers.advanceNanos(1000);
        assertEquals(List.of(300L), ranAt);
        assertFalse(timer.armed());
        assertEquals(0, timers.pending());
    }

    @Test
    void movingTheDeadlineEarlierReschedulesAtOnce() {
        asOwner(() -> {
            timer.armAt(300);
            timer.armAt(100);
        });
        assertEquals(1, timers.pending(), "the later entry was cancelled");
        assertEquals(100, timers.nextDeadline());
        timers.advanceNanos(1000);
        assertEquals(List.of(100L), ranAt);
        assertEquals(0, timers.pending());
    }

    @Test
    void cancelRemovesTheWheelEntry() {
        asOwner(() -> {
            timer.armAfter(100);
            assertTrue(timer.armed());
            assertEquals(100, timer.deadline());
            timer.cancel();
            assertFalse(timer.armed());
        });
        assertEquals(0, timers.pending());
        timers.advanceNanos(1000);
        assertEquals(List.of(), ranAt);
    }

    @Test
    void aDisarmedTimerKeepsItsEntryWhichFiresEmptyOrServesTheNextArm() {
        asOwner(() -> {
            timer.armAt(100);
            timer.disarm();
        });
        assertEquals(1, timers.pending());
        timers.advanceNanos(150);
        assertEquals(List.of(), ranAt, "a disarmed timer does not run");
        assertEquals(0, timers.pending(), "its entry is gone");

        asOwner(() -> {
            timer.armAt(200);
            timer.disarm();
            timer.armAt(250);
        });
        assertEquals(1, timers.pending(), "re-armed on the same entry");
        timers.advanceNanos(1000);
        assertEquals(List.of(250L), ranAt);
    }

    @Test
    void aTaskMayReArmItsOwnTimer() {
        RearmableTimer[] self = new RearmableTimer[1];
        self[0] = new RearmableTimer(timers, lock, () -> {
            ranAt.add(timers.clock().nanoTime());
            if (ranAt.size() < 3) {
                self[0].armAfter(50);
            }
        });
        asOwner(() -> self[0].armAt(100));
        timers.advanceNanos(1000);
        assertEquals(List.of(100L, 150L, 200L), ranAt);
        assertEquals(0, timers.pending());
    }

    /**
     * The wheel may hand the entry to its thread just before the owner moves the timer: the expiry
     * then waits for the owner's lock and must act on the timer as it is when it gets the lock.
     */
    @Test
    void anExpiryWaitingForTheLockSeesTheTimerAsTheOwnerLeftIt() throws Exception {
        lock.lock();
        Thread advancing;
        try {
            timer.armAt(100);
            advancing = Thread.ofPlatform().start(() -> timers.advanceNanos(150));
            Await.until(Duration.ofSeconds(5), "the expiry waits for the lock", lock::hasQueuedThreads);
            timer.armAt(400);
        } finally {
            lock.unlock();
        }
        advancing.join();
        assertEquals(List.of(), ranAt, "moved later before the expiry got the lock: not run");
        assertEquals(400, timers.nextDeadline(), "one entry, at the new deadline");
        assertEquals(1, timers.pending());

        lock.lock();
        try {
            advancing = Thread.ofPlatform().start(() -> timers.advanceNanos(300));
            Await.until(Duration.ofSeconds(5), "the expiry waits for the lock", lock::hasQueuedThreads);
            timer.cancel();
            assertFalse(timer.armed());
        } finally {
            lock.unlock();
        }
        advancing.join();
        assertEquals(List.of(), ranAt, "cancelled before the expiry got the lock: not run");
        assertEquals(0, timers.pending());
    }

    @Test
    void onTheRealWheelATimerMovedLaterRunsOnceAtTheLaterDeadline() throws Exception {
        try (HashedTimerWheel wheel = new HashedTimerWheel("test-wheel-rearm").start()) {
            AtomicLong ran = new AtomicLong();
            AtomicLong firstRunAt = new AtomicLong();
            CountDownLatch done = new CountDownLatch(1);
            RearmableTimer t = new RearmableTimer(wheel, lock, () -> {
                if (ran.incrementAndGet() == 1) {
                    firstRunAt.set(System.nanoTime());
                }
                done.countDown();
            });
            long later;
            lock.lock();
            try {
                t.armAfter(TimeUnit.MILLISECONDS.toNanos(10));
                later = wheel.clock().nanoTime() + TimeUnit.MILLISECONDS.toNanos(60);
                t.armAt(later);
            } finally {
                lock.unlock();
            }
            assertTrue(done.await(5, TimeUnit.SECONDS));
            assertTrue(firstRunAt.get() >= later, "not before the later deadline");
            assertEquals(1, ran.get());
            Await.until(Duration.ofSeconds(5), "no entry left", () -> wheel.pending() == 0);
        }
    }
}
