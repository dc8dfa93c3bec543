package dev.loomstack.link.wireguard;

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
}
