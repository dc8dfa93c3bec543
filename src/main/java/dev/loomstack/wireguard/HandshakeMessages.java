package dev.loomstack.wireguard;

/**
 * Wire layout of WireGuard's messages (paper sections 5.4.2, 5.4.3, 5.4.7 and 5.4.6): a 4-byte
 * little-endian type (one byte of type, three reserved zero bytes), then the fields at the offsets
 * below; indices are 32-bit little-endian.
 */
final class HandshakeMessages {
    static final int TYPE_INITIATION = 1;
    static final int TYPE_RESPONSE = 2;
    static final int TYPE_COOKIE_REPLY = 3;
    static final int TYPE_TRANSPORT = 4;

    static final int TYPE_OFFSET = 0;
    static final int SENDER_OFFSET = 4;

    /** Initiation: type, sender, ephemeral, static (sealed), timestamp (sealed), mac1, mac2. */
    static final int INITIATION_EPHEMERAL = 8;
    static final int INITIATION_STATIC = 40;
    static final int INITIATION_STATIC_SEALED = X25519.KEY_LENGTH + ChaChaPoly.TAG_LENGTH;
    static final int INITIATION_TIMESTAMP = 88;
    static final int INITIATION_TIMESTAMP_SEALED = Tai64n.LENGTH + ChaChaPoly.TAG_LENGTH;
    static final int INITIATION_LENGTH = 148;

    /** Response: type, sender, receiver, ephemeral, empty (sealed), mac1, mac2. */
    static final int RESPONSE_RECEIVER = 8;
    static final int RESPONSE_EPHEMERAL = 12;
    static final int RESPONSE_EMPTY = 44;
    static final int RESPONSE_EMPTY_SEALED = ChaChaPoly.TAG_LENGTH;
    static final int RESPONSE_LENGTH = 92;

    /** Cookie reply: type, receiver, nonce, cookie (sealed). */
    static final int COOKIE_RECEIVER = 4;
    static final int COOKIE_NONCE = 8;
    static final int COOKIE_SEALED = 32;
    static final int COOKIE_REPLY_LENGTH = 64;

    /** mac1 and mac2 are the last 32 bytes of an initiation or response (paper section 5.4.4). */
    static final int MACS_LENGTH = 2 * Blake2s.MAC_LENGTH;

    private HandshakeMessages() {}

    static int readIntLe(byte[] in, int offset) {
        return (in[offset] & 0xff) | (in[offset + 1] & 0xff) << 8 | (in[offset + 2] & 0xff) << 16
                | (in[offset + 3] & 0xff) << 24;
    }

    static void writeIntLe(int value, byte[] out, int offset) {
        out[offset] = (byte) value;
        out[offset + 1] = (byte) (value >>> 8);
        out[offset + 2] = (byte) (value >>> 16);
        out[offset + 3] = (byte) (value >>> 24);
    }

    /** True when {@code msg} is {@code length} bytes long and its 4-byte type field is {@code type}. */
    static boolean is(byte[] msg, int len, int type, int length) {
        return len == length && msg.length >= length && readIntLe(msg, TYPE_OFFSET) == type;
    }

    /** True for a whole initiation or response: the two messages that carry mac1 and mac2. */
    static boolean carriesMacs(byte[] msg, int len) {
        return is(msg, len, TYPE_INITIATION, INITIATION_LENGTH) || is(msg, len, TYPE_RESPONSE, RESPONSE_LENGTH);
    }

    static int mac1Offset(int len) {
        return len - MACS_LENGTH;
    }

    static int mac2Offset(int len) {
        return len - Blake2s.MAC_LENGTH;
    }
}
