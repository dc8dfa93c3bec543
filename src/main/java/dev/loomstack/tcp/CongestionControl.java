package dev.loomstack.tcp;

/**
 * A sender's congestion controller (one per connection). The sender owns loss detection and
 * recovery (RFC 8985, RFC 6937, RFC 6582); the controller owns {@code cwnd} and {@code ssthresh}
 * and how they move. All sizes are bytes; times come from the stack's clock.
 */
public interface CongestionControl {
    /** Bytes the sender may have in flight. */
    int congestionWindow();

    int slowStartThreshold();

    /**
     * New data was cumulatively acknowledged outside loss recovery (RFC 5681 section 3.1; RFC 9438
     * section 4). {@code rttNanos} is the RTT sample this ACK gave, or -1; {@code flightSize} the
     * bytes still outstanding after it.
     */
    void onAck(int ackedBytes, long rttNanos, int flightSize, long nowNanos);

    /** Loss detected by duplicate ACKs or SACK: fast recovery begins (RFC 5681 section 3.2 step 2). */
    void onLossDetected(int flightSize, long nowNanos);

    /** Recovery ended with a full acknowledgment of the recovery point (RFC 6582 section 3.2 step 3). */
    void onRecoveryComplete(int flightSize, long nowNanos);

    /** The retransmission timer expired (RFC 5681 section 3.1 equation 4). */
    void onRetransmitTimeout(int flightSize, long nowNanos);

    /**
     * The timer expired again before the loss episode of the last expiry ended: RFC 5681 section
     * 3.1 holds ssthresh when the segment was already retransmitted by the timer; the window goes
     * back to one segment.
     */
    void onRepeatedTimeout(long nowNanos);

    /**
     * The last reduction was needless, found by D-SACK or by timestamps (RFC 3708, RFC 3522): the
     * window and threshold go back to at least what they were before it.
     */
    void undo(int priorCwnd, int priorSsthresh);

    /** The connection was idle for longer than an RTO (RFC 5681 section 4.1, restart window). */
    void onIdleRestart(long nowNanos);

    /** The algorithm's configuration name ({@code cubic}, {@code newreno}). */
    String name();
}
