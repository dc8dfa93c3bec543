package dev.loomstack.tcp;

import java.time.Duration;

/**
 * The tunables of Loomstack's TCP, each with its default named here. Times are nanoseconds.
 *
 * @param sendBufferSize       bytes an application may queue ahead of the peer's acknowledgment
 * @param receiveBufferInitial the receive window a connection starts with
 * @param receiveBufferMax     the cap receive-window auto-tuning grows towards
 * @param timeWaitNanos        how long a closed connection lingers in TIME-WAIT (2 MSL)
 * @param finWait2Nanos        how long an orphaned connection waits for the peer's FIN
 * @param synRetries           SYN (or SYN-ACK) retransmissions before a handshake fails
 * @param maxRetransmits       retransmissions of one segment before the connection times out
 * @param delayedAckNanos      how long an ACK may be held back (RFC 9293 3.8.6.3: under 500 ms; RFC 1122: 200 ms)
 * @param nagle                coalesce small writes while data is unacknowledged (RFC 9293 3.7.4)
 * @param keepAlive            probe idle connections
 * @param keepAliveIdleNanos   idle time before the first probe
 * @param keepAliveIntervalNanos time between unanswered probes
 * @param keepAliveCount       unanswered probes before the connection is declared dead
 * @param congestionControl    the sender's algorithm
 * @param sack                 offer SACK (RFC 2018)
 * @param timestamps           offer timestamps (RFC 7323)
 * @param windowScaling        offer window scaling (RFC 7323)
 * @param minRtoNanos          floor of the retransmission timeout
 */
