package dev.loomstack.tcp;

/**
 * The retransmission timeout of RFC 6298: SRTT and RTTVAR smoothed with alpha 1/8 and beta 1/4,
 * RTO = SRTT + max(G, 4 RTTVAR) clamped to [min, max], doubled on every expiry (section 5.5).
 * Karn's rule (section 3) is the caller's: feed samples only from segments never retransmitted,
 * or from timestamps (RFC 7323 section 4), which stay unambiguous.
 */
public final class RttEstimator {
    /** Linux's floor; RFC 6298's 1 s floor predates modern RTTs (its section 2.4 allows lower). */
    public static final long MIN_RTO_NANOS = 200_000_000L;
    public static final long MAX_RTO_NANOS = 120_000_000_000L;
    /** RFC 6298 section 2.1. */
    public static final long INITIAL_RTO_NANOS = 1_000_000_000L;
    /** Clock granularity G. */
    static final long GRANULARITY_NANOS = 1_000_000L;

    private final long minRto;
    private final long maxRto;
    private long srtt;
    private long rttvar;
    private long rto;
    private boolean hasSample;
    private int backoffs;

    public RttEstimator(long minRtoNanos, long maxRtoNanos, long initialRtoNanos) {
        this.minRto = minRtoNanos;
        this.maxRto = maxRtoNanos;
        this.rto = initialRtoNanos;
    }

    public RttEstimator() {
        this(MIN_RTO_NANOS, MAX_RTO_NANOS, INITIAL_RTO_NANOS);
    }

    /** A new round-trip measurement (RFC 6298 sections 2.2 and 2.3); clears any back-off. */
    public void sample(long rttNanos) {
        long r = Math.max(rttNanos, 1);
        if (!hasSample) {
            srtt = r;
            rttvar = r / 2;
            hasSample = true;
        } else {
            rttvar = (3 * rttvar + Math.abs(srtt - r)) / 4;
            srtt = (7 * srtt + r) / 8;
        }
        backoffs = 0;
        rto = clamp(srtt + Math.max(GRANULARITY_NANOS, 4 * rttvar));
    }

    /** The timer expired: RTO doubles (RFC 6298 section 5.5), up to the maximum. */
    public void backoff() {
        backoffs++;
        rto = clamp(rto * 2);
    }

    private long clamp(long v) {
        return Math.max(minRto, Math.min(maxRto, v));
    }

    public long rtoNanos() {
        return rto;
    }

    public long srttNanos() {
        return srtt;
    }

    public long rttvarNanos() {
        return rttvar;
    }

    public boolean hasSample() {
        return hasSample;
    }

    public int backoffs() {
        return backoffs;
    }
}
