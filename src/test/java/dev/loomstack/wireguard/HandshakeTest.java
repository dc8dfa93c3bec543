package dev.loomstack.wireguard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loomstack.stack.ManualClock;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Initiator and responder of WireGuard's Noise_IKpsk2 handshake (paper section 5.4) against each other. */
class HandshakeTest {
    private static final int INITIATOR_INDEX = 0x01020304;
    private static final int RESPONDER_INDEX = 0xfedcba98;

    private final ManualClock monotonic = new ManualClock(TimeUnit.SECONDS.toNanos(1_000));
    private final Clock wall = Clock.fixed(Instant.parse("2026-11-29T00:00:00.123456789Z"), ZoneOffset.UTC);

    private final StaticIdentity alice = StaticIdentity.generate();
    private final StaticIdentity bob = StaticIdentity.generate();

    /** Alice's handshake with Bob (she initiates) and Bob's with Alice, with these pre-shared keys. */
    private PeerHandshake aliceToBob(WireGuardKey psk) {
        return new PeerHandshake(alice, bob.publicKey(), psk, wall, monotonic);
    }

    private PeerHandshake bobToAlice(WireGuardKey psk) {
        return new PeerHandshake(bob, alice.publicKey(), psk, wall, monotonic);
    }

    private final HandshakeResponder bobResponder = new HandshakeResponder(bob, monotonic);
    private final HandshakeResponder aliceResponder = new HandshakeResponder(alice, monotonic);

    @Test
    void roundTripDerivesMirroredKeysAndCarriesIndices() {
        PeerHandshake initiator = aliceToBob(null);
        PeerHandshake responder = bobToAlice(null);

        byte[] initiation = new byte[PeerHandshake.INITIATION_LENGTH];
        assertThat(initiator.writeInitiation(initiation, INITIATOR_INDEX)).isEqualTo(148);
        assertThat(initiation[0]).isEqualTo((byte) 1);
        assertThat(bobResponder.mac1Valid(initiation, initiation.length)).isTrue();

        OpenedInitiation opened = bobResponder.openInitiation(initiation, initiation.length).orElseThrow();
        assertThat(opened.initiatorStatic()).isEqualTo(alice.publicKey());
        assertThat(opened.senderIndex()).isEqualTo(INITIATOR_INDEX);

        byte[] response = new byte[PeerHandshake.RESPONSE_LENGTH];
        SessionKeys bobKeys = responder.respond(opened, response, RESPONDER_INDEX).orElseThrow();
        assertThat(response[0]).isEqualTo((byte) 2);
        assertThat(aliceResponder.mac1Valid(response, response.length)).isTrue();

        SessionKeys aliceKeys = initiator.consumeResponse(response, response.length).orElseThrow();

        assertThat(aliceKeys.initiator()).isTrue();
        assertThat(bobKeys.initiator()).isFalse();
        assertThat(aliceKeys.sendKey()).isEqualTo(bobKeys.receiveKey());
        assertThat(aliceKeys.receiveKey()).isEqualTo(bobKeys.sendKey());
        assertThat(aliceKeys.sendKey()).isNotEqualTo(aliceKeys.receiveKey());
        assertThat(aliceKeys.localIndex()).isEqualTo(INITIATOR_INDEX);
        assertThat(aliceKeys.remoteIndex()).isEqualTo(RESPONDER_INDEX);
        assertThat(bobKeys.localIndex()).isEqualTo(RESPONDER_INDEX);
        assertThat(bobKeys.remoteIndex()).isEqualTo(INITIATOR_INDEX);
    }

    @Test
    void transportKeysEncryptForTheOtherSide() {
        SessionKeys[] keys = handshake(aliceToBob(null), bobToAlice(null));
        byte[] plain = "ping".getBytes();
        byte[] sealed = new byte[plain.length + ChaChaPoly.TAG_LENGTH];
        ChaChaPoly.seal(keys[0].sendKey(), 7, plain, 0, plain.length, new byte[0], 0, 0, sealed, 0);
        byte[] opened = new byte[plain.length];
        assertThat(ChaChaPoly.open(keys[1].receiveKey(), 7, sealed, 0, sealed.length, new byte[0], 0, 0, opened, 0)).isTrue();
        assertThat(opened).isEqualTo(plain);
    }

