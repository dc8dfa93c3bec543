package dev.loomstack.link;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class WriteQueueTest {
    @Test
    void holdsItsCapacityInOrderAndNoMore() {
        WriteQueue<Integer> q = new WriteQueue<>(3);
        assertTrue(q.isEmpty());
        assertTrue(q.offer(1));
        assertTrue(q.offer(2));
        assertTrue(q.offer(3));
        assertFalse(q.offer(4), "full at its capacity, not at the ring's size");
        assertEquals(1, q.poll());
        assertTrue(q.offer(4));
        assertEquals(2, q.poll());
        assertEquals(3, q.poll());
        assertEquals(4, q.poll());
        assertNull(q.poll());
        assertTrue(q.isEmpty());
    }

    /** Four producers against one consumer: every element arrives once, each producer's in its order. */
    @Test
    void manyProducersLoseNothingAndKeepEachOnesOrder() throws InterruptedException {
        int producers = 4;
        int each = 200_000;
        WriteQueue<long[]> q = new WriteQueue<>(64);
        List<Thread> threads = new ArrayList<>();
        for (int p = 0; p < producers; p++) {
            int id = p;
            threads.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < each; i++) {
                    long[] e = {id, i};
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                    while (!q.offer(e)) {
                        if (System.nanoTime() > deadline) {
                            throw new AssertionError("the consumer stopped taking");
                        }
                        Thread.onSpinWait();
                    }
                }
            }));
        }
        long[] next = new long[producers];
        long taken = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (taken < (long) producers * each && System.nanoTime() < deadline) {
            long[] e = q.poll();
            if (e == null) {
                Thread.onSpinWait();
                continue;
            }
            assertEquals(next[(int) e[0]], e[1], "producer " + e[0] + " out of order");
            next[(int) e[0]]++;
            taken++;
        }
        for (Thread t : threads) {
            t.join(TimeUnit.SECONDS.toMillis(10));
        }
        assertEquals((long) producers * each, taken);
        assertNull(q.poll());
    }
}
