package dev.loomstack.wireguard;

import java.util.Arrays;
import org.bouncycastle.crypto.macs.HMac;
import org.bouncycastle.crypto.params.KeyParameter;

/**
 * WireGuard's KDF_n (paper section 5.4, HKDF of RFC 5869 with HMAC-BLAKE2s and an empty info):
 * τ0 = HMAC(key, input), τ1 = HMAC(τ0, 0x1), τi = HMAC(τ0, τ(i-1) || i); KDF_n returns τ1..τn.
 */
final class Kdf {
    static final int LENGTH = Blake2s.HASH_LENGTH;

    private Kdf() {}

    /**
     * Writes τ1 into {@code t1} and, when not null, τ2 into {@code t2} and τ3 into {@code t3} (each
     * 32 bytes). {@code t1} may be {@code key} itself (the chaining key is replaced in place).
     */
    static void derive(byte[] key, byte[] input, int offset, int length, byte[] t1, byte[] t2, byte[] t3) {
        HMac hmac = Blake2s.newHmac();
        byte[] prk = new byte[LENGTH];
        try {
            hmac.init(new KeyParameter(key));
            hmac.update(input, offset, length);
            hmac.doFinal(prk, 0);

            KeyParameter prkKey = new KeyParameter(prk);
            hmac.init(prkKey);
            hmac.update((byte) 1);
            hmac.doFinal(t1, 0);
            if (t2 != null) {
                hmac.init(prkKey);
                hmac.update(t1, 0, LENGTH);
                hmac.update((byte) 2);
                hmac.doFinal(t2, 0);
            }
            if (t3 != null) {
                hmac.init(prkKey);
                hmac.update(t2, 0, LENGTH);
                hmac.update((byte) 3);
                hmac.doFinal(t3, 0);
            }
        } finally {
            Arrays.fill(prk, (byte) 0);
        }
    }
}