    /** Alice initiates, Bob responds: {alice's keys, bob's keys}. */
    private SessionKeys[] handshake(PeerHandshake initiator, PeerHandshake responder) {
        byte[] initiation = new byte[PeerHandshake.INITIATION_LENGTH];
        initiator.writeInitiation(initiation, INITIATOR_INDEX);
        OpenedInitiation opened = bobResponder.openInitiation(initiation, initiation.length).orElseThrow();
        byte[] response = new byte[PeerHandshake.RESPONSE_LENGTH];
        SessionKeys bobKeys = responder.respond(opened, response, RESPONDER_INDEX).orElseThrow();
        SessionKeys aliceKeys = initiator.consumeResponse(response, response.length).orElseThrow();
        return new SessionKeys[] {aliceKeys, bobKeys};
    }

    @Test
    void withPresharedKeyOnBothSidesKeysMirror() {
        WireGuardKey psk = WireGuardKey.of(bytes(0x5a));
        SessionKeys[] keys = handshake(aliceToBob(psk), bobToAlice(psk));
        assertThat(keys[0].sendKey()).isEqualTo(keys[1].receiveKey());
        assertThat(keys[0].receiveKey()).isEqualTo(keys[1].sendKey());
    }

    /** The responder cannot tell (psk2 is mixed after its last DH), but the initiator refuses the response. */
    @Test
    void mismatchedPresharedKeysFailAtTheInitiator() {
        PeerHandshake initiator = aliceToBob(WireGuardKey.of(bytes(1)));
        PeerHandshake responder = bobToAlice(WireGuardKey.of(bytes(2)));
        byte[] initiation = new byte[PeerHandshake.INITIATION_LENGTH];
        initiator.writeInitiation(initiation, INITIATOR_INDEX);
        OpenedInitiation opened = bobResponder.openInitiation(initiation, initiation.length).orElseThrow();
        byte[] response = new byte[PeerHandshake.RESPONSE_LENGTH];
        assertThat(responder.respond(opened, response, RESPONDER_INDEX)).isPresent();
        assertThat(initiator.consumeResponse(response, response.length)).isEmpty();

        // One side with a pre-shared key, the other with none: also refused.
        PeerHandshake withNone = aliceToBob(null);
        withNone.writeInitiation(initiation, INITIATOR_INDEX);
        opened = bobResponder.openInitiation(initiation, initiation.length).orElseThrow();
        assertThat(bobToAlice(WireGuardKey.of(bytes(2))).respond(opened, response, RESPONDER_INDEX)).isPresent();
        assertThat(withNone.consumeResponse(response, response.length)).isEmpty();
    }

    @Test
    void presharedKeyChangedLiveIsUsedByTheNextHandshake() {
        PeerHandshake initiator = aliceToBob(null);
        PeerHandshake responder = bobToAlice(null);
        handshake(initiator, responder);

        WireGuardKey psk = WireGuardKey.of(bytes(9));
        initiator.presharedKey(psk);
        monotonic.set(monotonic.nanoTime() + TimeUnit.SECONDS.toNanos(1));
        assertThat(tryHandshake(initiator, responder)).isEmpty();

        responder.presharedKey(psk);
        monotonic.set(monotonic.nanoTime() + TimeUnit.SECONDS.toNanos(1));
        assertThat(tryHandshake(initiator, responder)).isPresent();

        initiator.presharedKey(null);
        responder.presharedKey(null);
        monotonic.set(monotonic.nanoTime() + TimeUnit.SECONDS.toNanos(1));
        assertThat(tryHandshake(initiator, responder)).isPresent();
    }

    /** An initiation made for Bob's key neither has a valid mac1 for Carol nor opens with Carol's key. */
    @Test
    void initiationToAnotherResponderKeyFailsToOpen() {
        StaticIdentity carol = StaticIdentity.generate();
        HandshakeResponder carolResponder = new HandshakeResponder(carol, monotonic);
        byte[] initiation = new byte[PeerHandshake.INITIATION_LENGTH];
        aliceToBob(null).writeInitiation(initiation, INITIATOR_INDEX);
        assertThat(carolResponder.mac1Valid(initiation, initiation.length)).isFalse();
        assertThat(carolResponder.openInitiation(initiation, initiation.length)).isEmpty();
        assertThat(bobResponder.openInitiation(initiation, initiation.length)).isPresent();
    }

    /** An initiation from a key other than this peer's is refused by that peer's handshake. */
    @Test
    void respondRefusesAnInitiationFromAnotherPeer() {
        StaticIdentity carol = StaticIdentity.generate();
        byte[] initiation = new byte[PeerHandshake.INITIATION_LENGTH];
        new PeerHandshake(carol, bob.publicKey(), null, wall, monotonic).writeInitiation(initiation, INITIATOR_INDEX);
        OpenedInitiation fromCarol = bobResponder.openInitiation(initiation, initiation.length).orElseThrow();
        assertThat(fromCarol.initiatorStatic()).isEqualTo(carol.publicKey());
        assertThat(bobToAlice(null).respond(fromCarol, new byte[PeerHandshake.RESPONSE_LENGTH], RESPONDER_INDEX)).isEmpty();
    }

