package dev.loomstack.tcp;

import static dev.loomstack.packet.TcpHeader.ACK;
import static dev.loomstack.packet.TcpHeader.RST;

import dev.loomstack.stack.RearmableTimer;
import dev.loomstack.stack.TimerService;
import java.net.SocketTimeoutException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The timers of one connection: when each is due and what happens when it fires.
 * <ul>
 *   <li>retransmission, RFC 6298 section 5: started when a segment leaves with none running,
 *       restarted on every ACK of new data, stopped when all is acknowledged; on expiry it backs
 *       off (section 5.5), resends the SYN or hands the data to {@link TcpSender#retransmitOnTimeout}
 *       (section 5.4), and gives up after the configured retries (RFC 1122 section 4.2.3.5's R2);</li>
 *   <li>RACK's reordering timer, RFC 8985 section 6.3: armed when loss detection waits on segments
 *       that may yet arrive, so that their loss is found without another ACK;</li>
 *   <li>tail loss probe, RFC 8985 section 7.2: PTO = 2 SRTT (plus TLP.max_ack_delay for a
 *       one-segment flight), one probe per flight, outside recovery only, never later than the RTO;
 *       the probe itself is {@link TcpSender#sendTailLossProbe} (section 7.3);</li>
 *   <li>delayed ACK, RFC 9293 section 3.8.6.3;</li>
 *   <li>persist, RFC 9293 section 3.8.6.1 (RFC 1122 section 4.2.2.17): zero-window probes with
 *       exponential backoff;</li>
 *   <li>keep-alive, RFC 9293 section 3.8.4 (RFC 1122 section 4.2.3.6): idle time measured from the
 *       last segment heard, then probes until one is answered or too many were not;</li>
 *   <li>close: TIME-WAIT's 2 MSL (RFC 9293 section 3.10.7.4) and an orphan's FIN-WAIT-2 limit.</li>
 * </ul>
 * Timers moved on most segments are re-armable handles, so moving one later costs no wheel
 * operation; the rest are one wheel entry each. Arming is called under the endpoint's lock; the
 * expiry handlers run on the wheel's thread and take that lock themselves.
 */
final class TcpTimers {
    static final long MAX_PERSIST_NANOS = TimeUnit.SECONDS.toNanos(60);
    /**
     * What a tail-loss probe waits beyond 2 SRTT (RFC 8985 section 7.2 has no floor): two ticks of
     * the timer wheel, so that a probe never fires a tick early, and room for an ACK the receiver
     * or a busy host held up briefly (Linux adds two jiffies; the old 10 ms floor of the TLP draft
     * left a sub-millisecond path idle for 10 ms on every lost tail).
     */
    static final long PROBE_TIMEOUT_SLACK_NANOS = TimeUnit.MILLISECONDS.toNanos(2);
    /**
     * RFC 8985 section 7.2's TLP.max_ack_delay (WCDelAckT in its drafts, which recommended 200 ms):
     * what a probe allows for the peer's delayed ACK when only one segment is in flight, since a
     * receiver may hold that ACK until its delayed-ACK timer fires (Linux: up to 200 ms). Not our own
     * {@link TcpSettings#delayedAckNanos()}: it budgets for the peer's.
     */
    static final long TLP_MAX_ACK_DELAY_NANOS = TimeUnit.MILLISECONDS.toNanos(200);

    private final TcpEndpoint ep;
    private final TimerService timers;
    private final ReentrantLock lock;
    private final RttEstimator rtt;
    private final RearmableTimer rtoTimer;
    private final RearmableTimer delAckTimer;
    private final RearmableTimer probeTimer;
    private final RearmableTimer reorderTimer;
    private final Runnable persistTask;
    private final Runnable keepAliveTask;
    private final Runnable closeTask;
    private long persistTimer = TimerService.NO_TIMER;
    private long keepAliveTimer = TimerService.NO_TIMER;
    private long closeTimer = TimerService.NO_TIMER;
    /** A tail loss probe went out for this flight; the next comes after new data is acknowledged. */
    private boolean probeSent;
    private long persistBackoffNanos;
    /** Expiries of the retransmission timer since an ACK of new data: the retries counted against the limit. */
    private int consecutiveTimeouts;
    private boolean keepAliveOn;
    private long lastReceiveNanos;
    private int keepAliveProbes;

    /** @param lock the endpoint's lock, which every expiry handler takes */
    TcpTimers(TcpEndpoint ep, TimerService timers, ReentrantLock lock) {
        this.ep = ep;
        this.timers = timers;
        this.lock = lock;
        this.rtt = ep.rtt;
        this.rtoTimer = new RearmableTimer(timers, lock, this::onRetransmit);
        this.delAckTimer = new RearmableTimer(timers, lock, this::onDelayedAck);
        this.probeTimer = new RearmableTimer(timers, lock, this::onTailLossProbe);
        this.reorderTimer = new RearmableTimer(timers, lock, this::onReorderTimeout);
        this.persistTask = this::onPersist;
        this.keepAliveTask = this::onKeepAlive;
        this.closeTask = this::onClose;
        this.keepAliveOn = ep.settings.keepAlive();
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
        reorderTimer.cancel();
        persistTimer = keepAliveTimer = closeTimer = TimerService.NO_TIMER;
    }

    // ---- retransmission and tail loss probe ------------------------------------------------------

    /** Starts (or restarts, RFC 6298 section 5.3) the RTO, and the probe before it. */
    void armRetransmit() {
        rtoTimer.armAfter(rtt.rtoNanos());
        armTailLossProbe();
    }

    /**
     * After a segment went out: starts the RTO if it is idle. RFC 8985 section 7.2: new data (not a
     * retransmission) restarts the probe timer too, so that its timeout is the one for the flight as
     * it now is, not as it was when the flight's first segment went out.
     */
    void segmentSent(boolean newData) {
        if (!rtoTimer.armed()) {
            rtoTimer.armAfter(rtt.rtoNanos());
            armTailLossProbe();
        } else if (newData || ep.sender.recovery().inRecovery()) {
            armTailLossProbe();
        }
    }

    /**
     * RFC 8985 section 7: when the tail of a flight is lost no duplicate ACK comes back, and only
     * the (much longer) RTO would notice. A probe after about two round trips draws a SACK that
     * starts ordinary fast recovery instead.
     */
    private void armTailLossProbe() {
        TcpSender sender = ep.sender;
        if (probeSent || !rtt.hasSample() || !ep.currentState().synchronized_()) {
            return;
        }
        // RFC 8985 section 7.2: PTO = 2 * SRTT, plus TLP.max_ack_delay if FlightSize is one segment,
        // whose ACK a receiver may delay well past two round trips on a fast path.
        long pto = 2 * rtt.srttNanos() + PROBE_TIMEOUT_SLACK_NANOS;
        if (sender.flightSize() <= sender.sendMss()) {
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

    /** RFC 8985 section 6.3: RACK looks again after {@code delayNanos}, unless it is due sooner already. */
    void armReorder(long delayNanos) {
        long due = timers.clock().nanoTime() + delayNanos;
        if (!reorderTimer.armed() || due - reorderTimer.deadline() < 0) {
            reorderTimer.armAt(due);
        }
    }

    private void onReorderTimeout() {
        lock.lock();
        try {
            TcpState state = ep.currentState();
            TcpSender sender = ep.sender;
            if (!state.synchronized_() || state == TcpState.TIME_WAIT || sender.flightSize() == 0) {
                return;
            }
            long again = sender.recovery().reorderTimerFired(timers.clock().nanoTime());
            if (again > 0) {
                armReorder(again);
            }
            ep.output();
        } finally {
            lock.unlock();
        }
    }

    /** The handshake completed: its SYN retransmission timer is done with, and so are its retries. */
    void handshakeAcknowledged() {
        rtoTimer.cancel();
        consecutiveTimeouts = 0;
    }

    /**
     * New data was acknowledged: the retries start over, the flight that drew a probe is over, and
     * the RTO restarts (RFC 6298 section 5.3) or, with everything acknowledged, stops (section 5.2).
     */
    void newDataAcked() {
        consecutiveTimeouts = 0;
        probeSent = false;
        TcpSender sender = ep.sender;
        if (sender.flightSize() == 0) {
            rtoTimer.disarm();
            probeTimer.disarm();
        } else {
            armRetransmit();
        }
    }

    private void onTailLossProbe() {
        lock.lock();
        try {
            TcpState state = ep.currentState();
            TcpSender sender = ep.sender;
            if (!state.synchronized_() || state == TcpState.TIME_WAIT || sender.flightSize() == 0) {
                return;
            }
            probeSent = true;
            if (sender.recovery().inRecovery()) {
                sender.recovery().recoveryProbe(timers.clock().nanoTime());
            } else {
                sender.sendTailLossProbe();
            }
        } finally {
            lock.unlock();
        }
    }

    private void onRetransmit() {
        lock.lock();
        try {
            TcpState state = ep.currentState();
            if (state == TcpState.CLOSED || state == TcpState.TIME_WAIT) {
                return;
            }
            TcpSender sender = ep.sender;
            boolean handshake = state == TcpState.SYN_SENT || state == TcpState.SYN_RECEIVED;
            if (!handshake && sender.flightSize() == 0) {
                return;
            }
            consecutiveTimeouts++;
            ep.stats.timeouts.increment();
            int limit = handshake ? ep.settings.synRetries() : ep.settings.maxRetransmits();
            if (consecutiveTimeouts > limit) {
                if (handshake) {
                    ep.stats.failedConnectionAttempts.increment();
                } else {
                    ep.stats.establishedTimedout.increment();
                }
                ep.writer.sendControl(sender.sndMax(), ep.receiver.rcvNxt(), RST | ACK);
                ep.terminate(new SocketTimeoutException("connection to " + ep.remoteAddress() + ":" + ep.remotePort()
                        + " timed out after " + (consecutiveTimeouts - 1) + " retransmissions"));
                return;
            }
            // RFC 6298 section 5.5: back off.
            rtt.backoff();
            if (state == TcpState.SYN_SENT) {
                ep.writer.sendSyn(false);
                ep.stats.retransmits.increment();
            } else if (state == TcpState.SYN_RECEIVED) {
                ep.writer.sendSyn(true);
                ep.stats.retransmits.increment();
            } else {
                sender.retransmitOnTimeout(timers.clock().nanoTime());
            }
            armRetransmit();
        } finally {
            lock.unlock();
        }
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

    private void onDelayedAck() {
        lock.lock();
        try {
            TcpState state = ep.currentState();
            if (state.synchronized_() && state != TcpState.TIME_WAIT && ep.receiver.ackPending()) {
                ep.writer.sendAck();
            }
        } finally {
            lock.unlock();
        }
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

    /** A probe of the zero window; the next waits twice as long, up to {@link #MAX_PERSIST_NANOS}. */
    private void onPersist() {
        lock.lock();
        try {
            persistTimer = TimerService.NO_TIMER;
            TcpState state = ep.currentState();
            TcpSender sender = ep.sender;
            if (!state.synchronized_() || state == TcpState.TIME_WAIT || sender.sndWnd() > 0 || sender.buffered() == 0) {
                return;
            }
            ep.stats.persistProbesSent.increment();
            // A probe the receiver must answer with its current window: one already-acknowledged octet's sequence.
            ep.writer.sendControl(sender.sndUna() - 1, ep.receiver.rcvNxt(), ACK);
            persistBackoffNanos = Math.min(persistBackoffNanos * 2, MAX_PERSIST_NANOS);
            persistTimer = timers.scheduleAfter(persistBackoffNanos, persistTask);
        } finally {
            lock.unlock();
        }
    }

    // ---- keep-alive and close --------------------------------------------------------------------

    /** A segment arrived: idleness counts from now and the peer has answered any probe. */
    void segmentReceived(long now) {
        lastReceiveNanos = now;
        keepAliveProbes = 0;
    }

    /** The handshake heard from the peer: idleness counts from now. */
    void heardFromPeer(long now) {
        lastReceiveNanos = now;
    }

    /** ESTABLISHED: the first keep-alive is due after the idle time, if keep-alive is on. */
    void established() {
        if (keepAliveOn) {
            scheduleKeepAlive(ep.settings.keepAliveIdleNanos());
        }
    }

    /** The application turned keep-alive on or off. */
    void keepAlive(boolean on) {
        keepAliveOn = on;
        if (on && ep.currentState().countsAsConnected()) {
            scheduleKeepAlive(ep.settings.keepAliveIdleNanos());
        } else if (!on) {
            cancel(keepAliveTimer);
            keepAliveTimer = TimerService.NO_TIMER;
        }
    }

    private void scheduleKeepAlive(long delayNanos) {
        cancel(keepAliveTimer);
        keepAliveTimer = timers.scheduleAfter(delayNanos, keepAliveTask);
    }

    /** RFC 9293 section 3.8.4 / RFC 1122 section 4.2.3.6. */
    private void onKeepAlive() {
        lock.lock();
        try {
            keepAliveTimer = TimerService.NO_TIMER;
            if (!keepAliveOn || !ep.currentState().countsAsConnected()) {
                return;
            }
            TcpSettings settings = ep.settings;
            long now = timers.clock().nanoTime();
            long idle = now - lastReceiveNanos;
            if (keepAliveProbes == 0 && idle < settings.keepAliveIdleNanos()) {
                scheduleKeepAlive(settings.keepAliveIdleNanos() - idle);
                return;
            }
            if (keepAliveProbes >= settings.keepAliveCount()) {
                ep.stats.establishedTimedout.increment();
                ep.writer.sendControl(ep.sender.sndMax(), ep.receiver.rcvNxt(), RST | ACK);
                ep.terminate(new SocketTimeoutException("keep-alive: " + ep.remoteAddress() + ":" + ep.remotePort()
                        + " did not answer " + keepAliveProbes + " probes"));
                return;
            }
            keepAliveProbes++;
            ep.stats.keepAliveProbesSent.increment();
            ep.writer.sendControl(ep.sender.sndUna() - 1, ep.receiver.rcvNxt(), ACK);
            scheduleKeepAlive(settings.keepAliveIntervalNanos());
        } finally {
            lock.unlock();
        }
    }

    /** TIME-WAIT's 2 MSL, or how long an orphan waits in FIN-WAIT-2; replaces any earlier deadline. */
    void scheduleClose(long delayNanos) {
        cancel(closeTimer);
        closeTimer = timers.scheduleAfter(delayNanos, closeTask);
    }

    private void onClose() {
        lock.lock();
        try {
            closeTimer = TimerService.NO_TIMER;
            TcpState state = ep.currentState();
            if (state == TcpState.TIME_WAIT) {
                ep.terminate(null);
            } else if (state == TcpState.FIN_WAIT_2 && ep.orphaned()) {
                // An orphaned connection whose peer never closes (Linux tcp_fin_timeout).
                ep.terminate(null);
            }
        } finally {
            lock.unlock();
        }
    }
}
