package dev.loomstack.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The evidence for undoing a reduction, on its own. */
class ReductionUndoTest {
    private static final int MSS = 1000;
    private static final int UNA = 50_000;

    private static ReductionUndo begun(NewReno cc) {
        ReductionUndo undo = new ReductionUndo();
        undo.begin(UNA, cc);
        return undo;
    }

    /** RFC 3708 section 4: each retransmission D-SACKed; the last one makes the episode needless. */
    @Test
    void everyRetransmissionDsackedMakesTheReductionNeedless() {
        ReductionUndo undo = begun(new NewReno(MSS));
        undo.retransmitted(100);
        undo.retransmitted(101);
        assertFalse(undo.duplicateReported(UNA, UNA + MSS, MSS));
        assertFalse(undo.needless(false, 0));
        assertTrue(undo.duplicateReported(UNA + MSS, UNA + 2 * MSS, MSS));
        assertTrue(undo.needless(false, 0));
    }

    /** A D-SACK for data below SND.UNA at the episode's start reports an older duplicate, not a repair of it. */
    @Test
    void aDsackBelowTheEpisodeCountsForNothing() {
        ReductionUndo undo = begun(new NewReno(MSS));
        undo.retransmitted(100);
        assertFalse(undo.duplicateReported(UNA - 2 * MSS, UNA - MSS, MSS));
        assertFalse(undo.needless(false, 0));
    }

    /** RFC 3522: an echo older than the first retransmission shows an original arrived; an echo of it does not. */
    @Test
    void anEchoOlderThanTheFirstRetransmissionIsEifelEvidence() {
        ReductionUndo undo = begun(new NewReno(MSS));
        undo.retransmitted(100);
        undo.retransmitted(140);
        assertTrue(undo.needless(true, 99));
        assertFalse(undo.needless(true, 100));
        assertFalse(undo.needless(false, 99), "no timestamps, no Eifel");
    }

    /** The undo gives back what the episode took, once. */
    @Test
    void theUndoRestoresThePriorWindowOnce() {
        NewReno cc = new NewReno(MSS);
        ReductionUndo undo = begun(cc);
        int before = cc.congestionWindow();
        cc.onLossDetected(before, 0);
        undo.retransmitted(100);
        undo.duplicateReported(UNA, UNA + MSS, MSS);
        undo.undo(cc);
        assertEquals(before, cc.congestionWindow());
        assertEquals(Integer.MAX_VALUE, cc.slowStartThreshold());
        assertFalse(undo.needless(true, 0), "used up");
    }
}