    /** Paper section 5.1: the same initiation bytes again (its timestamp not newer) are refused. */
    @Test
    void replayedInitiationIsRefused() {
        PeerHandshake initiator = aliceToBob(null);
        PeerHandshake responder = bobToAlice(null);
        byte[] initiation = new byte[PeerHandshake.INITIATION_LENGTH];
        initiator.writeInitiation(initiation, INITIATOR_INDEX);
        byte[] response = new byte[PeerHandshake.RESPONSE_LENGTH];
        assertThat(responder.respond(bobResponder.openInitiation(initiation, initiation.length).orElseThrow(), response,
                RESPONDER_INDEX)).isPresent();

        // Well past the flood limit, so only the timestamp can refuse it.
        monotonic.set(monotonic.nanoTime() + TimeUnit.SECONDS.toNanos(5));
        OpenedInitiation replayed = bobResponder.openInitiation(initiation.clone(), initiation.length).orElseThrow();
        assertThat(responder.respond(replayed, response, RESPONDER_INDEX)).isEmpty();

        // A fresh initiation from the same peer is taken.
        initiator.writeInitiation(initiation, INITIATOR_INDEX);
        assertThat(responder.respond(bobResponder.openInitiation(initiation, initiation.length).orElseThrow(), response,
                RESPONDER_INDEX)).isPresent();
    }

    /** wireguard-go's flood limit: an initiation within 1/50 s of the last one taken is refused, taken after. */
    @Test
    void initiationWithinTwentyMillisecondsIsRefusedAndTakenAfter() {
        PeerHandshake initiator = aliceToBob(null);
        PeerHandshake responder = bobToAlice(null);
        byte[] response = new byte[PeerHandshake.RESPONSE_LENGTH];
        byte[] first = new byte[PeerHandshake.INITIATION_LENGTH];
        initiator.writeInitiation(first, INITIATOR_INDEX);
        assertThat(responder.respond(bobResponder.openInitiation(first, first.length).orElseThrow(), response,
                RESPONDER_INDEX)).isPresent();

        byte[] second = new byte[PeerHandshake.INITIATION_LENGTH];
        initiator.writeInitiation(second, INITIATOR_INDEX + 1);
        OpenedInitiation opened = bobResponder.openInitiation(second, second.length).orElseThrow();
        monotonic.set(monotonic.nanoTime() + TimeUnit.MILLISECONDS.toNanos(10));
        assertThat(responder.respond(opened, response, RESPONDER_INDEX)).isEmpty();
        monotonic.set(monotonic.nanoTime() + TimeUnit.MILLISECONDS.toNanos(10));
        assertThat(responder.respond(opened, response, RESPONDER_INDEX)).as("exactly 20 ms later").isEmpty();
        monotonic.set(monotonic.nanoTime() + 1);
        SessionKeys bobKeys = responder.respond(opened, response, RESPONDER_INDEX).orElseThrow();
        SessionKeys aliceKeys = initiator.consumeResponse(response, response.length).orElseThrow();
        assertThat(aliceKeys.sendKey()).isEqualTo(bobKeys.receiveKey());
    }

    @Test
    void wrongMac1IsInvalid() {
        byte[] initiation = new byte[PeerHandshake.INITIATION_LENGTH];
        aliceToBob(null).writeInitiation(initiation, INITIATOR_INDEX);
        assertThat(bobResponder.mac1Valid(initiation, initiation.length)).isTrue();
        initiation[116] ^= 1;
        assertThat(bobResponder.mac1Valid(initiation, initiation.length)).isFalse();
        initiation[116] ^= 1;
        assertThat(bobResponder.mac1Valid(initiation, initiation.length - 1)).as("short").isFalse();
        assertThat(bobResponder.mac1Valid(new byte[PeerHandshake.INITIATION_LENGTH], PeerHandshake.INITIATION_LENGTH))
                .as("zeros").isFalse();
        // A response to Alice is keyed by Alice's key: Bob's check refuses it.
        byte[] response = new byte[PeerHandshake.RESPONSE_LENGTH];
        bobToAlice(null).respond(bobResponder.openInitiation(initiation, initiation.length).orElseThrow(), response,
                RESPONDER_INDEX);
        assertThat(aliceResponder.mac1Valid(response, response.length)).isTrue();
        assertThat(bobResponder.mac1Valid(response, response.length)).isFalse();
    }

