package dev.loomstack.stack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.testing.Await;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

class TimersTest {
    @Test
    void manualTimersRunInDeadlineOrderIncludingNestedOnes() {
        ManualTimerService t = new ManualTimerService();
        List<String> ran = new ArrayList<>();
        t.scheduleAfter(30, () -> ran.add("c@" + t.clock().nanoTime()));
        t.scheduleAfter(10, () -> {
            ran.add("a@" + t.clock().nanoTime());
            t.scheduleAfter(5, () -> ran.add("nested@" + t.clock().nanoTime()));
        });
        t.scheduleAfter(10, () -> ran.add("b@" + t.clock().nanoTime()));
        long cancelled = t.scheduleAfter(20, () -> ran.add("never"));
        assertTrue(t.cancel(cancelled));
        assertFalse(t.cancel(cancelled));
        t.advanceNanos(25);
        assertEquals(List.of("a@10", "b@10", "nested@15"), ran);
        assertEquals(25, t.clock().nanoTime());
        t.advanceNanos(100);
        assertEquals(List.of("a@10", "b@10", "nested@15", "c@30"), ran);
        assertEquals(0, t.pending());
    }

    @Test
    void wheelRunsTasksAtOrAfterTheirDeadline() throws Exception {
        try (HashedTimerWheel w = new HashedTimerWheel("test-wheel").start()) {
            int n = 50;
            CountDownLatch done = new CountDownLatch(n);
            AtomicInteger early = new AtomicInteger();
            for (int i = 0; i < n; i++) {
                long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(5 + i);
                w.scheduleAt(deadline, () -> {
                    if (System.nanoTime() < deadline) {
                        early.incrementAndGet();
                    }
                    done.countDown();
                });
            }
            assertTrue(done.await(10, TimeUnit.SECONDS));
            assertEquals(0, early.get(), "no task may run before its deadline");
        }
    }

    @Test
    void wheelCancelPreventsTheTask() throws Exception {
        try (HashedTimerWheel w = new HashedTimerWheel("test-wheel").start()) {
            AtomicInteger ran = new AtomicInteger();
            long id = w.scheduleAfter(TimeUnit.MILLISECONDS.toNanos(50), ran::incrementAndGet);
            CountDownLatch later = new CountDownLatch(1);
            w.scheduleAfter(TimeUnit.MILLISECONDS.toNanos(100), later::countDown);
            assertTrue(w.cancel(id));
            assertTrue(later.await(10, TimeUnit.SECONDS));
            assertEquals(0, ran.get());
            assertFalse(w.cancel(id));
            assertFalse(w.cancel(TimerService.NO_TIMER));
        }
    }

    @Test
    void wheelAcceptsSchedulesFromManyThreadsAndSurvivesFailingTasks() throws Exception {
        // The failing task is logged at ERROR with its trace; capture that here instead of printing it.
        Logger log = Logger.getLogger(HashedTimerWheel.class.getName());
        List<LogRecord> logged = new CopyOnWriteArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord r) {
                logged.add(r);
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        boolean parentHandlers = log.getUseParentHandlers();
        log.setUseParentHandlers(false);
        log.addHandler(capture);
        try (HashedTimerWheel w = new HashedTimerWheel("test-wheel").start()) {
            int threads = 8;
            int each = 500;
            ConcurrentLinkedQueue<Long> ids = new ConcurrentLinkedQueue<>();
            AtomicLong ran = new AtomicLong();
            w.scheduleAfter(1_000_000, () -> {
                throw new IllegalStateException("a failing task must not stop the wheel");
            });
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                ts.add(Thread.ofVirtual().start(() -> {
                    for (int i = 0; i < each; i++) {
                        ids.add(w.scheduleAfter(TimeUnit.MILLISECONDS.toNanos(1 + i % 20), ran::incrementAndGet));
                    }
                }));
            }
            for (Thread t : ts) {
                t.join();
            }
            assertEquals(threads * each, ids.stream().distinct().count(), "ids are unique");
            Await.until(Duration.ofSeconds(10), "all tasks ran", () -> ran.get() == threads * each);
            assertEquals(0, w.pending());
            assertEquals(1, w.failedTasks(), "the failing task is counted");
            assertEquals(1, logged.size(), "and logged once");
            assertEquals(Level.SEVERE, logged.getFirst().getLevel());
            assertTrue(logged.getFirst().getThrown() instanceof IllegalStateException, "with its exception");
        } finally {
            log.removeHandler(capture);
            log.setUseParentHandlers(parentHandlers);
        }
    }

    @Test
    void closeStopsTheThread() {
        HashedTimerWheel w = new HashedTimerWheel("test-wheel-close").start();
        w.close();
        assertTrue(Thread.getAllStackTraces().keySet().stream().noneMatch(t -> t.getName().equals("test-wheel-close")));
    }
}
