package dev.loomstack.engine;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Pressure rises at the mark after a collection and falls only 10 points below it (hysteresis). */
class HeapPressureTest {
    static final long HEAP = 1000L * 100;

    @Test
    void risesAtTheMarkAndFallsOnlyBelowTheLowMark() {
        HeapPressure p = new HeapPressure(85, HEAP);
        assertFalse(p.high());
        p.afterCollection(HEAP / 100 * 84);
        assertFalse(p.high(), "below the mark");
        p.afterCollection(HEAP / 100 * 85);
        assertTrue(p.high(), "at the mark");
        p.afterCollection(HEAP / 100 * 80);
        assertTrue(p.high(), "between the marks: still raised");
        p.afterCollection(HEAP / 100 * 75);
        assertTrue(p.high(), "at the low mark: still raised");
        p.afterCollection(HEAP / 100 * 74);
        assertFalse(p.high(), "below the low mark");
        p.afterCollection(HEAP / 100 * 80);
        assertFalse(p.high(), "between the marks from below: still lowered");
    }

    @Test
    void theMarkMustBeBetween50And99Percent() {
        assertThrows(IllegalArgumentException.class, () -> new HeapPressure(49, HEAP));
        assertThrows(IllegalArgumentException.class, () -> new HeapPressure(100, HEAP));
        assertFalse(new HeapPressure(50, HEAP).high());
        assertFalse(new HeapPressure(99, HEAP).high());
    }

    @Test
    void aCollectionInThisJvmIsSeen() {
        try (HeapPressure p = new HeapPressure(HeapPressure.MAX_PERCENT)) {
            System.gc();
            dev.loomstack.testing.Await.until(java.time.Duration.ofSeconds(10), "a collection is reported",
                    () -> p.lastUsedAfterGc() >= 0);
            assertFalse(p.high(), "a test JVM's heap is not 99 % live");
        }
    }
}
