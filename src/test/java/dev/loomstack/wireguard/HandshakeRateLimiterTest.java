package dev.loomstack.wireguard;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.stack.ManualClock;
import java.net.InetAddress;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class HandshakeRateLimiterTest {
    @Test
    void eachSourceGetsABurstOfFiveThenTwentyASecond() throws Exception {
        ManualClock clock = new ManualClock(TimeUnit.SECONDS.toNanos(10));
        HandshakeRateLimiter limiter = new HandshakeRateLimiter(clock);
        InetAddress one = InetAddress.getByName("198.18.0.7");
        InetAddress two = InetAddress.getByName("2001:db8::7");
        for (int i = 0; i < HandshakeRateLimiter.BURST; i++) {
            assertTrue(limiter.allow(one), "burst " + i);
        }
        assertFalse(limiter.allow(one), "past the burst");
        assertTrue(limiter.allow(two), "another source has its own bucket");
        clock.set(clock.nanoTime() + TimeUnit.MILLISECONDS.toNanos(50));
        assertTrue(limiter.allow(one), "one token per 1/20 s");
        assertFalse(limiter.allow(one));
        clock.set(clock.nanoTime() + TimeUnit.SECONDS.toNanos(10));
        for (int i = 0; i < HandshakeRateLimiter.BURST; i++) {
            assertTrue(limiter.allow(one), "a full burst again after idling");
        }
        assertFalse(limiter.allow(one));
    }
}