    /**
     * Every byte of an initiation is covered: up to mac1 by mac1 (and the sealed fields by the AEAD
     * as well), mac1 by itself, mac2 by the cookie under load.
     */
    @Test
    void flippedByteAnywhereInAnInitiationIsCaught() {
        byte[] initiation = new byte[PeerHandshake.INITIATION_LENGTH];
        aliceToBob(null).writeInitiation(initiation, INITIATOR_INDEX);
        java.net.InetSocketAddress source = new java.net.InetSocketAddress("198.19.0.2", 51820);
        for (int i = 0; i < initiation.length; i++) {
            byte[] flipped = initiation.clone();
            flipped[i] ^= 1;
            if (i < 132) {
                assertThat(bobResponder.mac1Valid(flipped, flipped.length)).as("mac1 with byte %d flipped", i).isFalse();
            } else {
                assertThat(bobResponder.mac2Valid(flipped, flipped.length, source)).as("mac2 with byte %d flipped", i).isFalse();
            }
            if (i < 4 || (i >= 8 && i < 116)) {
                assertThat(bobResponder.openInitiation(flipped, flipped.length)).as("open with byte %d flipped", i).isEmpty();
            }
        }
        assertThat(bobResponder.openInitiation(initiation, initiation.length)).isPresent();
    }

    /** Same for a response; a refused response leaves the initiator able to take the right one. */
    @Test
    void flippedByteAnywhereInAResponseIsCaught() {
        PeerHandshake initiator = aliceToBob(null);
        byte[] initiation = new byte[PeerHandshake.INITIATION_LENGTH];
        initiator.writeInitiation(initiation, INITIATOR_INDEX);
        byte[] response = new byte[PeerHandshake.RESPONSE_LENGTH];
        SessionKeys bobKeys = bobToAlice(null).respond(bobResponder.openInitiation(initiation, initiation.length).orElseThrow(),
                response, RESPONDER_INDEX).orElseThrow();
        java.net.InetSocketAddress source = new java.net.InetSocketAddress("198.19.0.1", 51820);
        for (int i = 0; i < response.length; i++) {
            byte[] flipped = response.clone();
            flipped[i] ^= 1;
            if (i < 76) {
                assertThat(aliceResponder.mac1Valid(flipped, flipped.length)).as("mac1 with byte %d flipped", i).isFalse();
            } else {
                assertThat(aliceResponder.mac2Valid(flipped, flipped.length, source)).as("mac2 with byte %d flipped", i).isFalse();
            }
            if (i < 4 || (i >= 8 && i < 60)) {
                assertThat(initiator.consumeResponse(flipped, flipped.length)).as("consume with byte %d flipped", i).isEmpty();
            }
        }
        SessionKeys aliceKeys = initiator.consumeResponse(response, response.length).orElseThrow();
        assertThat(aliceKeys.receiveKey()).isEqualTo(bobKeys.sendKey());
    }

    @Test
    void responseIsTakenOnceAndOnlyForTheLastInitiation() {
        PeerHandshake initiator = aliceToBob(null);
        PeerHandshake responder = bobToAlice(null);
        byte[] initiation = new byte[PeerHandshake.INITIATION_LENGTH];
        initiator.writeInitiation(initiation, INITIATOR_INDEX);
        byte[] response = new byte[PeerHandshake.RESPONSE_LENGTH];
        responder.respond(bobResponder.openInitiation(initiation, initiation.length).orElseThrow(), response, RESPONDER_INDEX);
        assertThat(initiator.consumeResponse(response, response.length)).isPresent();
        assertThat(initiator.consumeResponse(response, response.length)).as("again").isEmpty();

        // A response to an initiation since superseded (same index, new ephemeral) is refused.
        monotonic.set(monotonic.nanoTime() + TimeUnit.SECONDS.toNanos(1));
        initiator.writeInitiation(initiation, INITIATOR_INDEX);
        responder.respond(bobResponder.openInitiation(initiation, initiation.length).orElseThrow(), response, RESPONDER_INDEX);
        initiator.writeInitiation(new byte[PeerHandshake.INITIATION_LENGTH], INITIATOR_INDEX);
        assertThat(initiator.consumeResponse(response, response.length)).isEmpty();

        // And after forgetInitiation, nothing is awaited.
        monotonic.set(monotonic.nanoTime() + TimeUnit.SECONDS.toNanos(1));
        initiator.writeInitiation(initiation, INITIATOR_INDEX);
        responder.respond(bobResponder.openInitiation(initiation, initiation.length).orElseThrow(), response, RESPONDER_INDEX);
        initiator.forgetInitiation();
        assertThat(initiator.consumeResponse(response, response.length)).isEmpty();
    }

