package dev.loomstack.tcp;

import static dev.loomstack.packet.TcpHeader.ACK;
import static dev.loomstack.packet.TcpHeader.RST;

import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.TcpHeader;
import dev.loomstack.stack.Clock;
import dev.loomstack.stack.NetworkOutput;
import dev.loomstack.stack.Stats;
import dev.loomstack.stack.TimerService;
import dev.loomstack.stack.TransportEndpointId;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One TCP connection: the RFC 9293 state machine (section 3.3.2) and its transitions, segment
 * dispatch by state (section 3.10.7), the blocking calls applications use (section 3.10), and the
 * one lock everything runs under. The protocol work is split by concern, much as gVisor splits its
 * endpoint into files:
 * <ul>
 *   <li>{@link TcpHandshake}: active and passive open, SYN-SENT and SYN-RECEIVED;</li>
 *   <li>{@link SegmentArrival}: a segment in a synchronized state, section 3.10.7.4's checks;</li>
 *   <li>{@link NegotiatedOptions}: what the SYNs settled, TS.Recent and PAWS;</li>
 *   <li>{@link TcpSender}: the send sequence space, send buffer, segmentation, Nagle, the FIN, ACK processing;</li>
 *   <li>{@link LossRecovery}: SACK scoreboard, fast retransmit, NewReno and RFC 6675 recovery;</li>
 *   <li>{@link TcpReceiver}: the receive sequence space, out-of-order data, window, SACK blocks;</li>
 *   <li>{@link SegmentWriter}: building and sending every segment;</li>
 *   <li>{@link TcpTimers}: RTO, tail loss probe, delayed ACK, persist, keep-alive, close, and their expiry.</li>
 * </ul>
 *
 * <p>All state sits behind one {@link ReentrantLock}: inbound segments (the link's reader thread),
 * timers (the wheel thread) and application calls (usually virtual threads, which park on the
 * lock's conditions cheaply) take it in turn; the helpers are called only with it held. Buffers
 * are allocated on first use and dropped when empty, so an idle connection holds only this object
 * and its small helpers.
 */
public final class TcpEndpoint {
    static final long AUTOTUNE_MIN_PERIOD_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

    private final TcpProtocol protocol;
    private final Clock clock;
    final Stats.TcpStats stats;
    final TcpSettings settings;
    final FlowKey key;
    private final IpAddress localAddress;
    private final IpAddress remoteAddress;
    private final int localPort;
    private final int remotePort;

    final ReentrantLock lock = new ReentrantLock();
    private final Condition readable = lock.newCondition();
    private final Condition writable = lock.newCondition();
    private final Condition stateChanged = lock.newCondition();

    private TcpState state = TcpState.CLOSED;
    private IOException error;
    private boolean everConnected;

    // The connection's parts, each called with the lock held.
    final RttEstimator rtt;
    final NegotiatedOptions options;
    final TcpReceiver receiver;
    final SegmentWriter writer;
    final TcpSender sender;
    final TcpTimers timers;

    // Application side.
    private boolean appClosed;
    private Runnable onEstablished;
    private Runnable onClosed;

    TcpEndpoint(TcpProtocol protocol, TcpSettings settings, IpAddress localAddress, int localPort,
                IpAddress remoteAddress, int remotePort) {
        this.protocol = protocol;
        NetworkOutput output = protocol.output();
        TimerService timerService = output.timers();
        this.clock = timerService.clock();
        this.stats = output.stats().tcp;
        this.settings = settings;
        this.localAddress = localAddress;
        this.localPort = localPort;
        this.remoteAddress = remoteAddress;
        this.remotePort = remotePort;
        this.key = FlowKey.of(localAddress, localPort, remoteAddress, remotePort);
        this.receiver = new TcpReceiver(settings);
        this.rtt = new RttEstimator(settings.minRtoNanos(), RttEstimator.MAX_RTO_NANOS, RttEstimator.INITIAL_RTO_NANOS);
        int ipHeader = localAddress.v4() ? 20 : 40;
        this.options = new NegotiatedOptions(settings, clock, output.mtu() - ipHeader - TcpHeader.MIN_LENGTH);
        this.writer = new SegmentWriter(this, output, stats, options, receiver);
        this.sender = new TcpSender(settings.sendBufferSize(), settings.nagle(), rtt, options, stats, clock, writer);
        this.timers = new TcpTimers(this, timerService, lock);
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
            TcpHandshake.connect(this);
        } finally {
            lock.unlock();
        }
    }

    /** Passive open from a SYN (listener or forwarder): sends SYN-ACK, moves to SYN-RECEIVED. */
    void acceptSyn(SynInfo syn) {
        lock.lock();
        try {
            TcpHandshake.acceptSyn(this, syn);
        } finally {
            lock.unlock();
        }
    }

    /** Our SYN was acknowledged: the handshake's retransmissions stop and the connection is ESTABLISHED. */
    void handshakeAcknowledged() {
        timers.handshakeAcknowledged();
        establish();
    }

    /** Keep-alive measures idleness from the last segment heard. */
    void heardFromPeer() {
        timers.heardFromPeer(clock.nanoTime());
    }

    // ---- inbound -------------------------------------------------------------------------------

    /** Processes one segment for this connection (RFC 9293 section 3.10.7). Called on the reader thread. */
    void segmentArrived(Segment seg) {
        lock.lock();
        try {
            timers.segmentReceived(clock.nanoTime());
            switch (state) {
                case CLOSED -> protocol.replyWithReset(this, seg);
                case SYN_SENT -> TcpHandshake.synSentArrived(this, seg);
                default -> SegmentArrival.arrived(this, seg);
            }
        } finally {
            lock.unlock();
        }
    }

    /** The state under the lock the caller holds. */
    TcpState currentState() {
        return state;
    }

    long now() {
        return clock.nanoTime();
    }

    /** SND.UNA advanced: the RTO restarts (RFC 6298 section 5.3) or stops, and writers may find room. */
    void newDataAcknowledged() {
        timers.newDataAcked();
        writable.signalAll();
    }

    /**
     * Our FIN was acknowledged (RFC 9293 section 3.10.7.4, the ACK check's closing states).
     *
     * @return false when the connection closed and the segment goes no further
     */
    boolean ourFinAcknowledged() {
        switch (state) {
            case FIN_WAIT_1 -> {
                setState(TcpState.FIN_WAIT_2);
                if (appClosed) {
                    timers.scheduleClose(settings.finWait2Nanos());
                }
            }
            case CLOSING -> enterTimeWait();
            case LAST_ACK -> {
                terminate(null);
                return false;
            }
            default -> { }
        }
        return true;
    }

    /** In-order data arrived: readers wake. */
    void dataReadable() {
        readable.signalAll();
    }

    /** RFC 9293 section 3.8.6.3: an ACK may wait for the delayed-ACK timer. */
    void delayAck() {
        timers.delayAck(settings.delayedAckNanos());
    }

    /** RFC 9293 section 3.10.7.4: a retransmitted FIN restarts the 2 MSL timeout. */
    void restartTimeWait() {
        timers.scheduleClose(settings.timeWaitNanos());
    }

    /** The peer's FIN is next in order: the stream ends and the state moves on. */
    void acceptFin() {
        receiver.acceptFin();
        readable.signalAll();
        switch (state) {
            case ESTABLISHED -> setState(TcpState.CLOSE_WAIT);
            case FIN_WAIT_1 -> setState(TcpState.CLOSING);
            case FIN_WAIT_2 -> enterTimeWait();
            default -> { }
        }
        writer.sendAck();
    }

    // ---- state ---------------------------------------------------------------------------------

    void setState(TcpState next) {
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
        receiver.established(clock.nanoTime());
        timers.established();
        Runnable r = onEstablished;
        onEstablished = null;
        if (r != null) {
            r.run();
        }
    }

    private void enterTimeWait() {
        setState(TcpState.TIME_WAIT);
        stats.establishedClosed.increment();
        timers.cancelAll();
        releaseBuffersIfDone();
        timers.scheduleClose(settings.timeWaitNanos());
    }

    /** Leaves the connection: CLOSED, out of the demultiplexer, every waiter woken. */
    void terminate(IOException cause) {
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
        timers.cancelAll();
        protocol.remove(this);
        if (error != null) {
            // Nothing more will be read or sent.
            sender.discardBuffered();
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
        sender.discardBuffered();
        receiver.dropOutOfOrder();
    }

    // ---- outbound ------------------------------------------------------------------------------

    /** Sends what the windows allow (RFC 9293 section 3.8.6; RFC 6675 section 5 during recovery). */
    void output() {
        if (state != TcpState.ESTABLISHED && state != TcpState.CLOSE_WAIT && state != TcpState.FIN_WAIT_1
                && state != TcpState.CLOSING && state != TcpState.LAST_ACK) {
            return;
        }
        boolean sent = sender.output(clock.nanoTime());
        if (!sent && receiver.ackPending()) {
            delayAck();
        }
    }

    TcpProtocol protocol() {
        return protocol;
    }

    /** Closed by the application: a FIN-WAIT-2 that lasts too long may be ended (Linux tcp_fin_timeout). */
    boolean orphaned() {
        return appClosed;
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
        return sender.iss() != 0 || everConnected || error != null;
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

    /**
     * Waits, holding no buffer, until {@link #read} would not block: bytes are readable, the
     * stream ended, or the connection failed or closed. A copier parks here while its flow is idle
     * and takes a buffer only once there is something to copy.
     *
     * @return false when {@code timeoutNanos} (0: no limit) passed first
     */
    public boolean awaitReadable(long timeoutNanos) throws InterruptedIOException {
        lock.lock();
        try {
            long left = timeoutNanos;
            while (receiver.readable() == 0 && !receiver.finReceived() && error == null && state != TcpState.CLOSED) {
                if (timeoutNanos > 0) {
                    if (left <= 0) {
                        return false;
                    }
                    left = readable.awaitNanos(left);
                } else {
                    readable.await();
                }
            }
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for data");
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
        long now = clock.nanoTime();
        long period = Math.max(rtt.hasSample() ? rtt.srttNanos() : AUTOTUNE_MIN_PERIOD_NANOS, AUTOTUNE_MIN_PERIOD_NANOS);
        if (receiver.afterRead(n, now, period, sender.sendMss())) {
            // The window opened usefully: tell the peer (RFC 9293 section 3.8.6.2.2).
            writer.sendAck();
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
                if (sender.finQueued() || state == TcpState.CLOSED) {
                    throw new SocketException("Socket output is shut down");
                }
                if (state == TcpState.SYN_SENT || state == TcpState.SYN_RECEIVED) {
                    stateChanged.await();
                    continue;
                }
                int n = sender.buffer(b, off, len);
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
            if (sender.finQueued() || !state.synchronized_() && state != TcpState.SYN_RECEIVED) {
                if (state == TcpState.SYN_SENT) {
                    terminate(new SocketException("closed before connecting"));
                }
                return;
            }
            sender.queueFin();
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
                timers.scheduleClose(settings.finWait2Nanos());
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
                writer.sendControl(sender.sndMax(), receiver.rcvNxt(), RST | ACK);
            }
            terminate(new SocketException("Connection aborted"));
        } finally {
            lock.unlock();
        }
    }

    public void setNagle(boolean on) {
        lock.lock();
        try {
            sender.nagle(on);
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
            timers.keepAlive(on);
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
            CongestionControl cc = sender.congestionControl();
            return new Snapshot(state, cc == null ? 0 : cc.congestionWindow(),
                    cc == null ? 0 : cc.slowStartThreshold(), rtt.rtoNanos(), rtt.srttNanos(), sender.buffered(),
                    receiver.readable(), receiver.capacity(), sender.allocated() + receiver.allocated(),
                    options.sackOk(), options.tsOk(), sender.sendMss());
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
