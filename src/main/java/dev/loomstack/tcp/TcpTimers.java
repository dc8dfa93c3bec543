package dev.loomstack.tcp;

import dev.loomstack.stack.RearmableTimer;
import dev.loomstack.stack.TimerService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Lock;

/**
 * The timers of one connection and when each is due; what happens when one fires is the
 * endpoint's (its handlers take the endpoint's lock):
 * <ul>
 *   <li>retransmission, RFC 6298 section 5: started when a segment leaves with none running,
 *       restarted on every ACK of new data, stopped when all is acknowledged;</li>
 *   <li>tail loss probe, RFC 8985 section 7.2: PTO = 2 SRTT (plus TLP.max_ack_delay for a
 *       one-segment flight), one probe per flight, never later than the RTO;</li>
 *   <li>delayed ACK, RFC 9293 section 3.8.6.3;</li>
 *   <li>persist, RFC 9293 section 3.8.6.1 (RFC 1122 section 4.2.2.17): zero-window probes with
 *       exponential backoff;</li>
 *   <li>keep-alive, RFC 9293 section 3.8.4 (RFC 1122 section 4.2.3.6);</li>
 *   <li>close: TIME-WAIT's 2 MSL (RFC 9293 section 3.10.7.4) and an orphan's FIN-WAIT-2 limit.</li>
 * </ul>
 * Timers moved on most segments are re-armable handles, so moving one later costs no wheel
 * operation; the rest are one wheel entry each. Called only under the endpoint's lock.
 */
final class TcpTimers {
    static final long MAX_PERSIST_NANOS = TimeUnit.SECONDS.toNanos(60);
    /**
     * The least a tail-loss probe waits, as the TLP draft's max(2 * SRTT, 10 ms) (RFC 8985 section 7.2
     * itself has no floor): where the round trip is well under a millisecond, an ACK held up a few
     * milliseconds by a busy host would otherwise draw a needless probe.
     */
    static final long MIN_PROBE_TIMEOUT_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
    /**
     * RFC 8985 section 7.2's TLP.max_ack_delay (WCDelAckT in its drafts, which recommended 200 ms):
     * what a probe allows for the peer's delayed ACK when only one segment is in flight, since a
     * receiver may hold that ACK until its delayed-ACK timer fires (Linux: up to 200 ms). Not our own
     * {@link TcpSettings#delayedAckNanos()}: it budgets for the peer's.
     */
    static final long TLP_MAX_ACK_DELAY_NANOS = TimeUnit.MILLISECONDS.toNanos(200);

    private final TimerService timers;
    private final RttEstimator rtt;
    private final RearmableTimer rtoTimer;
    private final RearmableTimer delAckTimer;
    private final RearmableTimer probeTimer;
    private final Runnable persistTask;
    private final Runnable keepAliveTask;
    private final Runnable closeTask;
    private long persistTimer = TimerService.NO_TIMER;
    private long keepAliveTimer = TimerService.NO_TIMER;
    private long closeTimer = TimerService.NO_TIMER;
    /** A tail loss probe went out for this flight; the next comes after new data is acknowledged. */
    private boolean probeSent;
    private long persistBackoffNanos;

    /**
     * @param lock the endpoint's lock, which the re-armable timers' tasks run under
     * @param onRetransmit the RTO handler, and after it those of the other timers
     */
    TcpTimers(TimerService timers, Lock lock, RttEstimator rtt, Runnable onRetransmit, Runnable onDelayedAck,
              Runnable onTailLossProbe, Runnable onPersist, Runnable onKeepAlive, Runnable onClose) {
        this.timers = timers;
        this.rtt = rtt;
        this.rtoTimer = new RearmableTimer(timers, lock, onRetransmit);
        this.delAckTimer = new RearmableTimer(timers, lock, onDelayedAck);
        this.probeTimer = new RearmableTimer(timers, lock, onTailLossProbe);
        this.persistTask = onPersist;
        this.keepAliveTask = onKeepAlive;
        this.closeTask = onClose;
    }

    private void cancel(long id) {
        if (id != TimerService.NO_TIMER) {
            timers.cancel(id);
        }
    }

    /** The connection is closed or in TIME-WAIT: nothing more is due except (re-scheduled) close. */
    void cancelAll() {
        rtoTimer.cancel();
        delAckTimer.cancel();
        cancel(persistTimer);
        cancel(keepAliveTimer);
        cancel(closeTimer);
        probeTimer.cancel();
        persistTimer = keepAliveTimer = closeTimer = TimerService.NO_TIMER;
    }

    // ---- retransmission and tail loss probe ------------------------------------------------------

    /**
     * Starts (or restarts, RFC 6298 section 5.3) the RTO, and the probe before it.
     *
     * @param probeAllowed a probe may be armed at all: outside recovery, with an RTT sample, synchronized
     * @param oneSegmentInFlight FlightSize is at most one segment (RFC 8985 section 7.2)
     */
    void armRetransmit(boolean probeAllowed, boolean oneSegmentInFlight) {
        rtoTimer.armAfter(rtt.rtoNanos());
        armTailLossProbe(probeAllowed, oneSegmentInFlight);
    }

