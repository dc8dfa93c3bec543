package dev.loomstack.tcp;

import dev.loomstack.packet.TcpOptions;
import dev.loomstack.stack.Clock;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * What the two SYNs settled, and the timestamp state that follows from it:
 * <ul>
 *   <li>the options a SYN offers and a SYN-ACK may answer with (RFC 7323 section 2.2: a SYN-ACK
 *       carries window scale or timestamps only if the SYN did; RFC 2018 section 2 likewise for
 *       SACK-permitted);</li>
 *   <li>the send MSS: the peer's, or RFC 9293 section 3.7.1's default, clamped to ours and less
 *       the options every segment carries (RFC 6691);</li>
 *   <li>TS.Recent and its update rule (RFC 7323 section 4.3), PAWS (section 5.3), RTT samples
 *       from echoed timestamps (section 4.1), and our timestamp clock with a random offset per
 *       connection (section 5.4).</li>
 * </ul>
 * Called only under the endpoint's lock.
 */
final class NegotiatedOptions {
    /** RFC 9293 section 3.7.1: the MSS assumed when the peer sends none. */
    static final int DEFAULT_MSS_V4 = 536;
    static final int DEFAULT_MSS_V6 = 1220;
    /** Least send MSS whatever the peer says, so a segment always carries some data. */
    static final int MIN_SEND_MSS = 64;

    private final TcpSettings settings;
    private final Clock clock;
    /** What our SYN offers: the MTU less minimal IP and TCP headers. */
    private final int ourMss;
    private final int tsOffset = ThreadLocalRandom.current().nextInt();
    private boolean sackOk;
    private boolean wsOk;
    private boolean tsOk;
    private int tsRecent;

    NegotiatedOptions(TcpSettings settings, Clock clock, int ourMss) {
        this.settings = settings;
        this.clock = clock;
        this.ourMss = ourMss;
    }

    /**
     * Takes the peer's SYN options ({@code peerMss} 0 and {@code peerShift} -1 when absent).
     *
     * @return the send MSS: data bytes a segment may carry beside the options every segment has
     */
    int agree(boolean v4, int peerMss, int peerShift, boolean peerSack, boolean peerTs, int peerTsVal) {
        int mss = peerMss > 0 ? peerMss : (v4 ? DEFAULT_MSS_V4 : DEFAULT_MSS_V6);
        // RFC 7323 section 2.2: scaling applies only when both sides sent the option.
        wsOk = peerShift >= 0 && settings.windowScaling();
        sackOk = peerSack && settings.sack();
        tsOk = peerTs && settings.timestamps();
        if (tsOk) {
            tsRecent = peerTsVal;
        }
        // RFC 9293 section 3.7.1 and RFC 6691: the MSS excludes options; subtract what every segment carries.
        return Math.max(MIN_SEND_MSS, Math.min(mss, ourMss) - (tsOk ? TcpOptions.TIMESTAMPS_ALIGNED_LENGTH : 0));
    }

    /** Writes the options of our SYN ({@code withAck} false) or SYN-ACK; returns their length. */
    int writeSynOptions(byte[] b, int at, boolean withAck) {
        int n = TcpOptions.writeMss(b, at, ourMss);
        // RFC 7323 section 2.2: a SYN-ACK carries the option only if the SYN did.
        if (settings.windowScaling() && (!withAck || wsOk)) {
            n += TcpOptions.writeWindowScale(b, at + n, settings.windowShift());
        }
        if (settings.sack() && (!withAck || sackOk)) {
            n += TcpOptions.writeSackPermitted(b, at + n);
        }
        if (settings.timestamps() && (!withAck || tsOk)) {
            n += TcpOptions.writeTimestamps(b, at + n, tsClock(), withAck ? tsRecent : 0);
        }
        return n;
    }

    /** RFC 7323 section 5.3: PAWS rejects an old duplicate by its timestamp (never a RST, nor in SYN-RECEIVED). */
    boolean pawsRejects(TcpOptions o, boolean rst, boolean synReceived) {
        return tsOk && o.hasTimestamps && !rst && Seq.lt(o.tsVal, tsRecent) && !synReceived;
    }

    /** RFC 7323 section 4.3: TS.Recent follows segments that cover the last ACK sent. */
    void noteTimestamp(TcpOptions o, int seq, int lastAckSent) {
        if (tsOk && o.hasTimestamps && Seq.leq(seq, lastAckSent)) {
            tsRecent = o.tsVal;
        }
    }

    /** RFC 7323 section 4.1: the RTT an echoed timestamp measures, or -1 if it is from the future. */
    long rttFromEcho(int tsEcr) {
        int nowMs = tsClock();
        int diff = nowMs - tsEcr;
        return diff < 0 ? -1 : TimeUnit.MILLISECONDS.toNanos(Math.max(diff, 1));
    }

    /** Our TSval: milliseconds, offset at random per connection (RFC 7323 section 5.4). */
    int tsClock() {
        return tsValAt(clock.nanoTime());
    }

    /** The TSval a segment sent at {@code nanos} (the stack's clock) carried. */
    int tsValAt(long nanos) {
        return (int) (nanos / 1_000_000L) + tsOffset;
    }

    boolean sackOk() {
        return sackOk;
    }

    boolean wsOk() {
        return wsOk;
    }

    boolean tsOk() {
        return tsOk;
    }

    int tsRecent() {
        return tsRecent;
    }

    int ourMss() {
        return ourMss;
    }
}
