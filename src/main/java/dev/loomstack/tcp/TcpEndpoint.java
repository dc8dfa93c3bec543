package dev.loomstack.tcp;

import static dev.loomstack.packet.TcpHeader.ACK;
import static dev.loomstack.packet.TcpHeader.FIN;
import static dev.loomstack.packet.TcpHeader.PSH;
import static dev.loomstack.packet.TcpHeader.RST;
import static dev.loomstack.packet.TcpHeader.SYN;

import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.packet.TcpHeader;
import dev.loomstack.packet.TcpOptions;
import dev.loomstack.stack.NetworkOutput;
import dev.loomstack.stack.RearmableTimer;
import dev.loomstack.stack.Stats;
import dev.loomstack.stack.TimerService;
import dev.loomstack.stack.TransportEndpointId;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One TCP connection: the RFC 9293 state machine with its send and receive sequence spaces, the
 * retransmission machinery (RFC 6298 timer, RFC 6582 NewReno and RFC 6675 SACK recovery), flow
 * control with bounded buffers, and the blocking calls applications use.
 *
 * <p>All state sits behind one {@link ReentrantLock}: inbound segments (the link's reader thread),
 * timers (the wheel thread) and application calls (usually virtual threads, which park on the
 * lock's conditions cheaply) take it in turn. Buffers are allocated on first use and dropped when
 * empty, so an idle connection holds only this object and its small helpers.
 */
public final class TcpEndpoint {
    /** RFC 9293 section 3.7.1: the MSS assumed when the peer sends none. */
    static final int DEFAULT_MSS_V4 = 536;
    static final int DEFAULT_MSS_V6 = 1220;
    static final long MAX_PERSIST_NANOS = TimeUnit.SECONDS.toNanos(60);
    static final long AUTOTUNE_MIN_PERIOD_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

    private final TcpProtocol protocol;
    private final NetworkOutput output;
    private final TimerService timers;
    private final Stats.TcpStats stats;
    private final TcpSettings settings;
    final FlowKey key;
    private final IpAddress localAddress;
    private final IpAddress remoteAddress;
    private final int localPort;
    private final int remotePort;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition readable = lock.newCondition();
    private final Condition writable = lock.newCondition();
    private final Condition stateChanged = lock.newCondition();

    private TcpState state = TcpState.CLOSED;
    private IOException error;
    private boolean everConnected;

    // Send sequence space (RFC 9293 section 3.3.1), plus SND.MAX for go-back-N after a timeout.
    private int iss;
    private int sndUna;
    private int sndNxt;
    private int sndMax;
    private int sndWnd;
    private int sndWl1;
    private int sndWl2;
    private int maxSndWnd;
    private int sndShift;
    private int sendMss;
    private final ByteRing sendBuffer;
    private boolean finQueued;
    private boolean finSent;
    private int finSeq;

    private CongestionControl cc;
    private final RttEstimator rtt;
    private final SackScoreboard scoreboard = new SackScoreboard();
    private boolean inRecovery;
    private int recoverPoint;
    private int highRxt;
    /** SND.MAX when the hole at SND.UNA was last repaired; SACKs beyond it mean the repair was lost. */
    private int repairEdge;
    private boolean repairEdgeValid;
    private int dupAcks;
    private int rttSeq;
    private long rttStart = -1;
    private int consecutiveTimeouts;
    private long lastSendNanos;

    private final TcpReceiver receiver;

    // Negotiated options.
    private boolean sackOk;
    private boolean wsOk;
    private boolean tsOk;
    private int tsRecent;
    private final int tsOffset = ThreadLocalRandom.current().nextInt();
    private int ourMss;

    // Application side.
    private boolean appClosed;
    private boolean nagle;
    private boolean keepAliveOn;
    private long lastReceiveNanos;
    private int keepAliveProbes;
    private Runnable onEstablished;
    private Runnable onClosed;

    // Timers: one id and one reusable task per kind; those moved on most segments are re-armable
    // handles, so moving one later costs no wheel operation.
    private final RearmableTimer rtoTimer;
    private final RearmableTimer delAckTimer;
    private final RearmableTimer probeTimer;
    private long persistTimer = TimerService.NO_TIMER;
    private long keepAliveTimer = TimerService.NO_TIMER;
    private long closeTimer = TimerService.NO_TIMER;
    private boolean probeSent;
    private long persistBackoffNanos;
    private final Runnable persistTask = this::onPersistTimer;
    private final Runnable keepAliveTask = this::onKeepAliveTimer;
    private final Runnable closeTask = this::onCloseTimer;
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

    TcpEndpoint(TcpProtocol protocol, TcpSettings settings, IpAddress localAddress, int localPort,
                IpAddress remoteAddress, int remotePort) {
        this.protocol = protocol;
        this.output = protocol.output();
        this.timers = output.timers();
        this.stats = output.stats().tcp;
        this.settings = settings;
        this.localAddress = localAddress;
        this.localPort = localPort;
        this.remoteAddress = remoteAddress;
        this.remotePort = remotePort;
        this.key = FlowKey.of(localAddress, localPort, remoteAddress, remotePort);
        this.sendBuffer = new ByteRing(settings.sendBufferSize());
        this.receiver = new TcpReceiver(settings);
        this.rtt = new RttEstimator(settings.minRtoNanos(), RttEstimator.MAX_RTO_NANOS, RttEstimator.INITIAL_RTO_NANOS);
        this.nagle = settings.nagle();
        this.keepAliveOn = settings.keepAlive();
        int ipHeader = localAddress.v4() ? 20 : 40;
        this.ourMss = output.mtu() - ipHeader - TcpHeader.MIN_LENGTH;
        this.rtoTimer = new RearmableTimer(timers, lock, this::onRetransmitTimer);
        this.delAckTimer = new RearmableTimer(timers, lock, this::onDelayedAckTimer);
        this.probeTimer = new RearmableTimer(timers, lock, this::onTailLossProbe);
    }

    // ---- identity ------------------------------------------------------------------------------

    public IpAddress localAddress() {
        return localAddress;
    }

    public int localPort() {
        return localPort;
    }

    public IpAddress remoteAddress() {
        return remoteAddress;
    }

    public int remotePort() {
        return remotePort;
    }

    public TransportEndpointId id() {
        return new TransportEndpointId(localAddress, localPort, remoteAddress, remotePort);
    }

    public TcpState state() {
        lock.lock();
        try {
            return state;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String toString() {
        return "TcpEndpoint[" + id() + " " + state + "]";
    }

    // ---- opening -------------------------------------------------------------------------------

    /** Active open (RFC 9293 section 3.10.1): sends SYN, moves to SYN-SENT. */
    void connect() {
        lock.lock();
        try {
            iss = protocol.isn(localAddress, localPort, remoteAddress, remotePort);
            sndUna = iss;
            sndNxt = iss + 1;
            sndMax = sndNxt;
            setState(TcpState.SYN_SENT);
            stats.activeConnectionOpenings.increment();
            sendSyn(false);
            armRetransmitTimer();
        } finally {
            lock.unlock();
        }
    }

    /** Passive open from a SYN (listener or forwarder): sends SYN-ACK, moves to SYN-RECEIVED. */
    void acceptSyn(SynInfo syn) {
        lock.lock();
        try {
            receiver.synchronize(syn.sequence());
            applyPeerSynOptions(syn.mss(), syn.windowScale(), syn.sackPermitted(), syn.hasTimestamps(), syn.tsVal());
            sndWnd = syn.window();
            maxSndWnd = sndWnd;
            iss = protocol.isn(localAddress, localPort, remoteAddress, remotePort);
            sndUna = iss;
            sndNxt = iss + 1;
            sndMax = sndNxt;
            setState(TcpState.SYN_RECEIVED);
            stats.passiveConnectionOpenings.increment();
            sendSyn(true);
            armRetransmitTimer();
        } finally {
            lock.unlock();
        }
    }

    private void applyPeerSynOptions(int peerMss, int peerShift, boolean peerSack, boolean peerTs, int peerTsVal) {
        int mss = peerMss > 0 ? peerMss : (localAddress.v4() ? DEFAULT_MSS_V4 : DEFAULT_MSS_V6);
        // RFC 7323 section 2.2: scaling applies only when both sides sent the option.
        wsOk = peerShift >= 0 && settings.windowScaling();
        sndShift = wsOk ? peerShift : 0;
        receiver.windowScaling(wsOk);
        sackOk = peerSack && settings.sack();
        tsOk = peerTs && settings.timestamps();
        if (tsOk) {
            tsRecent = peerTsVal;
        }
        // RFC 9293 section 3.7.1 and RFC 6691: the MSS excludes options; subtract what every segment carries.
        sendMss = Math.max(64, Math.min(mss, ourMss) - (tsOk ? TcpOptions.TIMESTAMPS_ALIGNED_LENGTH : 0));
        cc = settings.congestionControl().create(sendMss);
        lastReceiveNanos = timers.clock().nanoTime();
    }

    // ---- inbound -------------------------------------------------------------------------------

    /** Processes one segment for this connection (RFC 9293 section 3.10.7). Called on the reader thread. */
    void segmentArrived(Segment seg) {
        lock.lock();
        try {
            lastReceiveNanos = timers.clock().nanoTime();
            keepAliveProbes = 0;
            switch (state) {
                case CLOSED -> protocol.replyWithReset(this, seg);
                case SYN_SENT -> synSentArrived(seg);
                default -> synchronizedArrived(seg);
            }
        } finally {
            lock.unlock();
        }
    }

    /** RFC 9293 section 3.10.7.3. */
    private void synSentArrived(Segment seg) {
        boolean ack = seg.has(ACK);
        if (ack && (Seq.leq(seg.acknowledgment, iss) || Seq.gt(seg.acknowledgment, sndMax))) {
            if (!seg.has(RST)) {
                sendControl(seg.acknowledgment, 0, RST);
            }
            stats.invalidSegmentsReceived.increment();
            return;
        }
        if (seg.has(RST)) {
            if (ack) {
                stats.resetsReceived.increment();
                stats.failedConnectionAttempts.increment();
                terminate(new ConnectException("Connection refused by " + remoteAddress + ":" + remotePort));
            }
            return;
        }
        if (!seg.has(SYN)) {
            return;
        }
        TcpOptions o = seg.options;
        receiver.synchronize(seg.sequence);
        applyPeerSynOptions(o.mss, o.windowScale, o.sackPermitted, o.hasTimestamps, o.tsVal);
        sndWnd = seg.window;
        maxSndWnd = sndWnd;
        sndWl1 = seg.sequence;
        sndWl2 = seg.acknowledgment;
        if (ack) {
            sndUna = seg.acknowledgment;
            if (tsOk && o.tsEcr != 0) {
                rtt.sample(rttFromEcho(o.tsEcr));
            }
            rtoTimer.cancel();
            consecutiveTimeouts = 0;
            establish();
            sendAck();
        } else {
            // Simultaneous open (RFC 9293 section 3.5, figure 7).
            setState(TcpState.SYN_RECEIVED);
            sendSyn(true);
        }
    }

    private void synchronizedArrived(Segment seg) {
        TcpOptions o = seg.options;
        int segLen = seg.sequenceLength();
        // RFC 7323 section 5.3: PAWS rejects old duplicates by their timestamps.
        if (tsOk && o.hasTimestamps && !seg.has(RST) && Seq.lt(o.tsVal, tsRecent) && state != TcpState.SYN_RECEIVED) {
            stats.invalidSegmentsReceived.increment();
            sendAck();
            return;
        }
        if (!receiver.acceptable(seg.sequence, segLen)) {
            stats.invalidSegmentsReceived.increment();
            if (!seg.has(RST)) {
                sendAck();
            }
            return;
        }
        if (tsOk && o.hasTimestamps && Seq.leq(seg.sequence, receiver.lastAckSent())) {
            tsRecent = o.tsVal;
        }
        if (seg.has(RST)) {
            // RFC 5961 section 3.2: only an exact match resets; in-window guesses get a challenge.
            if (seg.sequence == receiver.rcvNxt()) {
                stats.resetsReceived.increment();
                if (state.countsAsEstablished()) {
                    stats.establishedResets.increment();
                }
                if (state == TcpState.SYN_RECEIVED) {
                    stats.failedConnectionAttempts.increment();
                    terminate(new ConnectException("handshake reset by " + remoteAddress + ":" + remotePort));
                } else {
                    terminate(new SocketException("Connection reset by " + remoteAddress + ":" + remotePort));
                }
            } else {
                challengeAck();
            }
            return;
        }
        if (seg.has(SYN)) {
            if (state == TcpState.SYN_RECEIVED && seg.sequence == receiver.irs()) {
                // Our SYN-ACK was lost: the peer's SYN comes again.
                sendSyn(true);
                return;
            }
            // RFC 5961 section 4.2: a SYN in a synchronized state earns a challenge ACK, never a reset.
            challengeAck();
            return;
        }
        if (!seg.has(ACK)) {
            return;
        }
        if (state == TcpState.SYN_RECEIVED) {
            if (Seq.gt(seg.acknowledgment, sndUna) && Seq.leq(seg.acknowledgment, sndMax)) {
                sndUna = seg.acknowledgment;
                sndWnd = seg.window << sndShift;
                maxSndWnd = Math.max(maxSndWnd, sndWnd);
                sndWl1 = seg.sequence;
                sndWl2 = seg.acknowledgment;
                if (tsOk && o.hasTimestamps && o.tsEcr != 0) {
                    rtt.sample(rttFromEcho(o.tsEcr));
                }
                rtoTimer.cancel();
                consecutiveTimeouts = 0;
                establish();
            } else {
                sendControl(seg.acknowledgment, 0, RST);
                return;
            }
        }
        if (!processAck(seg)) {
            return;
        }
        if (seg.payloadLength > 0) {
            receiveData(seg);
        }
        if (seg.has(FIN)) {
            receiveFin(seg);
        }
        if (state == TcpState.CLOSED) {
            return;
        }
        output();
    }

    /** The ACK field (RFC 9293 section 3.10.7.4, fifth check; RFC 5961 section 5). False to stop. */
    private boolean processAck(Segment seg) {
        int ack = seg.acknowledgment;
        if (Seq.gt(ack, sndMax)) {
            // Acknowledges something not yet sent.
            stats.invalidSegmentsReceived.increment();
            sendAck();
            return false;
        }
        if (Seq.lt(ack, sndUna - maxSndWnd)) {
            // RFC 5961 section 5.2: far below SND.UNA, likely forged.
            stats.invalidSegmentsReceived.increment();
            challengeAck();
            return false;
        }
        stats.validSegmentsReceived.increment();
        TcpOptions o = seg.options;
        if (sackOk && o.sackCount > 0) {
            scoreboard.update(sndUna, sndMax, o.sackStart, o.sackEnd, o.sackCount);
            if (inRecovery && repairEdgeValid && ack == sndUna
                    && Seq.gt(scoreboard.highestSacked(sndUna), repairEdge)) {
                // Data sent after the repair of SND.UNA has arrived but the repair has not: it was
                // lost too (the idea of RFC 8985's RACK). Repair again rather than wait for the RTO.
                repairEdgeValid = false;
                highRxt = sndUna;
            }
        }
        long now = timers.clock().nanoTime();
        int window = seg.window << sndShift;
        if (Seq.gt(ack, sndUna)) {
            newDataAcked(ack, o, now);
        } else if (ack == sndUna && seg.payloadLength == 0 && !seg.has(FIN) && window == sndWnd
                && sndMax != sndUna) {
            duplicateAck(now);
        }
        // RFC 9293 section 3.10.7.4: update the send window from the newest segment.
        if (Seq.lt(sndWl1, seg.sequence) || (sndWl1 == seg.sequence && Seq.leq(sndWl2, ack))) {
            boolean opened = sndWnd == 0 && window > 0;
            sndWnd = window;
            maxSndWnd = Math.max(maxSndWnd, window);
            sndWl1 = seg.sequence;
            sndWl2 = ack;
            if (opened) {
                cancelTimer(persistTimer);
                persistTimer = TimerService.NO_TIMER;
                persistBackoffNanos = 0;
            }
        }
        if (finSent && Seq.gt(ack, finSeq)) {
            switch (state) {
                case FIN_WAIT_1 -> {
                    setState(TcpState.FIN_WAIT_2);
                    if (appClosed) {
                        scheduleClose(settings.finWait2Nanos());
                    }
                }
                case CLOSING -> enterTimeWait();
                case LAST_ACK -> {
                    terminate(null);
                    return false;
                }
                default -> { }
            }
        }
        return true;
    }

    private void newDataAcked(int ack, TcpOptions o, long now) {
        int acked = ack - sndUna;
        int dataEnd = sndUna + sendBuffer.size();
        int dataAcked = Seq.gt(ack, dataEnd) ? dataEnd - sndUna : acked;
        sendBuffer.skip(dataAcked);
        sndUna = ack;
        if (Seq.lt(sndNxt, sndUna)) {
            sndNxt = sndUna;
        }
        scoreboard.ackTo(ack);
        long sample = -1;
        if (tsOk && o.hasTimestamps && o.tsEcr != 0) {
            sample = rttFromEcho(o.tsEcr);
        } else if (rttStart >= 0 && Seq.gt(ack, rttSeq)) {
            sample = now - rttStart;
            rttStart = -1;
        }
        if (sample > 0) {
            rtt.sample(sample);
        }
        consecutiveTimeouts = 0;
        dupAcks = 0;
        probeSent = false;
        int flight = sndMax - sndUna;
        if (inRecovery) {
            if (Seq.geq(ack, recoverPoint)) {
                // RFC 6582 section 3.2 step 3: a full acknowledgment ends recovery.
                inRecovery = false;
                cc.onRecoveryComplete(flight, now);
            } else if (scoreboard.isEmpty() && Seq.gt(sndUna + sendMss, highRxt)) {
                // RFC 6582 section 3.2 step 5: a partial ACK without SACK retransmits the next hole.
                retransmitAt(sndUna);
            } else if (Seq.lt(sndUna, highRxt)) {
                // The new first hole was repaired already; watch that repair from here on.
                repairEdge = sndMax;
                repairEdgeValid = true;
            }
        } else {
            cc.onAck(dataAcked, sample, flight, now);
        }
        if (sndUna == sndMax) {
            rtoTimer.disarm();
            probeTimer.disarm();
        } else {
            restartRetransmitTimer();
        }
        writable.signalAll();
    }

    private void duplicateAck(long now) {
        dupAcks++;
        if (inRecovery) {
            return;
        }
        boolean lost = dupAcks >= SackScoreboard.DUP_THRESH || (sackOk && scoreboard.isLost(sndUna, sendMss));
        // RFC 6582 section 3.2 step 1: no new recovery until the previous one's data is acknowledged.
        if (!lost || (recoverPoint != 0 && Seq.lt(sndUna, recoverPoint))) {
            return;
        }
        inRecovery = true;
        recoverPoint = sndMax;
        highRxt = sndUna;
        cc.onLossDetected(sndMax - sndUna, now);
        stats.fastRetransmit.increment();
        if (sackOk && !scoreboard.isEmpty()) {
            stats.sackRecovery.increment();
        } else {
            stats.fastRecovery.increment();
        }
        retransmitAt(sndUna);
    }

    private void retransmitAt(int seq) {
        if (seq == sndUna) {
            repairEdge = sndMax;
            repairEdgeValid = true;
        }
        int end = Seq.min(sndMax, scoreboard.nextSackedStart(seq, sndMax));
        int dataEnd = sndUna + sendBuffer.size();
        int len = Math.min(sendMss, Math.max(0, Seq.min(end, dataEnd) - seq));
        if (len > 0) {
            int sent = sendData(seq, len, true);
            highRxt = Seq.max(highRxt, seq + sent);
        } else if (finSent && seq == finSeq) {
            sendControl(finSeq, receiver.rcvNxt(), FIN | ACK);
            stats.retransmits.increment();
        }
    }

    private void receiveData(Segment seg) {
        if (state != TcpState.ESTABLISHED && state != TcpState.FIN_WAIT_1 && state != TcpState.FIN_WAIT_2) {
            return;
        }
        int placed = receiver.place(seg.sequence, seg.array, seg.payloadOffset, seg.payloadLength);
        if (placed == TcpReceiver.NOTHING_NEW || placed == TcpReceiver.OUT_OF_ORDER) {
            // RFC 5681 section 4.2: an out-of-order segment is acknowledged at once (a duplicate ACK).
            sendAck();
            return;
        }
        if (placed == TcpReceiver.FILLED_HOLE_TO_FIN) {
            acceptFin();
        }
        readable.signalAll();
        if (receiver.inOrderSegmentCounted(placed != TcpReceiver.IN_ORDER)) {
            sendAck();
        } else if (!delAckTimer.armed()) {
            delAckTimer.armAfter(settings.delayedAckNanos());
        }
    }

    private void receiveFin(Segment seg) {
        if (state == TcpState.CLOSE_WAIT || state == TcpState.CLOSING || state == TcpState.LAST_ACK) {
            sendAck();
            return;
        }
        if (state == TcpState.TIME_WAIT) {
            // RFC 9293 section 3.10.7.4: a retransmitted FIN restarts the 2 MSL timeout.
            sendAck();
            scheduleClose(settings.timeWaitNanos());
            return;
        }
        if (receiver.finArrived(seg.sequence + seg.payloadLength)) {
            acceptFin();
        }
    }

    private void acceptFin() {
        receiver.acceptFin();
        readable.signalAll();
        switch (state) {
            case ESTABLISHED -> setState(TcpState.CLOSE_WAIT);
            case FIN_WAIT_1 -> setState(TcpState.CLOSING);
            case FIN_WAIT_2 -> enterTimeWait();
            default -> { }
        }
        sendAck();
    }

    private long rttFromEcho(int tsEcr) {
        int nowMs = tsClock();
        int diff = nowMs - tsEcr;
        return diff < 0 ? -1 : TimeUnit.MILLISECONDS.toNanos(Math.max(diff, 1));
    }

    private int tsClock() {
        return (int) (timers.clock().nanoTime() / 1_000_000L) + tsOffset;
    }

    // ---- state ---------------------------------------------------------------------------------

    private void setState(TcpState next) {
        TcpState prev = state;
        if (prev == next) {
            return;
        }
        if (prev.countsAsEstablished() && !next.countsAsEstablished()) {
            stats.currentEstablished.decrement();
        } else if (!prev.countsAsEstablished() && next.countsAsEstablished()) {
            stats.currentEstablished.increment();
        }
        if (prev.countsAsConnected() && !next.countsAsConnected()) {
            stats.currentConnected.decrement();
        } else if (!prev.countsAsConnected() && next.countsAsConnected()) {
            stats.currentConnected.increment();
        }
        state = next;
        stateChanged.signalAll();
        readable.signalAll();
        writable.signalAll();
    }

    private void establish() {
        setState(TcpState.ESTABLISHED);
        everConnected = true;
        receiver.established(timers.clock().nanoTime());
        if (keepAliveOn) {
            scheduleKeepAlive(settings.keepAliveIdleNanos());
        }
        Runnable r = onEstablished;
        onEstablished = null;
        if (r != null) {
            r.run();
        }
    }

    private void enterTimeWait() {
        setState(TcpState.TIME_WAIT);
        stats.establishedClosed.increment();
        cancelAllTimers();
        releaseBuffersIfDone();
        scheduleClose(settings.timeWaitNanos());
    }

    /** Leaves the connection: CLOSED, out of the demultiplexer, every waiter woken. */
    private void terminate(IOException cause) {
        if (state == TcpState.CLOSED) {
            return;
        }
        if (cause == null && state.synchronized_() && state != TcpState.TIME_WAIT) {
            stats.establishedClosed.increment();
        }
        if (cause != null && error == null) {
            error = cause;
        }
        setState(TcpState.CLOSED);
        cancelAllTimers();
        protocol.remove(this);
        if (error != null) {
            // Nothing more will be read or sent.
            sendBuffer.skip(sendBuffer.size());
        }
        if (receiver.hasOutOfOrder()) {
            receiver.dropOutOfOrder();
        }
        Runnable r = onClosed;
        onClosed = null;
        onEstablished = null;
        if (r != null) {
            r.run();
        }
    }

    private void releaseBuffersIfDone() {
        sendBuffer.skip(sendBuffer.size());
        receiver.dropOutOfOrder();
    }

    // ---- outbound ------------------------------------------------------------------------------

    /** Sends what the windows allow (RFC 9293 section 3.8.6; RFC 6675 section 5 during recovery). */
    private void output() {
        if (state != TcpState.ESTABLISHED && state != TcpState.CLOSE_WAIT && state != TcpState.FIN_WAIT_1
                && state != TcpState.CLOSING && state != TcpState.LAST_ACK) {
            return;
        }
        long now = timers.clock().nanoTime();
        if (sndUna == sndMax && lastSendNanos != 0 && now - lastSendNanos > rtt.rtoNanos()) {
            // RFC 5681 section 4.1: restart from a small window after an idle period.
            cc.onIdleRestart(now);
        }
        boolean sent = false;
        for (int guard = 0; guard < 1024; guard++) {
            int dataEnd = sndUna + sendBuffer.size();
            if (inRecovery) {
                int pipe = pipe();
                if (pipe + sendMss > cc.congestionWindow() && pipe > 0) {
                    break;
                }
                int hole = scoreboard.skipSacked(Seq.max(highRxt, sndUna));
                int highSacked = scoreboard.highestSacked(sndUna);
                if (!scoreboard.isEmpty() && Seq.lt(hole, highSacked) && scoreboard.isLost(hole, sendMss)) {
                    retransmitAt(hole);
                    highRxt = Seq.max(highRxt, hole + 1);
                    sent = true;
                    continue;
                }
                int usable = sndUna + sndWnd - sndMax;
                int len = Math.min(sendMss, Math.min(usable, dataEnd - sndMax));
                if (len <= 0) {
                    // RFC 6675 section 5 NextSeg rule 3: with nothing new to send, repair a hole
                    // below the highest SACK even before it counts as lost.
                    if (!scoreboard.isEmpty() && Seq.lt(hole, highSacked)) {
                        retransmitAt(hole);
                        highRxt = Seq.max(highRxt, hole + 1);
                        sent = true;
                        continue;
                    }
                    break;
                }
                sendData(sndMax, len, false);
                sent = true;
                continue;
            }
            int window = Math.min(cc.congestionWindow(), sndWnd);
            int inFlight = sndNxt - sndUna;
            int usable = window - inFlight;
            if (Seq.lt(sndNxt, sndMax)) {
                // Go-back-N after a timeout, skipping what the receiver holds.
                int from = scoreboard.skipSacked(sndNxt);
                if (Seq.geq(from, sndMax)) {
                    sndNxt = sndMax;
                    continue;
                }
                if (usable <= 0) {
                    break;
                }
                if (finSent && from == finSeq) {
                    sendControl(finSeq, receiver.rcvNxt(), FIN | ACK);
                    stats.retransmits.increment();
                    sndNxt = sndMax;
                    sent = true;
                    continue;
                }
                int end = Seq.min(scoreboard.nextSackedStart(from, sndMax), dataEnd);
                int len = Math.min(Math.min(sendMss, usable), end - from);
                if (len <= 0) {
                    sndNxt = sndMax;
                    continue;
                }
                sndNxt = from;
                sendData(from, len, true);
                sent = true;
                continue;
            }
            int avail = dataEnd - sndNxt;
            int len = Math.min(Math.min(sendMss, avail), usable);
            if (len > 0) {
                // Nagle (RFC 9293 section 3.7.4): hold a small segment while data is unacknowledged.
                if (len < sendMss && len == avail && nagle && sndMax != sndUna && !finQueued) {
                    break;
                }
                sendData(sndNxt, len, false);
                sent = true;
                continue;
            }
            if (avail == 0 && finQueued && !finSent) {
                finSeq = dataEnd;
                finSent = true;
                sendControl(finSeq, receiver.rcvNxt(), FIN | ACK);
                sndNxt = finSeq + 1;
                sndMax = sndNxt;
                armRetransmitTimerIfIdle(true);
                sent = true;
            }
            if (avail > 0 && sndWnd == 0 && sndUna == sndMax && persistTimer == TimerService.NO_TIMER) {
                // RFC 9293 section 3.8.6.1: probe a zero window so its reopening is never missed.
                persistBackoffNanos = rtt.rtoNanos();
                persistTimer = timers.scheduleAfter(persistBackoffNanos, persistTask);
            }
            break;
        }
        if (!sent && receiver.ackPending() && !delAckTimer.armed()) {
            delAckTimer.armAfter(settings.delayedAckNanos());
        }
    }

    /** RFC 6675 section 4 pipe: bytes thought to be in the network. */
    private int pipe() {
        int outstanding = sndMax - sndUna;
        int sacked = scoreboard.sackedBytes();
        int highSacked = scoreboard.highestSacked(sndUna);
        int lost = scoreboard.unsackedBytes(Seq.max(highRxt, sndUna), highSacked);
        return Math.max(0, outstanding - sacked - lost);
    }

    /**
     * Sends up to {@code len} bytes of data starting at {@code seq}; returns how many went out.
     * SACK blocks take their room from the MSS (RFC 9293 section 3.7.1, RFC 6691: the sender
     * reduces the data for the options it includes), or the segment would exceed the path MTU.
     */
    private int sendData(int seq, int len, boolean retransmission) {
        len = Math.min(len, sendMss - sackOptionRoom());
        int end = seq + len;
        boolean last = end == sndUna + sendBuffer.size();
        int flags = ACK | (last ? PSH : 0);
        emit(seq, receiver.rcvNxt(), flags, seq - sndUna, len);
        if (retransmission || Seq.lt(seq, sndMax)) {
            stats.retransmits.increment();
            if (cc.congestionWindow() < cc.slowStartThreshold()) {
                stats.slowStartRetransmits.increment();
            }
            if (rttStart >= 0 && Seq.leq(seq, rttSeq)) {
                // Karn: a retransmitted segment gives no RTT sample.
                rttStart = -1;
            }
        } else if (rttStart < 0 && !tsOk) {
            rttSeq = seq;
            rttStart = timers.clock().nanoTime();
        }
        boolean newData = Seq.gt(end, sndMax);
        if (newData) {
            sndMax = end;
        }
        // New data and go-back-N retransmissions advance SND.NXT; recovery's hole repairs do not.
        if (Seq.geq(seq, sndNxt)) {
            sndNxt = end;
        }
        armRetransmitTimerIfIdle(newData);
        return len;
    }

    /** The most option bytes the SACK blocks of the next segment can take (sendMss already allows for timestamps). */
    private int sackOptionRoom() {
        return sackOk && receiver.holdsOutOfOrder()
                ? TcpReceiver.SACK_OPTION_OVERHEAD + TcpReceiver.SACK_BLOCK_LENGTH * TcpReceiver.MAX_SACK_BLOCKS_SENT : 0;
    }

    /** Data plus options a segment may carry: the peer's MSS clamped to ours (sendMss less the timestamps). */
    private int effectiveSendMss() {
        return sendMss + (tsOk ? TcpOptions.TIMESTAMPS_ALIGNED_LENGTH : 0);
    }

    private void sendSyn(boolean withAck) {
        PacketBuffer p = output.pool().acquire(NetworkOutput.MAX_IP_HEADER + 60, NetworkOutput.MAX_IP_HEADER);
        byte[] b = p.array();
        int start = p.append(TcpHeader.MIN_LENGTH);
        int opt = p.end();
        int n = TcpOptions.writeMss(b, opt, ourMss);
        // RFC 7323 section 2.2: a SYN-ACK carries the option only if the SYN did.
        if (settings.windowScaling() && (!withAck || wsOk)) {
            n += TcpOptions.writeWindowScale(b, opt + n, settings.windowShift());
        }
        if (settings.sack() && (!withAck || sackOk)) {
            n += TcpOptions.writeSackPermitted(b, opt + n);
        }
        if (settings.timestamps() && (!withAck || tsOk)) {
            n += TcpOptions.writeTimestamps(b, opt + n, tsClock(), withAck ? tsRecent : 0);
        }
        p.append(n);
        // RFC 7323 section 2.2: the window in a SYN is never scaled.
        int window = receiver.synWindow();
        TcpHeader.write(b, start, localPort, remotePort, iss, withAck ? receiver.rcvNxt() : 0, TcpHeader.MIN_LENGTH + n,
                withAck ? SYN | ACK : SYN, window);
        transmit(p, start);
    }

    /** An ACK (or RST, FIN) without data. */
    private void sendControl(int seq, int ack, int flags) {
        PacketBuffer p = output.pool().acquire(NetworkOutput.MAX_IP_HEADER + 60, NetworkOutput.MAX_IP_HEADER);
        int start = p.append(TcpHeader.MIN_LENGTH);
        int hl = TcpHeader.MIN_LENGTH + writeOptions(p, (flags & RST) == 0, 0);
        int window = (flags & RST) != 0 ? 0 : advertisedWindow();
        TcpHeader.write(p.array(), start, localPort, remotePort, seq, (flags & ACK) != 0 ? ack : 0, hl, flags, window);
        if ((flags & ACK) != 0) {
            ackSent();
        }
        if ((flags & RST) != 0) {
            stats.resetsSent.increment();
        }
        transmit(p, start);
    }

    private void emit(int seq, int ack, int flags, int bufferOffset, int len) {
        PacketBuffer p = output.pool().acquire(NetworkOutput.MAX_IP_HEADER + 60 + len, NetworkOutput.MAX_IP_HEADER);
        int start = p.append(TcpHeader.MIN_LENGTH);
        int hl = TcpHeader.MIN_LENGTH + writeOptions(p, true, len);
        int at = p.append(len);
        sendBuffer.peek(bufferOffset, p.array(), at, len);
        TcpHeader.write(p.array(), start, localPort, remotePort, seq, ack, hl, flags, advertisedWindow());
        ackSent();
        lastSendNanos = timers.clock().nanoTime();
        transmit(p, start);
    }

    /**
     * Timestamps on every segment once agreed; SACK blocks when data is held out of order, as many
     * as fit beside {@code payloadLength} bytes of data in one MTU (the data was sized for the
     * timestamps alone, and a segment grown past the MTU would leave fragmented).
     */
    private int writeOptions(PacketBuffer p, boolean withSack, int payloadLength) {
        int n = 0;
        byte[] b = p.array();
        int at = p.end();
        if (tsOk) {
            n += TcpOptions.writeTimestamps(b, at, tsClock(), tsRecent);
        }
        if (withSack && sackOk && receiver.hasOutOfOrder()) {
            // Options and data together within the MSS the peer accepts (RFC 6691).
            int room = payloadLength == 0 ? ourMss - n : effectiveSendMss() - payloadLength - n;
            int fit = Math.max(0, (room - TcpReceiver.SACK_OPTION_OVERHEAD) / TcpReceiver.SACK_BLOCK_LENGTH);
            int max = Math.min(fit, tsOk ? TcpReceiver.MAX_SACK_BLOCKS_WITH_TIMESTAMPS : TcpReceiver.MAX_SACK_BLOCKS_SENT);
            n += receiver.writeSackBlocks(b, at + n, max);
        }
        p.append(n);
        return n;
    }

    private void transmit(PacketBuffer p, int start) {
        int len = p.end() - start;
        p.range(start, p.end());
        TcpHeader.fillChecksum(p.array(), start, len, localAddress, remoteAddress);
        stats.segmentsSent.increment();
        if (!output.send(localAddress, remoteAddress, TcpHeader.PROTOCOL, p)) {
            stats.segmentSendErrors.increment();
        }
    }

    /** The window to advertise (RFC 9293 section 3.8.6.2.2), in the units of our window scale. */
    private int advertisedWindow() {
        return receiver.advertisedWindow(sendMss > 0 ? sendMss : ourMss);
    }

    private void ackSent() {
        receiver.ackSent();
        delAckTimer.disarm();
    }

    private void sendAck() {
        sendControl(sndNxtForControl(), receiver.rcvNxt(), ACK);
    }

    private int sndNxtForControl() {
        return sndMax;
    }

    private void challengeAck() {
        if (protocol.allowChallengeAck()) {
            sendAck();
        }
    }

    // ---- timers --------------------------------------------------------------------------------

    private void cancelTimer(long id) {
        if (id != TimerService.NO_TIMER) {
            timers.cancel(id);
        }
    }

    private void cancelAllTimers() {
        rtoTimer.cancel();
        delAckTimer.cancel();
        cancelTimer(persistTimer);
        cancelTimer(keepAliveTimer);
        cancelTimer(closeTimer);
        probeTimer.cancel();
        persistTimer = keepAliveTimer = closeTimer = TimerService.NO_TIMER;
    }

    private void armRetransmitTimer() {
        rtoTimer.armAfter(rtt.rtoNanos());
        armTailLossProbe();
    }

    /**
     * After a segment went out: starts the RTO if it is idle. RFC 8985 section 7.2: new data (not a
     * retransmission) restarts the probe timer too, so that its timeout is the one for the flight as
     * it now is, not as it was when the flight's first segment went out.
     */
    private void armRetransmitTimerIfIdle(boolean newData) {
        if (!rtoTimer.armed()) {
            rtoTimer.armAfter(rtt.rtoNanos());
            armTailLossProbe();
        } else if (newData) {
            armTailLossProbe();
        }
    }

    /**
     * RFC 8985 section 7: when the tail of a flight is lost no duplicate ACK comes back, and only
     * the (much longer) RTO would notice. A probe after about two round trips draws a SACK that
     * starts ordinary fast recovery instead.
     */
    private void armTailLossProbe() {
        if (inRecovery || probeSent || !rtt.hasSample() || !state.synchronized_()) {
            return;
        }
        // RFC 8985 section 7.2: PTO = 2 * SRTT, plus TLP.max_ack_delay if FlightSize is one segment,
        // whose ACK a receiver may delay well past two round trips on a fast path.
        long pto = Math.max(2 * rtt.srttNanos(), MIN_PROBE_TIMEOUT_NANOS);
        if (sndMax - sndUna <= sendMss) {
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

    private void onTailLossProbe() {
        lock.lock();
        try {
            if (!state.synchronized_() || state == TcpState.TIME_WAIT || inRecovery || sndUna == sndMax) {
                return;
            }
            probeSent = true;
            stats.tlpRecovery.increment();
            int dataEnd = sndUna + sendBuffer.size();
            int newData = Math.min(sendMss, Math.min(dataEnd - sndMax, sndUna + sndWnd - sndMax));
            if (newData > 0) {
                sendData(sndMax, newData, false);
            } else if (finSent && sndMax == finSeq + 1 && Seq.leq(sndUna, finSeq)) {
                sendControl(finSeq, receiver.rcvNxt(), FIN | ACK);
                stats.retransmits.increment();
            } else {
                int start = Seq.max(sndUna, Seq.min(sndMax, dataEnd) - sendMss);
                retransmitAt(start);
            }
        } finally {
            lock.unlock();
        }
    }

    /** RFC 6298 section 5.3: restart on every ACK of new data. */
    private void restartRetransmitTimer() {
        armRetransmitTimer();
    }

    private void onRetransmitTimer() {
        lock.lock();
        try {
            if (state == TcpState.CLOSED || state == TcpState.TIME_WAIT) {
                return;
            }
            boolean handshake = state == TcpState.SYN_SENT || state == TcpState.SYN_RECEIVED;
            if (!handshake && sndUna == sndMax) {
                return;
            }
            consecutiveTimeouts++;
            stats.timeouts.increment();
            int limit = handshake ? settings.synRetries() : settings.maxRetransmits();
            if (consecutiveTimeouts > limit) {
                if (handshake) {
                    stats.failedConnectionAttempts.increment();
                } else {
                    stats.establishedTimedout.increment();
                }
                sendControl(sndMax, receiver.rcvNxt(), RST | ACK);
                terminate(new SocketTimeoutException("connection to " + remoteAddress + ":" + remotePort
                        + " timed out after " + (consecutiveTimeouts - 1) + " retransmissions"));
                return;
            }
            // RFC 6298 section 5.5: back off.
            rtt.backoff();
            if (state == TcpState.SYN_SENT) {
                sendSyn(false);
                stats.retransmits.increment();
            } else if (state == TcpState.SYN_RECEIVED) {
                sendSyn(true);
                stats.retransmits.increment();
            } else {
                long now = timers.clock().nanoTime();
                cc.onRetransmitTimeout(sndMax - sndUna, now);
                inRecovery = false;
                recoverPoint = sndMax;
                scoreboard.reset();
                dupAcks = 0;
                rttStart = -1;
                sndNxt = sndUna;
                // RFC 6298 section 5.4: retransmit the earliest unacknowledged segment.
                int dataEnd = sndUna + sendBuffer.size();
                int len = Math.min(sendMss, dataEnd - sndUna);
                if (len > 0) {
                    sndNxt = sndUna + sendData(sndUna, len, true);
                } else if (finSent) {
                    sendControl(finSeq, receiver.rcvNxt(), FIN | ACK);
                    stats.retransmits.increment();
                    sndNxt = sndMax;
                }
            }
            armRetransmitTimer();
        } finally {
            lock.unlock();
        }
    }

    private void onDelayedAckTimer() {
        lock.lock();
        try {
            if (state.synchronized_() && state != TcpState.TIME_WAIT && receiver.ackPending()) {
                sendAck();
            }
        } finally {
            lock.unlock();
        }
    }

    private void onPersistTimer() {
        lock.lock();
        try {
            persistTimer = TimerService.NO_TIMER;
            if (!state.synchronized_() || state == TcpState.TIME_WAIT || sndWnd > 0 || sendBuffer.size() == 0) {
                return;
            }
            stats.persistProbesSent.increment();
            // A probe the receiver must answer with its current window: one already-acknowledged octet's sequence.
            sendControl(sndUna - 1, receiver.rcvNxt(), ACK);
            persistBackoffNanos = Math.min(persistBackoffNanos * 2, MAX_PERSIST_NANOS);
            persistTimer = timers.scheduleAfter(persistBackoffNanos, persistTask);
        } finally {
            lock.unlock();
        }
    }

    private void scheduleKeepAlive(long delay) {
        cancelTimer(keepAliveTimer);
        keepAliveTimer = timers.scheduleAfter(delay, keepAliveTask);
    }

    /** RFC 9293 section 3.8.4 / RFC 1122 section 4.2.3.6. */
    private void onKeepAliveTimer() {
        lock.lock();
        try {
            keepAliveTimer = TimerService.NO_TIMER;
            if (!keepAliveOn || !state.countsAsConnected()) {
                return;
            }
            long now = timers.clock().nanoTime();
            long idle = now - lastReceiveNanos;
            if (keepAliveProbes == 0 && idle < settings.keepAliveIdleNanos()) {
                scheduleKeepAlive(settings.keepAliveIdleNanos() - idle);
                return;
            }
            if (keepAliveProbes >= settings.keepAliveCount()) {
                stats.establishedTimedout.increment();
                sendControl(sndMax, receiver.rcvNxt(), RST | ACK);
                terminate(new SocketTimeoutException("keep-alive: " + remoteAddress + ":" + remotePort
                        + " did not answer " + keepAliveProbes + " probes"));
                return;
            }
            keepAliveProbes++;
            stats.keepAliveProbesSent.increment();
            sendControl(sndUna - 1, receiver.rcvNxt(), ACK);
            scheduleKeepAlive(settings.keepAliveIntervalNanos());
        } finally {
            lock.unlock();
        }
    }

    private void scheduleClose(long delay) {
        cancelTimer(closeTimer);
        closeTimer = timers.scheduleAfter(delay, closeTask);
    }

    private void onCloseTimer() {
        lock.lock();
        try {
            closeTimer = TimerService.NO_TIMER;
            if (state == TcpState.TIME_WAIT) {
                terminate(null);
            } else if (state == TcpState.FIN_WAIT_2 && appClosed) {
                // An orphaned connection whose peer never closes (Linux tcp_fin_timeout).
                terminate(null);
            }
        } finally {
            lock.unlock();
        }
    }

    // ---- application -----------------------------------------------------------------------------

    /** Registers a callback run (under the lock, once) when the handshake completes. */
    void onEstablished(Runnable r) {
        lock.lock();
        try {
            if (state.synchronized_()) {
                r.run();
            } else {
                onEstablished = r;
            }
        } finally {
            lock.unlock();
        }
    }

    /** Registers a callback run (under the lock, once) when the connection reaches CLOSED. */
    public void onClosed(Runnable r) {
        lock.lock();
        try {
            if (state == TcpState.CLOSED && everStarted()) {
                r.run();
            } else {
                onClosed = r;
            }
        } finally {
            lock.unlock();
        }
    }

    private boolean everStarted() {
        return iss != 0 || everConnected || error != null;
    }

    /** Waits until the handshake completes; throws the failure if it does not. */
    public void awaitEstablished(long timeoutNanos) throws IOException {
        lock.lock();
        try {
            long left = timeoutNanos;
            while (state == TcpState.SYN_SENT || state == TcpState.SYN_RECEIVED) {
                if (left <= 0) {
                    throw new SocketTimeoutException("connect to " + remoteAddress + ":" + remotePort + " timed out");
                }
                left = stateChanged.awaitNanos(left);
            }
            if (!everConnected) {
                throw error != null ? error : new ConnectException("connection to " + remoteAddress + " failed");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while connecting");
        } finally {
            lock.unlock();
        }
    }

    /**
     * Reads up to {@code len} bytes, blocking until some arrive; -1 at end of stream (FIN).
     *
     * @throws SocketTimeoutException when nothing arrives within {@code timeoutNanos} (0: no limit)
     * @throws IOException when the connection was reset or timed out
     */
    public int read(byte[] b, int off, int len, long timeoutNanos) throws IOException {
        if (len == 0) {
            return 0;
        }
        lock.lock();
        try {
            long left = timeoutNanos;
            while (receiver.readable() == 0) {
                if (receiver.finReceived()) {
                    return -1;
                }
                if (error != null) {
                    throw error;
                }
                if (state == TcpState.CLOSED) {
                    return -1;
                }
                if (timeoutNanos > 0) {
                    if (left <= 0) {
                        throw new SocketTimeoutException("read timed out");
                    }
                    left = readable.awaitNanos(left);
                } else {
                    readable.await();
                }
            }
            int n = receiver.read(b, off, len);
            afterRead(n);
            return n;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while reading");
        } finally {
            lock.unlock();
        }
    }

    /** Bytes readable without blocking. */
    public int available() {
        lock.lock();
        try {
            return receiver.readable();
        } finally {
            lock.unlock();
        }
    }

    /** Received bytes held now, readable and out of order: what the receive window must bound. */
    int heldReceiveBytes() {
        lock.lock();
        try {
            return receiver.heldBytes();
        } finally {
            lock.unlock();
        }
    }

    private void afterRead(int n) {
        if (!state.synchronized_() || state == TcpState.CLOSED) {
            return;
        }
        long now = timers.clock().nanoTime();
        long period = Math.max(rtt.hasSample() ? rtt.srttNanos() : AUTOTUNE_MIN_PERIOD_NANOS, AUTOTUNE_MIN_PERIOD_NANOS);
        if (receiver.afterRead(n, now, period, sendMss)) {
            // The window opened usefully: tell the peer (RFC 9293 section 3.8.6.2.2).
            sendAck();
        }
    }

    /**
     * Writes all of {@code len} bytes, blocking while the send buffer is full.
     *
     * @throws SocketTimeoutException when no room appears within {@code timeoutNanos} (0: no limit)
     * @throws IOException when the connection is closed for sending or broken
     */
    public void write(byte[] b, int off, int len, long timeoutNanos) throws IOException {
        lock.lock();
        try {
            long left = timeoutNanos;
            while (len > 0) {
                if (error != null) {
                    throw error;
                }
                if (finQueued || state == TcpState.CLOSED) {
                    throw new SocketException("Socket output is shut down");
                }
                if (state == TcpState.SYN_SENT || state == TcpState.SYN_RECEIVED) {
                    stateChanged.await();
                    continue;
                }
                int n = sendBuffer.write(b, off, len);
                if (n > 0) {
                    off += n;
                    len -= n;
                    output();
                    continue;
                }
                if (timeoutNanos > 0) {
                    if (left <= 0) {
                        throw new SocketTimeoutException("write timed out");
                    }
                    left = writable.awaitNanos(left);
                } else {
                    writable.await();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while writing");
        } finally {
            lock.unlock();
        }
    }

    /** Half-close: queue a FIN after the data already written (RFC 9293 section 3.10.4). */
    public void shutdownOutput() {
        lock.lock();
        try {
            if (finQueued || !state.synchronized_() && state != TcpState.SYN_RECEIVED) {
                if (state == TcpState.SYN_SENT) {
                    terminate(new SocketException("closed before connecting"));
                }
                return;
            }
            finQueued = true;
            if (state == TcpState.ESTABLISHED || state == TcpState.SYN_RECEIVED) {
                setState(TcpState.FIN_WAIT_1);
            } else if (state == TcpState.CLOSE_WAIT) {
                setState(TcpState.LAST_ACK);
            }
            output();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Closes the connection. Unread received data means the application lost bytes the peer
     * thinks delivered, so the connection is reset (RFC 2525 section 2.17); otherwise a FIN follows
     * the data already written and the connection finishes its close on its own.
     */
    public void close() {
        lock.lock();
        try {
            appClosed = true;
            if (state == TcpState.CLOSED || state == TcpState.TIME_WAIT) {
                return;
            }
            if (receiver.readable() > 0 || state == TcpState.SYN_SENT) {
                abort();
                return;
            }
            shutdownOutput();
            if (state == TcpState.FIN_WAIT_2) {
                scheduleClose(settings.finWait2Nanos());
            }
            readable.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Resets the connection at once (RFC 9293 section 3.10.5). */
    public void abort() {
        lock.lock();
        try {
            if (state == TcpState.CLOSED) {
                return;
            }
            if (state != TcpState.SYN_SENT && state != TcpState.TIME_WAIT) {
                if (state.countsAsEstablished()) {
                    stats.establishedResets.increment();
                }
                sendControl(sndMax, receiver.rcvNxt(), RST | ACK);
            }
            terminate(new SocketException("Connection aborted"));
        } finally {
            lock.unlock();
        }
    }

    public void setNagle(boolean on) {
        lock.lock();
        try {
            nagle = on;
            if (!on) {
                output();
            }
        } finally {
            lock.unlock();
        }
    }

    public void setKeepAlive(boolean on) {
        lock.lock();
        try {
            keepAliveOn = on;
            if (on && state.countsAsConnected()) {
                scheduleKeepAlive(settings.keepAliveIdleNanos());
            } else if (!on) {
                cancelTimer(keepAliveTimer);
                keepAliveTimer = TimerService.NO_TIMER;
            }
        } finally {
            lock.unlock();
        }
    }

    /** A point-in-time view for tests and the flows API. */
    public record Snapshot(TcpState state, int congestionWindow, int slowStartThreshold, long rtoNanos,
                           long srttNanos, int sendBuffered, int receiveBuffered, int receiveCapacity,
                           int bufferBytesAllocated, boolean sack, boolean timestamps, int sendMss) {}

    public Snapshot snapshot() {
        lock.lock();
        try {
            return new Snapshot(state, cc == null ? 0 : cc.congestionWindow(),
                    cc == null ? 0 : cc.slowStartThreshold(), rtt.rtoNanos(), rtt.srttNanos(), sendBuffer.size(),
                    receiver.readable(), receiver.capacity(), sendBuffer.allocated() + receiver.allocated(),
                    sackOk, tsOk, sendMss);
        } finally {
            lock.unlock();
        }
    }

    /** Bytes held out of order, waiting for a hole before them to fill. */
    int outOfOrderBytes() {
        lock.lock();
        try {
            return receiver.outOfOrderBytes();
        } finally {
            lock.unlock();
        }
    }

    /** The receive window last advertised, as it stands now: RCV.ADV - RCV.NXT. */
    int receiveWindow() {
        lock.lock();
        try {
            return receiver.receiveWindow();
        } finally {
            lock.unlock();
        }
    }

    /** The failure that ended the connection, or null. */
    public IOException error() {
        lock.lock();
        try {
            return error;
        } finally {
            lock.unlock();
        }
    }
}