    /**
     * After a segment went out: starts the RTO if it is idle. RFC 8985 section 7.2: new data (not a
     * retransmission) restarts the probe timer too, so that its timeout is the one for the flight as
     * it now is, not as it was when the flight's first segment went out.
     */
    void segmentSent(boolean newData, boolean probeAllowed, boolean oneSegmentInFlight) {
        if (!rtoTimer.armed()) {
            rtoTimer.armAfter(rtt.rtoNanos());
            armTailLossProbe(probeAllowed, oneSegmentInFlight);
        } else if (newData) {
            armTailLossProbe(probeAllowed, oneSegmentInFlight);
        }
    }

    /**
     * RFC 8985 section 7: when the tail of a flight is lost no duplicate ACK comes back, and only
     * the (much longer) RTO would notice. A probe after about two round trips draws a SACK that
     * starts ordinary fast recovery instead.
     */
    private void armTailLossProbe(boolean probeAllowed, boolean oneSegmentInFlight) {
        if (!probeAllowed || probeSent) {
            return;
        }
        // RFC 8985 section 7.2: PTO = 2 * SRTT, plus TLP.max_ack_delay if FlightSize is one segment,
        // whose ACK a receiver may delay well past two round trips on a fast path.
        long pto = Math.max(2 * rtt.srttNanos(), MIN_PROBE_TIMEOUT_NANOS);
        if (oneSegmentInFlight) {
            pto += TLP_MAX_ACK_DELAY_NANOS;
        }
        // RFC 8985 section 7.2 moves a PTO past the RTO's expiry to the RTO's time; here the RTO
        // itself fires then, and an earlier probe deadline armed for a larger flight is withdrawn.
        long now = timers.clock().nanoTime();
        if (!rtoTimer.armed() || now + pto - rtoTimer.deadline() >= 0) {
            probeTimer.disarm();
            return;
        }
        probeTimer.armAt(now + pto);
    }

    /** The handshake completed: its SYN retransmission timer is done with. */
    void cancelRetransmit() {
        rtoTimer.cancel();
    }

    /** Everything sent is acknowledged (RFC 6298 section 5.2): neither RTO nor probe is due. */
    void allAcknowledged() {
        rtoTimer.disarm();
        probeTimer.disarm();
    }

    /** New data was acknowledged: the flight that drew a probe is over, the next may have one. */
    void newDataAcked() {
        probeSent = false;
    }

    void probeSent() {
        probeSent = true;
    }

    // ---- delayed ACK -----------------------------------------------------------------------------

    /** RFC 9293 section 3.8.6.3: an ACK may wait this long, unless a timer already runs for it. */
    void delayAck(long delayNanos) {
        if (!delAckTimer.armed()) {
            delAckTimer.armAfter(delayNanos);
        }
    }

    /** An ACK went out: none is owed any more. */
    void ackSent() {
        delAckTimer.disarm();
    }

    // ---- persist ---------------------------------------------------------------------------------

    /** RFC 9293 section 3.8.6.1: a zero window with data waiting; the first probe after one RTO. */
    void startPersist() {
        if (persistTimer == TimerService.NO_TIMER) {
            persistBackoffNanos = rtt.rtoNanos();
            persistTimer = timers.scheduleAfter(persistBackoffNanos, persistTask);
        }
    }

    /** The window opened. */
    void stopPersist() {
        cancel(persistTimer);
        persistTimer = TimerService.NO_TIMER;
        persistBackoffNanos = 0;
    }

    /** Called first by the persist handler: the timer is no longer pending. */
    void persistFired() {
        persistTimer = TimerService.NO_TIMER;
    }

    /** A probe went out: the next waits twice as long, up to {@link #MAX_PERSIST_NANOS}. */
    void backOffPersist() {
        persistBackoffNanos = Math.min(persistBackoffNanos * 2, MAX_PERSIST_NANOS);
        persistTimer = timers.scheduleAfter(persistBackoffNanos, persistTask);
    }

    // ---- keep-alive and close --------------------------------------------------------------------

    void scheduleKeepAlive(long delayNanos) {
        cancel(keepAliveTimer);
        keepAliveTimer = timers.scheduleAfter(delayNanos, keepAliveTask);
    }

    void cancelKeepAlive() {
        cancel(keepAliveTimer);
        keepAliveTimer = TimerService.NO_TIMER;
    }

    /** Called first by the keep-alive handler. */
    void keepAliveFired() {
        keepAliveTimer = TimerService.NO_TIMER;
    }

    /** TIME-WAIT's 2 MSL, or how long an orphan waits in FIN-WAIT-2; replaces any earlier deadline. */
    void scheduleClose(long delayNanos) {
        cancel(closeTimer);
        closeTimer = timers.scheduleAfter(delayNanos, closeTask);
    }

    /** Called first by the close handler. */
    void closeFired() {
        closeTimer = TimerService.NO_TIMER;
    }
}
