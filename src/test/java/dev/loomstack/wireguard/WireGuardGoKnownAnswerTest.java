package dev.loomstack.wireguard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loomstack.stack.ManualClock;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * Messages written by wireguard-go 0.0.20220316 (Debian's golang-golang.zx2c4-wireguard-dev, through
 * its exported Device.CreateMessageInitiation, CookieGenerator and CookieChecker, in memory, no
 * network), checked here byte for byte. The keys are RFC 7748 section 6.1's: wireguard-go is Bob, we
 * are Alice; the pre-shared key is 32 bytes of 0x2a. wireguard-go wrote the initiation at Unix time
 * 1795912689.
 */
class WireGuardGoKnownAnswerTest {
    private static final HexFormat HEX = HexFormat.of();
    private static final WireGuardKey ALICE_PRIVATE =
            WireGuardKey.of(HEX.parseHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
    private static final WireGuardKey BOB_PUBLIC =
            WireGuardKey.of(HEX.parseHex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"));
    private static final WireGuardKey PSK = WireGuardKey.of(HEX.parseHex("2a".repeat(32)));
    private static final long WRITTEN_AT_UNIX = 1795912689L;

    /** Bob's initiation to Alice (Device.CreateMessageInitiation, then CookieGenerator.AddMacs for Alice's key). */
    private static final String INITIATION = "01000000c70e17ecee22adfa555af0e31ed6d510eca9dc5a31de2057987e664166c79b459f"
            + "b92719d29da71cd215ebf8575b7d651f79aa61638ad8a03cb0ea4d4551e8088566f0620830abd5effefbb38955f5b24388a348c1"
            + "9087c88b60fadd91a79ef68be6f391eba5bb53b2cdc97e06f0738a2cf4848bc8cd6b523266782d91468bd7000000000000000000"
            + "00000000000000";
    /** A message "from Alice" (bytes 0..147, type 1) after CookieGenerator.AddMacs for Bob's key: its mac1 is Bob's. */
    private static final String ALICE_MESSAGE = "010000000405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223"
            + "2425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f5051525354555657"
            + "58595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f70717273aeabcb4cc85ea2d826536bafc85b8e028485868788898a8b"
            + "8c8d8e8f90919293";
    /** Bob's CookieChecker.CreateReply to that message. */
    private static final String COOKIE_REPLY = "0300000004050607ab372ccccede5ad82aa75258b867972947818ffb653195d2aa113d67"
            + "07e0a0856f112897481bcf75afbecc0959a10a9e7eb315fae007efdd";
    /** The next message (byte 8 flipped) after the generator took that reply: mac1 and mac2 by wireguard-go. */
    private static final String NEXT_WITH_MAC2 = "0100000004050607f7090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223"
            + "2425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f5051525354555657"
            + "58595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f70717273aa9ab02821ad983c61283fe2c7a0aac902519637358778484c"
            + "3d9e813798314c";

    private final ManualClock monotonic = new ManualClock(1_000_000_000L);

    @Test
    void initiationFromWireGuardGoOpensWithItsStaticKeyIndexAndTimestamp() {
        StaticIdentity alice = StaticIdentity.of(ALICE_PRIVATE);
        HandshakeResponder responder = new HandshakeResponder(alice, monotonic);
        byte[] initiation = HEX.parseHex(INITIATION);

        assertThat(responder.mac1Valid(initiation, initiation.length)).isTrue();
        OpenedInitiation opened = responder.openInitiation(initiation, initiation.length).orElseThrow();
        assertThat(opened.initiatorStatic()).isEqualTo(BOB_PUBLIC);
        assertThat(opened.senderIndex()).isEqualTo(HandshakeMessages.readIntLe(initiation, 4));

        // TAI64N: 2^62 + 10 + Unix seconds, nanoseconds with the low 24 bits whitened away.
        byte[] stamp = opened.timestamp();
        long seconds = 0;
        for (int i = 0; i < 8; i++) {
            seconds = (seconds << 8) | (stamp[i] & 0xff);
        }
        assertThat(seconds - Tai64n.BASE).isBetween(WRITTEN_AT_UNIX, WRITTEN_AT_UNIX + 1);
        assertThat(stamp[11]).isZero();
        assertThat(stamp[10]).isZero();
        assertThat(stamp[9]).isZero();

        // The peer handshake takes it (its pre-shared key only matters to the response).
        Clock wall = Clock.fixed(Instant.ofEpochSecond(WRITTEN_AT_UNIX), ZoneOffset.UTC);
        PeerHandshake withBob = new PeerHandshake(alice, BOB_PUBLIC, PSK, wall, monotonic);
        assertThat(withBob.respond(opened, new byte[PeerHandshake.RESPONSE_LENGTH], 1)).isPresent();
    }

    /** Any single flipped bit of wireguard-go's initiation is caught by mac1 or by the AEAD. */
    @Test
    void alteredInitiationFromWireGuardGoIsRefused() {
        HandshakeResponder responder = new HandshakeResponder(StaticIdentity.of(ALICE_PRIVATE), monotonic);
        byte[] initiation = HEX.parseHex(INITIATION);
        initiation[100] ^= 0x10;
        assertThat(responder.mac1Valid(initiation, initiation.length)).isFalse();
        assertThat(responder.openInitiation(initiation, initiation.length)).isEmpty();
    }

    /** mac1 keyed by HASH("mac1----" || Bob's key) is what wireguard-go computes. */
    @Test
    void mac1MatchesWireGuardGo() {
        byte[] message = HEX.parseHex(ALICE_MESSAGE);
        byte[] ours = message.clone();
        Arrays.fill(ours, 116, 132, (byte) 0);
        MessageMacs.writeMac1(MessageMacs.mac1Key(BOB_PUBLIC.bytes()), ours, ours.length);
        assertThat(ours).isEqualTo(message);
    }

    /** wireguard-go's cookie reply opens here, and mac2 keyed by its cookie is the one wireguard-go writes. */
    @Test
    void cookieReplyFromWireGuardGoOpensAndKeysTheSameMac2() {
        HeldCookie held = new HeldCookie(BOB_PUBLIC.bytes(), monotonic);
        byte[] message = HEX.parseHex(ALICE_MESSAGE);
        held.sent(message, message.length, HandshakeMessages.readIntLe(message, 4));
        byte[] reply = HEX.parseHex(COOKIE_REPLY);
        assertThat(held.consume(reply, reply.length)).isTrue();

        byte[] expected = HEX.parseHex(NEXT_WITH_MAC2);
        byte[] next = expected.clone();
        Arrays.fill(next, 116, 148, (byte) 0);
        MessageMacs.writeMac1(MessageMacs.mac1Key(BOB_PUBLIC.bytes()), next, next.length);
        held.writeMac2(next, next.length);
        assertThat(HEX.formatHex(next)).isEqualTo(NEXT_WITH_MAC2);
    }
}
