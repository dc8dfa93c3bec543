package dev.loomstack.wireguard;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ReplayWindowTest {
    private static final long LIMIT = ProtocolLimits.REJECT_AFTER_MESSAGES;
    private final ReplayWindow w = new ReplayWindow();

    @Test
    void inOrderCountersAreTakenOnce() {
        for (long c = 0; c < 20_000; c++) {
            assertTrue(w.accept(c, LIMIT), "counter " + c);
        }
        for (long c = 19_990; c < 20_000; c++) {
            assertFalse(w.accept(c, LIMIT), "duplicate " + c);
        }
    }

    @Test
    void reorderedCountersWithinTheWindowAreTakenAndDuplicatesRefused() {
        assertTrue(w.accept(5000, LIMIT));
        assertTrue(w.accept(4999, LIMIT));
        assertTrue(w.accept(0, LIMIT));
        assertTrue(w.accept(5000 - ReplayWindow.WINDOW, LIMIT) || 5000 - ReplayWindow.WINDOW < 0);
        assertFalse(w.accept(4999, LIMIT));
        assertFalse(w.accept(0, LIMIT));
        assertFalse(w.accept(5000, LIMIT));
        assertTrue(w.accept(3, LIMIT));
    }

    @Test
    void theWindowCoversAtLeast2048AndRefusesOlder() {
        assertTrue(ReplayWindow.WINDOW >= 2048);
        long top = 100_000;
        assertTrue(w.accept(top, LIMIT));
        assertTrue(w.accept(top - ReplayWindow.WINDOW, LIMIT), "the oldest counter in the window");
        assertFalse(w.accept(top - ReplayWindow.WINDOW - 1, LIMIT), "just behind the window");
        assertTrue(w.accept(top - 2048, LIMIT));
    }

    @Test
    void aSlidingWindowForgetsWhatItPassedAndClearsSkippedBlocks() {
        assertTrue(w.accept(10, LIMIT));
        // A jump of more than the whole ring: every block is cleared, the old marks are gone.
        long far = 10 + 3 * 8192 + 5;
        assertTrue(w.accept(far, LIMIT));
        assertFalse(w.accept(10, LIMIT), "far behind now");
        // Counters between that were never seen and are inside the window are new.
        assertTrue(w.accept(far - 1, LIMIT));
        assertTrue(w.accept(far - 64, LIMIT));
        assertTrue(w.accept(far - 65, LIMIT));
        assertFalse(w.accept(far - 64, LIMIT));
        // A step into the next block clears exactly that block's old marks.
        long base = 1L << 20;
        ReplayWindow v = new ReplayWindow();
        for (long c = base; c < base + 8192; c++) {
            assertTrue(v.accept(c, LIMIT));
        }
        assertTrue(v.accept(base + 8192, LIMIT), "reuses the ring block of base, cleared");
        assertFalse(v.accept(base + 8191, LIMIT));
    }

    @Test
    void countersAtOrPastTheLimitAreRefusedAsUnsigned() {
        assertFalse(w.accept(LIMIT, LIMIT));
        assertFalse(w.accept(-1L, LIMIT), "2^64-1");
        assertTrue(w.accept(LIMIT - 1, LIMIT), "the last usable counter");
        assertFalse(w.accept(LIMIT - 1, LIMIT));
        assertTrue(w.accept(LIMIT - 2, LIMIT), "just behind, inside the window");
        assertTrue(w.accept(1L << 63, LIMIT) == false, "far behind the top now");
        assertTrue(new ReplayWindow().accept(1L << 63, LIMIT), "a counter above 2^63 is an ordinary one");
    }
}
