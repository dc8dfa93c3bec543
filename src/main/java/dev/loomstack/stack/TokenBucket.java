package dev.loomstack.stack;

import java.util.concurrent.locks.ReentrantLock;

/**
 * A token bucket: a steady rate with a burst allowance. It limits ICMP errors (RFC 1812 section
 * 4.3.2.8, RFC 4443 section 2.4 (f)) so a port scan cannot turn the router into an ICMP flood, and
 * TCP challenge ACKs (RFC 5961 section 7).
 */
public final class TokenBucket {
    public static final int DEFAULT_PER_SECOND = 1000;
    public static final int DEFAULT_BURST = 50;

    private final Clock clock;
    private final long nanosPerToken;
    private final long capacityNanos;
    private final ReentrantLock lock = new ReentrantLock();
    private long credit;
    private long last;

    public TokenBucket(Clock clock, int perSecond, int burst) {
        this.clock = clock;
        this.nanosPerToken = 1_000_000_000L / perSecond;
        this.capacityNanos = nanosPerToken * burst;
        this.credit = capacityNanos;
        this.last = clock.nanoTime();
    }

    /** Takes a token if one is available. */
    public boolean tryAcquire() {
        lock.lock();
        try {
            long now = clock.nanoTime();
            credit = Math.min(capacityNanos, credit + (now - last));
            last = now;
            if (credit < nanosPerToken) {
                return false;
            }
            credit -= nanosPerToken;
            return true;
        } finally {
            lock.unlock();
        }
    }
}
