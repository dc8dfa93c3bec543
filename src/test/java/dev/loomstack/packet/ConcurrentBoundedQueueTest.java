package dev.loomstack.packet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The lock-free pool queue: FIFO, bounded, and nothing lost or duplicated under contention. */
class ConcurrentBoundedQueueTest {
    @ParameterizedTest(name = "capacity {0}")
    @ValueSource(ints = {1, 2, 3, 8})
    void holdsExactlyItsCapacityInOrder(int capacity) {
        ConcurrentBoundedQueue<Integer> q = new ConcurrentBoundedQueue<>(capacity);
        for (int round = 0; round < 3; round++) {
            for (int i = 0; i < capacity; i++) {
                assertTrue(q.offer(i));
            }
            assertFalse(q.offer(-1), "full at " + capacity);
            assertEquals(capacity, q.size());
            for (int i = 0; i < capacity; i++) {
                assertEquals(i, q.poll());
            }
            assertNull(q.poll());
        }
    }

    @Test
    void manyThreadsPassElementsWithoutLossOrDuplicates() throws InterruptedException {
        ConcurrentBoundedQueue<Integer> q = new ConcurrentBoundedQueue<>(64);
        int perThread = 200_000;
        int threads = 4;
        ConcurrentHashMap<Integer, Boolean> seen = new ConcurrentHashMap<>();
        AtomicInteger taken = new AtomicInteger();
        List<Thread> all = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int base = t * perThread;
            all.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < perThread; i++) {
                    while (!q.offer(base + i)) {
                        Thread.onSpinWait();
                    }
                }
            }));
            all.add(Thread.ofPlatform().start(() -> {
                while (taken.get() < threads * perThread) {
                    Integer e = q.poll();
                    if (e != null) {
                        assertNull(seen.put(e, true), "taken twice: " + e);
                        taken.incrementAndGet();
                    } else {
                        Thread.onSpinWait();
                    }
                }
            }));
        }
        for (Thread t : all) {
            t.join(60_000);
        }
        assertEquals(threads * perThread, seen.size());
        assertNull(q.poll());
    }
}
