package dev.loomstack.wireguard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loomstack.stack.ManualClock;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Cookie replies and mac2 under load (paper section 5.4.7). */
class CookieTest {
    private static final int ALICE_INDEX = 0x0badcafe;
    private static final InetSocketAddress ALICE_ADDRESS = new InetSocketAddress("198.19.0.2", 40000);

    private final ManualClock monotonic = new ManualClock(TimeUnit.SECONDS.toNanos(5_000));
    private final Clock wall = Clock.fixed(Instant.parse("2026-11-29T01:00:00Z"), ZoneOffset.UTC);
    private final StaticIdentity alice = StaticIdentity.generate();
    private final StaticIdentity bob = StaticIdentity.generate();
    private final PeerHandshake aliceToBob = new PeerHandshake(alice, bob.publicKey(), null, wall, monotonic);
    private final HandshakeResponder bobResponder = new HandshakeResponder(bob, monotonic);

    private byte[] initiation() {
        byte[] initiation = new byte[PeerHandshake.INITIATION_LENGTH];
        aliceToBob.writeInitiation(initiation, ALICE_INDEX);
        return initiation;
    }

    private byte[] cookieReplyTo(byte[] msg, InetSocketAddress source) {
        byte[] reply = new byte[PeerHandshake.COOKIE_REPLY_LENGTH];
        assertThat(bobResponder.writeCookieReply(msg, msg.length, source, reply)).isEqualTo(64);
        return reply;
    }

    private void advanceSeconds(long seconds) {
        monotonic.set(monotonic.nanoTime() + TimeUnit.SECONDS.toNanos(seconds));
    }

    private static boolean mac2IsZero(byte[] msg) {
        return Arrays.equals(msg, msg.length - 16, msg.length, new byte[16], 0, 16);
    }

    @Test
    void cookieReplyGivesMac2ValidForThatSourceOnly() {
        byte[] first = initiation();
        assertThat(mac2IsZero(first)).as("no cookie held yet").isTrue();
        assertThat(bobResponder.mac2Valid(first, first.length, ALICE_ADDRESS)).isFalse();

        byte[] reply = cookieReplyTo(first, ALICE_ADDRESS);
        assertThat(HandshakeMessages.readIntLe(reply, 0)).as("type").isEqualTo(3);
        assertThat(HandshakeMessages.readIntLe(reply, 4)).as("receiver: the initiation's sender").isEqualTo(ALICE_INDEX);
        assertThat(aliceToBob.consumeCookieReply(reply, reply.length)).isTrue();

        byte[] next = initiation();
        assertThat(mac2IsZero(next)).isFalse();
        assertThat(bobResponder.mac1Valid(next, next.length)).isTrue();
        assertThat(bobResponder.mac2Valid(next, next.length, ALICE_ADDRESS)).isTrue();
        assertThat(bobResponder.mac2Valid(next, next.length, new InetSocketAddress("198.19.0.3", 40000)))
                .as("another address").isFalse();
        assertThat(bobResponder.mac2Valid(next, next.length, new InetSocketAddress("198.19.0.2", 40001)))
                .as("another port").isFalse();
        assertThat(bobResponder.mac2Valid(next, next.length, new InetSocketAddress("2001:db8::2", 40000)))
                .as("an IPv6 source").isFalse();
        // The handshake itself is unaffected by mac2.
        assertThat(bobResponder.openInitiation(next, next.length)).isPresent();
    }

    @Test
    void cookieReplyOpensOnlyOnceAndOnlyForTheLastMessageSent() {
        byte[] first = initiation();
        byte[] reply = cookieReplyTo(first, ALICE_ADDRESS);

        initiation(); // a newer message: the reply to the first has the wrong associated data now
        assertThat(aliceToBob.consumeCookieReply(reply, reply.length)).isFalse();

        byte[] latest = initiation();
        byte[] fresh = cookieReplyTo(latest, ALICE_ADDRESS);
        byte[] flipped = fresh.clone();
        flipped[40] ^= 1;
        assertThat(aliceToBob.consumeCookieReply(flipped, flipped.length)).as("flipped").isFalse();
        byte[] wrongReceiver = fresh.clone();
        wrongReceiver[4] ^= 1;
        assertThat(aliceToBob.consumeCookieReply(wrongReceiver, wrongReceiver.length)).as("other receiver").isFalse();
        assertThat(aliceToBob.consumeCookieReply(fresh, fresh.length - 1)).as("short").isFalse();

        // Sealed by someone else than Bob (under HASH("cookie--" || Carol's key)): refused.
        HandshakeResponder carol = new HandshakeResponder(StaticIdentity.generate(), monotonic);
        byte[] fromCarol = new byte[PeerHandshake.COOKIE_REPLY_LENGTH];
        carol.writeCookieReply(latest, latest.length, ALICE_ADDRESS, fromCarol);
        assertThat(aliceToBob.consumeCookieReply(fromCarol, fromCarol.length)).as("from Carol").isFalse();

        assertThat(aliceToBob.consumeCookieReply(fresh, fresh.length)).isTrue();
        assertThat(aliceToBob.consumeCookieReply(fresh, fresh.length)).as("twice").isFalse();
    }

