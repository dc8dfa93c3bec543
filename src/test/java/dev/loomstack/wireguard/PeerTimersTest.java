package dev.loomstack.wireguard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.stack.ManualTimerService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The protocol timers alone, on a manual clock, with the device's actions recorded. */
class PeerTimersTest {
    private final ManualTimerService timers = new ManualTimerService();
    private final List<String> actions = new ArrayList<>();
    private final PeerTimers t = new PeerTimers(null, timers, new PeerTimers.Actions() {
        @Override
        public void requestInitiation(Peer peer, boolean retry) {
            actions.add(retry ? "retry" : "initiate");
        }

        @Override
        public void sendKeepalive(Peer peer) {
            actions.add("keepalive");
        }

        @Override
        public void handshakeGaveUp(Peer peer) {
            actions.add("gave up");
        }

        @Override
        public void zeroKeyMaterial(Peer peer) {
            actions.add("zero");
        }
    });

    private void advance(long millis) {
        timers.advance(Duration.ofMillis(millis));
    }

    @Test
    void receivingWithoutSendingSendsAKeepaliveAfterTenSecondsAndAgainIfDataKeptComing() {
        t.dataReceived();
        advance(9_999);
        assertEquals(List.of(), actions);
        advance(1);
        assertEquals(List.of("keepalive"), actions);
        t.dataReceived();
        advance(4_000);
        t.dataReceived(); // while pending: one more period after this one
        advance(6_000);
        assertEquals(List.of("keepalive", "keepalive"), actions);
        advance(10_000);
        assertEquals(List.of("keepalive", "keepalive", "keepalive"), actions);
        advance(60_000);
        assertEquals(3, actions.size(), "then quiet");
    }

    @Test
    void sendingAnythingCancelsThePassiveKeepalive() {
        t.dataReceived();
        advance(5_000);
        t.anyAuthenticatedPacketSent();
        advance(20_000);
        assertEquals(List.of(), actions);
    }

    @Test
    void dataSentWithNoAnswerStartsAHandshakeAfterKeepalivePlusRekeyTimeout() {
        t.dataSent();
        advance(14_999);
        assertEquals(List.of(), actions);
        advance(334);
        assertEquals(List.of("initiate"), actions);
        actions.clear();
        t.dataSent();
        advance(10_000);
        t.anyAuthenticatedPacketReceived();
        advance(30_000);
        assertEquals(List.of(), actions, "an answer cancels it");
    }

    @Test
    void anUnansweredInitiationIsRetriedEveryRekeyTimeoutUntilRekeyAttemptTimeThenGivenUp() {
        t.handshakeInitiated();
        int retries = 0;
        for (int i = 0; i < 40 && !actions.contains("gave up"); i++) {
            advance(5_334);
            if (!actions.isEmpty() && actions.get(actions.size() - 1).equals("retry")) {
                retries++;
                t.handshakeInitiated(); // what the link does when it sends the retry
            }
        }
        assertEquals(ProtocolLimits.MAX_HANDSHAKE_ATTEMPTS + 1, retries, actions.toString());
        assertEquals("gave up", actions.get(actions.size() - 1));
        long gaveUpAt = timers.clock().nanoTime();
        assertTrue(gaveUpAt <= Duration.ofSeconds(2 * 90).toNanos(), "within the attempt time, about 90 s");
        advance(Duration.ofSeconds(539).toMillis());
        assertTrue(!actions.contains("zero"));
        advance(Duration.ofSeconds(2).toMillis());
        assertEquals("zero", actions.get(actions.size() - 1), "key material wiped 3 × REJECT_AFTER_TIME later");
    }

    @Test
    void aCompletedHandshakeStopsTheRetries() {
        t.handshakeInitiated();
        advance(2_000);
        t.handshakeComplete();
        advance(60_000);
        assertEquals(List.of(), actions);
    }

    @Test
    void thePersistentKeepaliveFiresAfterItsIntervalOfSilenceAndMovesWithEveryPacket() {
        t.persistentKeepalive(Duration.ofSeconds(25).toNanos());
        t.anyAuthenticatedPacketTraversal();
        advance(20_000);
        t.anyAuthenticatedPacketTraversal(); // traffic moves it later
        advance(20_000);
        assertEquals(List.of(), actions);
        advance(5_000);
        assertEquals(List.of("keepalive"), actions);
        t.persistentKeepalive(0);
        t.anyAuthenticatedPacketTraversal();
        advance(100_000);
        assertEquals(List.of("keepalive"), actions, "off");
    }

    @Test
    void sessionDerivedWipesKeysAfterThreeRejectAfterTimesUnlessRenewed() {
        t.sessionDerived();
        advance(Duration.ofSeconds(300).toMillis());
        t.sessionDerived();
        advance(Duration.ofSeconds(539).toMillis());
        assertEquals(List.of(), actions);
        advance(1_000);
        assertEquals(List.of("zero"), actions);
    }

    @Test
    void stoppedTimersNeverFire() {
        t.dataReceived();
        t.dataSent();
        t.handshakeInitiated();
        t.sessionDerived();
        t.stop();
        t.dataReceived();
        advance(Duration.ofSeconds(1000).toMillis());
        assertEquals(List.of(), actions);
        assertEquals(0, timers.pending());
    }
}
