package dev.loomstack.wireguard;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * mac1 and mac2 of handshake messages (paper section 5.4.4): mac1 = MAC(HASH("mac1----" || Sm'pub),
 * msg up to mac1), keyed by the receiver's public key so anyone can compute it but only for that
 * receiver; mac2 = MAC(cookie, msg up to mac2), or zeros without a fresh cookie. And the key cookie
 * replies are sealed under (section 5.4.7): HASH("cookie--" || public key of the cookie's sender).
 */
final class MessageMacs {
    private static final byte[] LABEL_MAC1 = "mac1----".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] LABEL_COOKIE = "cookie--".getBytes(StandardCharsets.US_ASCII);

    private MessageMacs() {}

    /** HASH("mac1----" || public key of the message's receiver). */
    static byte[] mac1Key(byte[] receiverPublic) {
        return Blake2s.hash(LABEL_MAC1, receiverPublic);
    }

    /** HASH("cookie--" || public key of the side that sends cookie replies). */
    static byte[] cookieKey(byte[] cookieSenderPublic) {
        return Blake2s.hash(LABEL_COOKIE, cookieSenderPublic);
    }

    /** Writes mac1 of the {@code len}-byte message in place. */
    static void writeMac1(byte[] mac1Key, byte[] msg, int len) {
        int at = HandshakeMessages.mac1Offset(len);
        Blake2s.mac(mac1Key, msg, 0, at, msg, at);
    }

    /** Writes mac2 keyed by {@code cookie} in place, or zeros when {@code cookie} is null. */
    static void writeMac2(byte[] cookie, byte[] msg, int len) {
        int at = HandshakeMessages.mac2Offset(len);
        if (cookie == null) {
            java.util.Arrays.fill(msg, at, at + Blake2s.MAC_LENGTH, (byte) 0);
        } else {
            Blake2s.mac(cookie, msg, 0, at, msg, at);
        }
    }

    static boolean mac1Valid(byte[] mac1Key, byte[] msg, int len) {
        int at = HandshakeMessages.mac1Offset(len);
        return macEquals(mac1Key, msg, at);
    }

    static boolean mac2Valid(byte[] cookie, byte[] msg, int len) {
        int at = HandshakeMessages.mac2Offset(len);
        return macEquals(cookie, msg, at);
    }

    /** MAC(key, msg[0..at)) equals msg[at..at+16), compared in constant time. */
    private static boolean macEquals(byte[] key, byte[] msg, int at) {
        byte[] expected = new byte[Blake2s.MAC_LENGTH];
        Blake2s.mac(key, msg, 0, at, expected, 0);
        byte[] actual = java.util.Arrays.copyOfRange(msg, at, at + Blake2s.MAC_LENGTH);
        return MessageDigest.isEqual(expected, actual);
    }
}
