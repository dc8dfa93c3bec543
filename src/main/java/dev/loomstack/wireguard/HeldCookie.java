package dev.loomstack.wireguard;

import dev.loomstack.stack.Clock;
import java.util.Arrays;

/**
 * The sending side of mac2 for one peer (paper section 5.4.7): remembers mac1 of the last handshake
 * message sent (a cookie reply is sealed with it as associated data, so only a reply to that very
 * message opens), opens cookie replies with HASH("cookie--" || peer's public key), and keys mac2
 * of later messages by the cookie while it is younger than two minutes.
 *
 * <p>Not thread-safe: {@link PeerHandshake} holds it under its lock.
 */
final class HeldCookie {
    private final byte[] cookieKey;
    private final Clock clock;

    private final byte[] lastMac1 = new byte[Blake2s.MAC_LENGTH];
    private boolean lastMac1Pending;
    private int lastSenderIndex;

    private final byte[] cookie = new byte[Blake2s.MAC_LENGTH];
    private boolean held;
    private long receivedNanos;

    /** @param peerPublic the public key of the peer that may send us cookie replies */
    HeldCookie(byte[] peerPublic, Clock clock) {
        this.cookieKey = MessageMacs.cookieKey(peerPublic);
        this.clock = clock;
    }

    /** mac2 of an outgoing message: keyed by the cookie if one younger than two minutes is held, else zeros. */
    void writeMac2(byte[] msg, int len) {
        if (held && CookieSecret.expired(receivedNanos, clock.nanoTime())) {
            held = false;
            Arrays.fill(cookie, (byte) 0);
        }
        MessageMacs.writeMac2(held ? cookie : null, msg, len);
    }

    /** Notes mac1 and sender index of a message just written (before {@link #writeMac2}). */
    void sent(byte[] msg, int len, int senderIndex) {
        System.arraycopy(msg, HandshakeMessages.mac1Offset(len), lastMac1, 0, lastMac1.length);
        lastMac1Pending = true;
        lastSenderIndex = senderIndex;
    }

    /**
     * Opens a cookie reply to the last message sent and keeps its cookie. False when it is not one
     * (wrong size or type, another receiver index, no message awaiting a reply, or it does not
     * authenticate); one reply per message sent, as a cookie reply answers a single message.
     */
    boolean consume(byte[] msg, int len) {
        if (!HandshakeMessages.is(msg, len, HandshakeMessages.TYPE_COOKIE_REPLY, HandshakeMessages.COOKIE_REPLY_LENGTH)
                || !lastMac1Pending
                || HandshakeMessages.readIntLe(msg, HandshakeMessages.COOKIE_RECEIVER) != lastSenderIndex) {
            return false;
        }
        byte[] opened = new byte[Blake2s.MAC_LENGTH];
        if (!XChaChaPoly.open(cookieKey, msg, HandshakeMessages.COOKIE_NONCE,
                msg, HandshakeMessages.COOKIE_SEALED, Blake2s.MAC_LENGTH + XChaChaPoly.TAG_LENGTH,
                lastMac1, 0, lastMac1.length, opened, 0)) {
            return false;
        }
        System.arraycopy(opened, 0, cookie, 0, cookie.length);
        Arrays.fill(opened, (byte) 0);
        held = true;
        receivedNanos = clock.nanoTime();
        lastMac1Pending = false;
        return true;
    }
}
