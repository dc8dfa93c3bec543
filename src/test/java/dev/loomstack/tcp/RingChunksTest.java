package dev.loomstack.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The shared ring storage keeps enough arrays of each class for the connections that take turns
 * with it: four busy connections whose windows grew to the largest class give their arrays back
 * and take them again without allocating.
 */
class RingChunksTest {
    private static final long MIB = 1L << 20;
    private static final int BUSY_RINGS = 4;

    @Test
    void smallClassesKeepAMegabyteEach() {
        assertEquals(256, RingChunks.keptArrays(RingChunks.MIN_SHIFT, 256 * MIB));
        assertEquals(16, RingChunks.keptArrays(16, 6 * 1024 * MIB));
        // 1 MiB would be one array; a send and a receive ring take turns, so two.
        assertEquals(RingChunks.MIN_KEPT, RingChunks.keptArrays(20, 6 * 1024 * MIB));
    }

    @Test
    void largeClassesKeepAShareOfTheHeap() {
        assertEquals(4, RingChunks.keptArrays(RingChunks.MAX_SHIFT, 1024 * MIB));
        assertEquals(24, RingChunks.keptArrays(RingChunks.MAX_SHIFT, 6 * 1024 * MIB));
        assertEquals(8, RingChunks.keptArrays(22, 1024 * MIB));
        // A small heap keeps what it kept before: two, a send and a receive ring's worth.
        assertEquals(RingChunks.MIN_KEPT, RingChunks.keptArrays(RingChunks.MAX_SHIFT, 256 * MIB));
        assertEquals(RingChunks.MIN_KEPT, RingChunks.keptArrays(RingChunks.MAX_SHIFT, 0));
    }

    @Test
    void fourBusyRingsOfTheLargestClassReuseTheirArrays() {
        long maxHeap = Runtime.getRuntime().maxMemory();
        // A 1 GiB heap keeps four (a smaller one in a test JVM of its own would keep fewer).
        assumeTrue(maxHeap >= 1024 * MIB, "this JVM's heap is " + maxHeap / MIB + " MiB");
        int kept = RingChunks.keptArrays(RingChunks.MAX_SHIFT, maxHeap);
        // Empty the class: after as many takes as it keeps, none is left free.
        List<byte[]> drained = new ArrayList<>();
        for (int i = 0; i < Math.max(kept, BUSY_RINGS); i++) {
            drained.add(RingChunks.take(RingChunks.MAX_CHUNK));
        }
        // Four rings each give their array back when a read empties them...
        Map<byte[], Boolean> given = new IdentityHashMap<>();
        for (int i = 0; i < BUSY_RINGS; i++) {
            byte[] b = drained.get(i);
            given.put(b, true);
            RingChunks.give(b);
        }
        drained.clear();
        // ...and take one again with their next segment: every one is an array given back.
        for (int i = 0; i < BUSY_RINGS; i++) {
            byte[] b = RingChunks.take(RingChunks.MAX_CHUNK);
            assertSame(Boolean.TRUE, given.remove(b), "take " + (i + 1) + " of " + BUSY_RINGS + " allocated a new 8 MiB array");
        }
    }
}
