package dev.loomstack.tcp;

/**
 * CUBIC congestion control (RFC 9438). The window, in segments, grows as
 * W(t) = C (t - K)^3 + W_max after a congestion event (section 4.2), never slower than the
 * Reno-friendly estimate W_est (section 4.3); a loss multiplies it by beta = 0.7 (section 4.6)
 * and remembers W_max, reduced further when the network's share is shrinking (fast convergence,
 * section 4.7). Slow start below ssthresh is Reno's, with byte counting (RFC 3465, L = 2).
 */
public final class Cubic implements CongestionControl {
    static final double C = 0.4;
    static final double BETA = 0.7;
    /** Section 4.3: alpha for the Reno-friendly region, 3 (1 - beta) / (1 + beta). */
    static final double ALPHA = 3 * (1 - BETA) / (1 + BETA);

    private final int mss;
    private int cwnd;
    private int ssthresh = Integer.MAX_VALUE;
    private double wMax;
    /** W_max before the latest reduction, for {@link #undo}. */
    private double wMaxBeforeReduction;
    /**
     * A reduction not yet followed by growth or the end of its recovery: a second one in the same
     * episode (a timeout during fast recovery) keeps the W_max from before the first, which an
     * undo of the episode must give back (RFC 3708 section 4).
     */
    private boolean reduced;
    private double k;
    private double wEst;
    private long epochStart = -1;
    private long lastRtt = 100_000_000L;

    public Cubic(int mss) {
        this.mss = mss;
        this.cwnd = NewReno.initialWindow(mss);
    }

    @Override
    public int congestionWindow() {
        return cwnd;
    }

    @Override
    public int slowStartThreshold() {
        return ssthresh;
    }

    /** W_cubic(t) in segments, t in seconds since the epoch began (RFC 9438 equation 1). */
    double wCubic(double t) {
        double d = t - k;
        return C * d * d * d + wMax;
    }

    double k() {
        return k;
    }

    double wMax() {
        return wMax;
    }

    @Override
    public void onAck(int ackedBytes, long rttNanos, int flightSize, long nowNanos) {
        if (rttNanos > 0) {
            lastRtt = rttNanos;
        }
        reduced = false;
        if (cwnd < ssthresh) {
            cwnd += Math.min(ackedBytes, 2 * mss);
            return;
        }
        double segments = (double) cwnd / mss;
        if (epochStart < 0) {
            epochStart = nowNanos;
            // Section 4.2: K = cbrt((W_max - cwnd_epoch) / C), zero when above W_max.
            k = wMax > segments ? Math.cbrt((wMax - segments) / C) : 0;
            if (wMax < segments) {
                wMax = segments;
            }
            wEst = segments;
        }
        double t = (nowNanos - epochStart) / 1e9;
        double target = wCubic(t + lastRtt / 1e9);
        // Section 4.2: the target lies between cwnd and 1.5 cwnd.
        target = Math.max(segments, Math.min(target, 1.5 * segments));
        // Section 4.3: the Reno-friendly estimate grows by alpha per window of acknowledged data.
        double alpha = wEst >= wMax ? 1.0 : ALPHA;
        wEst += alpha * ((double) ackedBytes / mss) / segments;
        if (wEst > target) {
            target = wEst;
        }
        double grow = (target - segments) / segments * ackedBytes;
        cwnd = (int) Math.min(Integer.MAX_VALUE / 2, cwnd + Math.max(grow, 0));
    }

    private void reduce(int flightSize) {
        double segments = (double) cwnd / mss;
        epochStart = -1;
        if (!reduced) {
            wMaxBeforeReduction = wMax;
            reduced = true;
        }
        // Section 4.7: fast convergence releases bandwidth when the share keeps shrinking.
        wMax = segments < wMax ? segments * (1 + BETA) / 2 : segments;
        ssthresh = Math.max((int) (cwnd * BETA), 2 * mss);
    }

    @Override
    public void onLossDetected(int flightSize, long nowNanos) {
        reduce(flightSize);
        cwnd = ssthresh;
    }

    @Override
    public void onRecoveryComplete(int flightSize, long nowNanos) {
        cwnd = ssthresh;
        reduced = false;
    }

    @Override
    public void onRetransmitTimeout(int flightSize, long nowNanos) {
        // Section 4.8: as for a loss, then the loss window of RFC 5681.
        reduce(flightSize);
        cwnd = mss;
    }

    @Override
    public void onRepeatedTimeout(long nowNanos) {
        cwnd = mss;
        epochStart = -1;
    }

    /**
     * Back to the window before the needless reduction; W_max returns with it (the reduction had
     * moved it to the window at the false loss), so the next epoch grows from the real plateau.
     */
    @Override
    public void undo(int priorCwnd, int priorSsthresh) {
        cwnd = Math.max(cwnd, priorCwnd);
        ssthresh = Math.max(ssthresh, priorSsthresh);
        wMax = Math.max(wMax, wMaxBeforeReduction);
        epochStart = -1;
        reduced = false;
    }

    @Override
    public void onIdleRestart(long nowNanos) {
        cwnd = Math.min(cwnd, NewReno.initialWindow(mss));
        epochStart = -1;
    }

    @Override
    public String name() {
        return "cubic";
    }
}
