package dev.loomstack.wireguard;

import org.bouncycastle.crypto.digests.Blake2sDigest;
import org.bouncycastle.crypto.macs.HMac;
import org.bouncycastle.crypto.params.KeyParameter;

/**
 * WireGuard's hash functions (paper section 5.4), all BLAKE2s (RFC 7693) from Bouncy Castle:
 * HASH (32-byte BLAKE2s), MAC (keyed BLAKE2s with a 16-byte output) and HMAC (RFC 2104 over BLAKE2s,
 * block 64 bytes), the last being what the KDF is made of ({@link Kdf}).
 */
final class Blake2s {
    /** HASH's output, and BLAKE2s's largest. */
    static final int HASH_LENGTH = 32;
    /** MAC's output: mac1, mac2 and cookies are 16 bytes (paper section 5.4.4). */
    static final int MAC_LENGTH = 16;

    private Blake2s() {}

    /** HASH(a || b) into {@code out[outOffset..+32)}. */
    static void hash(byte[] a, int aOffset, int aLength, byte[] b, int bOffset, int bLength, byte[] out, int outOffset) {
        Blake2sDigest digest = new Blake2sDigest(HASH_LENGTH * 8);
        digest.update(a, aOffset, aLength);
        digest.update(b, bOffset, bLength);
        digest.doFinal(out, outOffset);
    }

    /** HASH(a || b) of two whole arrays, as a new array. */
    static byte[] hash(byte[] a, byte[] b) {
        byte[] out = new byte[HASH_LENGTH];
        hash(a, 0, a.length, b, 0, b.length, out, 0);
        return out;
    }

    /**
     * Keyed BLAKE2s (RFC 7693 section 2.5: the key is padded to a block and compressed first) with
     * an {@code outLength}-byte digest; the digest length is part of the parameter block, so a
     * 16-byte MAC is not a truncated 32-byte one.
     */
    static void keyed(byte[] key, int outLength, byte[] data, int offset, int length, byte[] out, int outOffset) {
        Blake2sDigest digest = new Blake2sDigest(key, outLength, null, null);
        digest.update(data, offset, length);
        digest.doFinal(out, outOffset);
    }

    /** MAC(key, data): keyed BLAKE2s with a 16-byte output (paper section 5.4). */
    static void mac(byte[] key, byte[] data, int offset, int length, byte[] out, int outOffset) {
        keyed(key, MAC_LENGTH, data, offset, length, out, outOffset);
    }

    /** A fresh HMAC-BLAKE2s (RFC 2104; Bouncy Castle takes BLAKE2s's 64-byte block as HMAC's B). */
    static HMac newHmac() {
        return new HMac(new Blake2sDigest(HASH_LENGTH * 8));
    }

    /** HMAC(key, data) into {@code out[outOffset..+32)}. */
    static void hmac(byte[] key, byte[] data, int offset, int length, byte[] out, int outOffset) {
        HMac hmac = newHmac();
        hmac.init(new KeyParameter(key));
        hmac.update(data, offset, length);
        hmac.doFinal(out, outOffset);
    }
}