    /** Both sides initiate at once: each answers the other's, and both of its own complete. */
    @Test
    void simultaneousInitiationsBothComplete() {
        PeerHandshake alicesSide = aliceToBob(null);
        PeerHandshake bobsSide = bobToAlice(null);
        byte[] fromAlice = new byte[PeerHandshake.INITIATION_LENGTH];
        byte[] fromBob = new byte[PeerHandshake.INITIATION_LENGTH];
        alicesSide.writeInitiation(fromAlice, 11);
        bobsSide.writeInitiation(fromBob, 22);
        byte[] toAlice = new byte[PeerHandshake.RESPONSE_LENGTH];
        byte[] toBob = new byte[PeerHandshake.RESPONSE_LENGTH];
        SessionKeys bobAnswering = bobsSide.respond(bobResponder.openInitiation(fromAlice, fromAlice.length).orElseThrow(),
                toAlice, 23).orElseThrow();
        SessionKeys aliceAnswering = alicesSide.respond(aliceResponder.openInitiation(fromBob, fromBob.length).orElseThrow(),
                toBob, 12).orElseThrow();
        SessionKeys aliceInitiated = alicesSide.consumeResponse(toAlice, toAlice.length).orElseThrow();
        SessionKeys bobInitiated = bobsSide.consumeResponse(toBob, toBob.length).orElseThrow();
        assertThat(aliceInitiated.sendKey()).isEqualTo(bobAnswering.receiveKey());
        assertThat(bobInitiated.sendKey()).isEqualTo(aliceAnswering.receiveKey());
    }

    /** A peer key of small order (here u = 0) makes every DH zero: refused when the peer is configured. */
    @Test
    void smallOrderPeerKeyIsRefused() {
        assertThatThrownBy(() -> new PeerHandshake(alice, WireGuardKey.of(new byte[32]), null, wall, monotonic))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("small order");
    }

    @Test
    void initiationsUnderAStoppedWallClockStillHaveIncreasingTimestamps() {
        PeerHandshake initiator = aliceToBob(null);
        byte[] previous = null;
        for (int i = 0; i < 3; i++) {
            byte[] initiation = new byte[PeerHandshake.INITIATION_LENGTH];
            initiator.writeInitiation(initiation, INITIATOR_INDEX);
            byte[] stamp = bobResponder.openInitiation(initiation, initiation.length).orElseThrow().timestamp();
            if (previous != null) {
                assertThat(Tai64n.compare(stamp, 0, previous, 0)).isPositive();
            }
            previous = stamp;
        }
    }

    @Test
    void malformedMessagesAreRefusedNotThrown() {
        PeerHandshake initiator = aliceToBob(null);
        initiator.writeInitiation(new byte[PeerHandshake.INITIATION_LENGTH], INITIATOR_INDEX);
        assertThat(initiator.consumeResponse(new byte[PeerHandshake.RESPONSE_LENGTH], PeerHandshake.RESPONSE_LENGTH)).isEmpty();
        assertThat(initiator.consumeResponse(new byte[10], 10)).isEmpty();
        assertThat(initiator.consumeResponse(new byte[PeerHandshake.RESPONSE_LENGTH], 200)).isEmpty();
        assertThat(initiator.consumeCookieReply(new byte[64], 64)).isFalse();
        byte[] wrongType = new byte[PeerHandshake.INITIATION_LENGTH];
        wrongType[0] = 2;
        assertThat(bobResponder.openInitiation(wrongType, wrongType.length)).isEmpty();
        assertThat(bobResponder.openInitiation(new byte[PeerHandshake.INITIATION_LENGTH], PeerHandshake.INITIATION_LENGTH))
                .isEmpty();
        assertThat(bobResponder.mac2Valid(new byte[3], 3, new java.net.InetSocketAddress("198.19.0.2", 1))).isFalse();
    }

    private Optional<SessionKeys> tryHandshake(PeerHandshake initiator, PeerHandshake responder) {
        byte[] initiation = new byte[PeerHandshake.INITIATION_LENGTH];
        initiator.writeInitiation(initiation, INITIATOR_INDEX);
        OpenedInitiation opened = bobResponder.openInitiation(initiation, initiation.length).orElseThrow();
        byte[] response = new byte[PeerHandshake.RESPONSE_LENGTH];
        if (responder.respond(opened, response, RESPONDER_INDEX).isEmpty()) {
            return Optional.empty();
        }
        return initiator.consumeResponse(response, response.length);
    }

    private static byte[] bytes(int fill) {
        byte[] b = new byte[32];
        java.util.Arrays.fill(b, (byte) fill);
        return b;
    }
}
