package dev.loomstack.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.packet.IpAddress;
import dev.loomstack.testing.Await;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Tailscale's {@code userPing}: bounded, and a reply only for a host that answered. */
class PingRelayTest {
    static final IpAddress ALIVE = IpAddress.parse("198.18.1.2");
    static final IpAddress DEAD = IpAddress.parse("198.18.1.3");

    @Test
    void repliesOnlyWhenTheRealHostAnswers() {
        PingRelay relay = new PingRelay(target -> CompletableFuture.completedFuture(target.equals(ALIVE)));
        AtomicInteger replies = new AtomicInteger();
        assertTrue(relay.relay(ALIVE, replies::incrementAndGet));
        assertTrue(relay.relay(DEAD, replies::incrementAndGet));
        Await.until(Duration.ofSeconds(5), "both pings done", () -> relay.running() == 0);
        assertEquals(1, replies.get());
        assertEquals(1, relay.answered.sum());
        assertEquals(1, relay.unanswered.sum());
    }

    @Test
    void atMostTwentyRunAtOnce() throws Exception {
        CompletableFuture<Boolean> hold = new CompletableFuture<>();
        PingRelay relay = new PingRelay(target -> hold);
        for (int i = 0; i < PingRelay.MAX_CONCURRENT; i++) {
            assertTrue(relay.relay(ALIVE, () -> { }));
        }
        assertFalse(relay.relay(ALIVE, () -> { }), "the twenty-first is refused");
        assertEquals(1, relay.overLimit.sum());
        hold.complete(true);
        Await.until(Duration.ofSeconds(5), "pings done", () -> relay.running() == 0);
        assertTrue(relay.relay(ALIVE, () -> { }), "slots come back");
    }
}