public record TcpSettings(
        int sendBufferSize,
        int receiveBufferInitial,
        int receiveBufferMax,
        long timeWaitNanos,
        long finWait2Nanos,
        int synRetries,
        int maxRetransmits,
        long delayedAckNanos,
        boolean nagle,
        boolean keepAlive,
        long keepAliveIdleNanos,
        long keepAliveIntervalNanos,
        int keepAliveCount,
        CongestionControlAlgorithm congestionControl,
        boolean sack,
        boolean timestamps,
        boolean windowScaling,
        long minRtoNanos) {

    public static final int DEFAULT_SEND_BUFFER = 4 << 20;
    public static final int DEFAULT_RECEIVE_BUFFER_INITIAL = 128 << 10;
    public static final int DEFAULT_RECEIVE_BUFFER_MAX = 6 << 20;
    /** Linux's TCP_TIMEWAIT_LEN. */
    public static final Duration DEFAULT_TIME_WAIT = Duration.ofSeconds(60);
    /** Linux's tcp_fin_timeout. */
    public static final Duration DEFAULT_FIN_WAIT_2 = Duration.ofSeconds(60);
    /** Linux's tcp_syn_retries. */
    public static final int DEFAULT_SYN_RETRIES = 6;
    /** Linux's tcp_retries2 gives about 15 minutes; twelve doublings from 200 ms is about as long. */
    public static final int DEFAULT_MAX_RETRANSMITS = 12;
    /** Linux's delayed-ACK floor: far under RFC 1122's 200 ms ceiling. */
    public static final Duration DEFAULT_DELAYED_ACK = Duration.ofMillis(40);
    /** RFC 1122 section 4.2.3.6: at least two hours of idleness before probing. */
    public static final Duration DEFAULT_KEEPALIVE_IDLE = Duration.ofHours(2);
    public static final Duration DEFAULT_KEEPALIVE_INTERVAL = Duration.ofSeconds(75);
    public static final int DEFAULT_KEEPALIVE_COUNT = 9;

    public TcpSettings {
        if (sendBufferSize < 4096 || receiveBufferInitial < 4096 || receiveBufferMax < receiveBufferInitial) {
            throw new IllegalArgumentException("buffer sizes must be at least 4096 bytes, max >= initial");
        }
        if (receiveBufferMax > (1 << 30)) {
            throw new IllegalArgumentException("receive buffer beyond the 1 GiB window scaling allows");
        }
        if (delayedAckNanos < 0 || delayedAckNanos > 500_000_000L) {
            throw new IllegalArgumentException("delayed ACK must be between 0 and 500 ms (RFC 9293 3.8.6.3)");
        }
        if (synRetries < 0 || maxRetransmits < 1 || keepAliveCount < 1) {
            throw new IllegalArgumentException("retry counts must be positive");
        }
        if (congestionControl == null) {
            throw new IllegalArgumentException("congestion control must be set");
        }
    }

    public static TcpSettings defaults() {
        return new TcpSettings(DEFAULT_SEND_BUFFER, DEFAULT_RECEIVE_BUFFER_INITIAL, DEFAULT_RECEIVE_BUFFER_MAX,
                DEFAULT_TIME_WAIT.toNanos(), DEFAULT_FIN_WAIT_2.toNanos(), DEFAULT_SYN_RETRIES, DEFAULT_MAX_RETRANSMITS,
                DEFAULT_DELAYED_ACK.toNanos(), true, false, DEFAULT_KEEPALIVE_IDLE.toNanos(),
                DEFAULT_KEEPALIVE_INTERVAL.toNanos(), DEFAULT_KEEPALIVE_COUNT, CongestionControlAlgorithm.CUBIC,
                true, true, true, RttEstimator.MIN_RTO_NANOS);
    }

    public TcpSettings withKeepAlive(boolean on, Duration idle, Duration interval, int count) {
        return new TcpSettings(sendBufferSize, receiveBufferInitial, receiveBufferMax, timeWaitNanos, finWait2Nanos,
                synRetries, maxRetransmits, delayedAckNanos, nagle, on, idle.toNanos(), interval.toNanos(), count,
                congestionControl, sack, timestamps, windowScaling, minRtoNanos);
    }

    public TcpSettings withCongestionControl(CongestionControlAlgorithm cc) {
        return new TcpSettings(sendBufferSize, receiveBufferInitial, receiveBufferMax, timeWaitNanos, finWait2Nanos,
                synRetries, maxRetransmits, delayedAckNanos, nagle, keepAlive, keepAliveIdleNanos,
                keepAliveIntervalNanos, keepAliveCount, cc, sack, timestamps, windowScaling, minRtoNanos);
    }

    public TcpSettings withTimeWait(Duration d) {
        return new TcpSettings(sendBufferSize, receiveBufferInitial, receiveBufferMax, d.toNanos(), finWait2Nanos,
                synRetries, maxRetransmits, delayedAckNanos, nagle, keepAlive, keepAliveIdleNanos,
                keepAliveIntervalNanos, keepAliveCount, congestionControl, sack, timestamps, windowScaling, minRtoNanos);
    }

    public TcpSettings withNagle(boolean on) {
        return new TcpSettings(sendBufferSize, receiveBufferInitial, receiveBufferMax, timeWaitNanos, finWait2Nanos,
                synRetries, maxRetransmits, delayedAckNanos, on, keepAlive, keepAliveIdleNanos,
                keepAliveIntervalNanos, keepAliveCount, congestionControl, sack, timestamps, windowScaling, minRtoNanos);
    }

    public TcpSettings withBuffers(int send, int receiveInitial, int receiveMax) {
        return new TcpSettings(send, receiveInitial, receiveMax, timeWaitNanos, finWait2Nanos,
                synRetries, maxRetransmits, delayedAckNanos, nagle, keepAlive, keepAliveIdleNanos,
                keepAliveIntervalNanos, keepAliveCount, congestionControl, sack, timestamps, windowScaling, minRtoNanos);
    }

    public TcpSettings withMaxRetransmits(int n) {
        return new TcpSettings(sendBufferSize, receiveBufferInitial, receiveBufferMax, timeWaitNanos, finWait2Nanos,
                synRetries, n, delayedAckNanos, nagle, keepAlive, keepAliveIdleNanos,
                keepAliveIntervalNanos, keepAliveCount, congestionControl, sack, timestamps, windowScaling, minRtoNanos);
    }

    /** The window-scale shift that lets {@link #receiveBufferMax} be advertised (RFC 7323 section 2.3). */
    public int windowShift() {
        int shift = 0;
        while (shift < 14 && (receiveBufferMax >>> shift) > 65535) {
            shift++;
        }
        return shift;
    }
}
