package dev.loomstack.wireguard;

import dev.loomstack.stack.Clock;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Under load, even initiations with a valid mac2 (a source address that proved it receives our
 * replies) are limited per source address: 20 a second with a burst of 5 (wireguard-go's
 * ratelimiter), so one address cannot keep the handshake thread busy with Diffie-Hellman. Used by
 * the handshake thread only. At most {@link #MAX_SOURCES} addresses are tracked; buckets idle for
 * a second are full again and are forgotten when the table fills.
 */
final class HandshakeRateLimiter {
    static final int PER_SECOND = 20;
    static final int BURST = 5;
    static final int MAX_SOURCES = 65_536;
    private static final long NANOS_PER_TOKEN = TimeUnit.SECONDS.toNanos(1) / PER_SECOND;
    private static final long CAPACITY = NANOS_PER_TOKEN * BURST;
    private static final long IDLE = TimeUnit.SECONDS.toNanos(1);

    private static final class Bucket {
        long credit = CAPACITY;
        long last;
    }

    private final Clock clock;
    private final Map<InetAddress, Bucket> buckets = new HashMap<>();

    HandshakeRateLimiter(Clock clock) {
        this.clock = clock;
    }

    boolean allow(InetAddress source) {
        long now = clock.nanoTime();
        Bucket b = buckets.get(source);
        if (b == null) {
            if (buckets.size() >= MAX_SOURCES) {
                buckets.values().removeIf(x -> now - x.last >= IDLE);
                if (buckets.size() >= MAX_SOURCES) {
                    return false;
                }
            }
            b = new Bucket();
            b.last = now;
            buckets.put(source, b);
        }
        b.credit = Math.min(CAPACITY, b.credit + (now - b.last));
        b.last = now;
        if (b.credit < NANOS_PER_TOKEN) {
            return false;
        }
        b.credit -= NANOS_PER_TOKEN;
        return true;
    }
}
