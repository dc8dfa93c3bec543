package dev.loomstack.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The controllers' undo (RFC 3708 section 4, RFC 3522) and repeated timeouts (RFC 5681 section 3.1). */
class CongestionControlUndoTest {
    private static final int MSS = 1_000;
    private static final long NOW = 1_000_000_000L;

    /** RFC 3708 section 4: a reduction found needless gives the window and threshold back. */
    @Test
    void newRenoUndoRestoresThePriorWindowAndThreshold() {
        NewReno cc = new NewReno(MSS);
        int priorCwnd = cc.congestionWindow();
        int priorSsthresh = cc.slowStartThreshold();
        cc.onLossDetected(priorCwnd, NOW);
        assertEquals(priorCwnd / 2, cc.congestionWindow());
        cc.undo(priorCwnd, priorSsthresh);
        assertEquals(priorCwnd, cc.congestionWindow());
        assertEquals(priorSsthresh, cc.slowStartThreshold());
    }

    /** The undo gives back at least the prior values and never takes away what was gained since. */
    @Test
    void undoNeverLowersTheWindow() {
        NewReno cc = new NewReno(MSS);
        cc.onRetransmitTimeout(20 * MSS, NOW);
        for (int i = 0; i < 20; i++) {
            cc.onAck(MSS, -1, 0, NOW);
        }
        int grown = cc.congestionWindow();
        cc.undo(MSS, 2 * MSS);
        assertEquals(grown, cc.congestionWindow());
        assertEquals(10 * MSS, cc.slowStartThreshold());
    }

    /** RFC 5681 section 3.1: a timeout of a segment already resent by the timer leaves ssthresh alone. */
    @Test
    void newRenoRepeatedTimeoutKeepsSsthresh() {
        NewReno cc = new NewReno(MSS);
        cc.onRetransmitTimeout(10 * MSS, NOW);
        assertEquals(5 * MSS, cc.slowStartThreshold());
        assertEquals(MSS, cc.congestionWindow());
        cc.onAck(MSS, -1, 0, NOW);
        cc.onRepeatedTimeout(NOW);
        assertEquals(5 * MSS, cc.slowStartThreshold());
        assertEquals(MSS, cc.congestionWindow());
    }

    /**
     * RFC 3708 section 4 with RFC 9438: undo restores cwnd and ssthresh and also W_max, which the
     * needless reduction moved down (by fast convergence, section 4.7), so growth after the undo
     * aims at the real plateau again.
     */
    @Test
    void cubicUndoRestoresWindowThresholdAndWMax() {
        Cubic cc = new Cubic(MSS);
        // A first, real loss at 10 segments sets W_max = 10; its recovery ends.
        cc.onLossDetected(cc.congestionWindow(), NOW);
        cc.onRecoveryComplete(0, NOW);
        assertEquals(10.0, cc.wMax(), 1e-9);
        int priorCwnd = cc.congestionWindow();
        int priorSsthresh = cc.slowStartThreshold();
        // A needless one at 7 segments: fast convergence moves W_max to 7 * 0.85.
        cc.onLossDetected(priorCwnd, NOW);
        assertTrue(cc.wMax() < 10.0);
        assertTrue(cc.congestionWindow() < priorCwnd);
        cc.undo(priorCwnd, priorSsthresh);
        assertEquals(priorCwnd, cc.congestionWindow());
        assertEquals(priorSsthresh, cc.slowStartThreshold());
        assertTrue(cc.wMax() >= 10.0, "W_max back to at least 10: " + cc.wMax());
        // The next epoch starts below the restored W_max: K > 0 (RFC 9438 section 4.2).
        cc.onAck(MSS, 10_000_000L, priorCwnd, NOW + 1_000_000L);
        assertEquals(Math.cbrt((cc.wMax() - priorCwnd / (double) MSS) / Cubic.C), cc.k(), 1e-9);
        assertTrue(cc.k() > 0);
    }

    /** RFC 9438 section 4.8 and RFC 5681 section 3.1: a repeated timeout leaves ssthresh and W_max. */
    @Test
    void cubicRepeatedTimeoutKeepsSsthreshAndWMax() {
        Cubic cc = new Cubic(MSS);
        cc.onRetransmitTimeout(10 * MSS, NOW);
        int ssthresh = cc.slowStartThreshold();
        double wMax = cc.wMax();
        assertEquals(7 * MSS, ssthresh);
        assertEquals(MSS, cc.congestionWindow());
        cc.onAck(MSS, -1, 0, NOW);
        cc.onRepeatedTimeout(NOW);
        assertEquals(ssthresh, cc.slowStartThreshold());
        assertEquals(wMax, cc.wMax(), 1e-9);
        assertEquals(MSS, cc.congestionWindow());
    }

    /**
     * RFC 3708 section 4: an episode found needless is undone whole. A fast recovery followed by
     * a timeout before it ended reduces twice; the undo gives back W_max from before the first.
     */
    @Test
    void cubicUndoAfterARecoveryAndATimeoutRestoresWMaxFromBeforeBoth() {
        Cubic cc = new Cubic(MSS);
        cc.onLossDetected(cc.congestionWindow(), NOW);
        cc.onRecoveryComplete(0, NOW);
        // Growth back to 9 segments in congestion avoidance, short of W_max = 10: the next
        // reduction moves W_max down by fast convergence (RFC 9438 section 4.7).
        for (int i = 0; i < 10_000 && cc.congestionWindow() < 9 * MSS; i++) {
            cc.onAck(MSS, 10_000_000L, cc.congestionWindow(), NOW + i * 10_000_000L);
        }
        double wMaxBefore = cc.wMax();
        int priorCwnd = cc.congestionWindow();
        int priorSsthresh = cc.slowStartThreshold();
        cc.onLossDetected(priorCwnd, NOW);
        cc.onRetransmitTimeout(priorCwnd, NOW);
        assertTrue(cc.wMax() < wMaxBefore);
        cc.undo(priorCwnd, priorSsthresh);
        assertEquals(priorCwnd, cc.congestionWindow());
        assertTrue(cc.wMax() >= wMaxBefore, "W_max " + cc.wMax() + " back to at least " + wMaxBefore);
    }
}