    @Test
    void heldCookieExpiresAfterOneHundredTwentySeconds() {
        byte[] first = initiation();
        assertThat(aliceToBob.consumeCookieReply(cookieReplyTo(first, ALICE_ADDRESS), 64)).isTrue();

        advanceSeconds(119);
        byte[] young = initiation();
        assertThat(mac2IsZero(young)).isFalse();
        assertThat(bobResponder.mac2Valid(young, young.length, ALICE_ADDRESS)).isTrue();

        advanceSeconds(2);
        byte[] old = initiation();
        assertThat(mac2IsZero(old)).as("a cookie 121 s old is not used").isTrue();
        assertThat(bobResponder.mac2Valid(old, old.length, ALICE_ADDRESS)).isFalse();
    }

    @Test
    void secretRotatesAfterOneHundredTwentySeconds() {
        byte[] first = initiation();
        assertThat(aliceToBob.consumeCookieReply(cookieReplyTo(first, ALICE_ADDRESS), 64)).isTrue();
        advanceSeconds(60);
        byte[] withFirstCookie = initiation();
        assertThat(bobResponder.mac2Valid(withFirstCookie, withFirstCookie.length, ALICE_ADDRESS)).isTrue();

        // Within the secret's life, another reply does not renew it: the first cookie stays valid.
        cookieReplyTo(withFirstCookie, ALICE_ADDRESS);
        assertThat(bobResponder.mac2Valid(withFirstCookie, withFirstCookie.length, ALICE_ADDRESS)).isTrue();

        advanceSeconds(61);
        assertThat(bobResponder.mac2Valid(withFirstCookie, withFirstCookie.length, ALICE_ADDRESS))
                .as("the secret is 121 s old").isFalse();
        // The next reply renews the secret: its cookie keys a valid mac2, the first cookie's does not.
        byte[] renewedReply = cookieReplyTo(withFirstCookie, ALICE_ADDRESS);
        assertThat(aliceToBob.consumeCookieReply(renewedReply, 64)).isTrue();
        byte[] withSecondCookie = initiation();
        assertThat(bobResponder.mac2Valid(withSecondCookie, withSecondCookie.length, ALICE_ADDRESS)).isTrue();
        assertThat(bobResponder.mac2Valid(withFirstCookie, withFirstCookie.length, ALICE_ADDRESS))
                .as("a mac2 keyed by the old cookie").isFalse();
    }

    /** The responder's side too: a response carries mac2 once the initiator (under load) sent it a cookie. */
    @Test
    void responseCarriesMac2AfterACookieReplyToIt() {
        PeerHandshake bobToAlice = new PeerHandshake(bob, alice.publicKey(), null, wall, monotonic);
        HandshakeResponder aliceResponder = new HandshakeResponder(alice, monotonic);
        InetSocketAddress bobAddress = new InetSocketAddress("198.19.0.1", 51820);

        byte[] response = new byte[PeerHandshake.RESPONSE_LENGTH];
        byte[] first = initiation();
        assertThat(bobToAlice.respond(bobResponder.openInitiation(first, first.length).orElseThrow(), response, 77)).isPresent();
        assertThat(mac2IsZero(response)).isTrue();
        byte[] reply = new byte[PeerHandshake.COOKIE_REPLY_LENGTH];
        aliceResponder.writeCookieReply(response, response.length, bobAddress, reply);
        assertThat(HandshakeMessages.readIntLe(reply, 4)).isEqualTo(77);
        assertThat(bobToAlice.consumeCookieReply(reply, reply.length)).isTrue();

        advanceSeconds(1);
        byte[] second = initiation();
        assertThat(bobToAlice.respond(bobResponder.openInitiation(second, second.length).orElseThrow(), response, 78)).isPresent();
        assertThat(aliceResponder.mac2Valid(response, response.length, bobAddress)).isTrue();
    }

    @Test
    void cookieReplyToSomethingElseIsAClearError() {
        byte[] out = new byte[PeerHandshake.COOKIE_REPLY_LENGTH];
        assertThatThrownBy(() -> bobResponder.writeCookieReply(new byte[64], 64, ALICE_ADDRESS, out))
                .isInstanceOf(IllegalArgumentException.class);
        byte[] initiation = initiation();
        assertThatThrownBy(() -> bobResponder.writeCookieReply(initiation, initiation.length,
                InetSocketAddress.createUnresolved("example.invalid", 1), out))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
