package dev.loomstack.tcp;

/**
 * Reno congestion control (RFC 5681) with NewReno's recovery exit (RFC 6582): slow start with
 * appropriate byte counting (RFC 3465, L = 2 SMSS), one SMSS per window in congestion avoidance,
 * ssthresh = max(FlightSize / 2, 2 SMSS) on loss.
 */
public final class NewReno implements CongestionControl {
    private final int mss;
    private int cwnd;
    private int ssthresh = Integer.MAX_VALUE;
    private long bytesAckedInAvoidance;

    public NewReno(int mss) {
        this.mss = mss;
        this.cwnd = initialWindow(mss);
    }

    /** RFC 6928: min(10 SMSS, max(2 SMSS, 14600 bytes)). */
    static int initialWindow(int mss) {
        return Math.min(10 * mss, Math.max(2 * mss, 14_600));
    }

    @Override
    public int congestionWindow() {
        return cwnd;
    }

    @Override
    public int slowStartThreshold() {
        return ssthresh;
    }

    @Override
    public void onAck(int ackedBytes, long rttNanos, int flightSize, long nowNanos) {
        if (cwnd < ssthresh) {
            cwnd += Math.min(ackedBytes, 2 * mss);
            return;
        }
        bytesAckedInAvoidance += ackedBytes;
        if (bytesAckedInAvoidance >= cwnd) {
            bytesAckedInAvoidance -= cwnd;
            cwnd += mss;
        }
    }

    @Override
    public void onLossDetected(int flightSize, long nowNanos) {
        ssthresh = Math.max(flightSize / 2, 2 * mss);
        cwnd = ssthresh;
        bytesAckedInAvoidance = 0;
    }

    @Override
    public void onRecoveryComplete(int flightSize, long nowNanos) {
        cwnd = ssthresh;
    }

    @Override
    public void onRetransmitTimeout(int flightSize, long nowNanos) {
        ssthresh = Math.max(flightSize / 2, 2 * mss);
        cwnd = mss;
        bytesAckedInAvoidance = 0;
    }

    @Override
    public void onRepeatedTimeout(long nowNanos) {
        cwnd = mss;
        bytesAckedInAvoidance = 0;
    }

    @Override
    public void undo(int priorCwnd, int priorSsthresh) {
        cwnd = Math.max(cwnd, priorCwnd);
        ssthresh = Math.max(ssthresh, priorSsthresh);
        bytesAckedInAvoidance = 0;
    }

    @Override
    public void onIdleRestart(long nowNanos) {
        cwnd = Math.min(cwnd, initialWindow(mss));
    }

    @Override
    public String name() {
        return "newreno";
    }
}
