package dev.loomstack.wireguard;

import java.security.GeneralSecurityException;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * WireGuard's AEAD (paper section 5.4): ChaCha20-Poly1305 of RFC 8439 section 2.8 through the JDK's
 * (intrinsified) {@code ChaCha20-Poly1305}, its 96-bit nonce being 32 zero bits followed by the
 * 64-bit little-endian counter.
 */
final class ChaChaPoly {
    static final int KEY_LENGTH = 32;
    static final int TAG_LENGTH = 16;
    static final int NONCE_LENGTH = 12;
    private static final String TRANSFORMATION = "ChaCha20-Poly1305";
    private static final String KEY_ALGORITHM = "ChaCha20";

    private ChaChaPoly() {}

    /** The 12-byte nonce of {@code counter}: four zero bytes, then the counter little-endian. */
    static byte[] nonce(long counter) {
        byte[] nonce = new byte[NONCE_LENGTH];
        for (int i = 0; i < Long.BYTES; i++) {
            nonce[4 + i] = (byte) (counter >>> (8 * i));
        }
        return nonce;
    }

    /**
     * Encrypts {@code plain[offset..+length)} into {@code out[outOffset..)}: the ciphertext and its
     * 16-byte tag, authenticating {@code ad[adOffset..+adLength)} too. Returns length + 16.
     */
    static int seal(byte[] key, long counter, byte[] plain, int offset, int length,
            byte[] ad, int adOffset, int adLength, byte[] out, int outOffset) {
        return seal(key, nonce(counter), plain, offset, length, ad, adOffset, adLength, out, outOffset);
    }

    /** {@link #seal(byte[], long, byte[], int, int, byte[], int, int, byte[], int)} with any 12-byte nonce (RFC 8439 section 2.8). */
    static int seal(byte[] key, byte[] nonce, byte[] plain, int offset, int length,
            byte[] ad, int adOffset, int adLength, byte[] out, int outOffset) {
        try {
            Cipher cipher = cipher(Cipher.ENCRYPT_MODE, key, nonce);
            cipher.updateAAD(ad, adOffset, adLength);
            return cipher.doFinal(plain, offset, length, out, outOffset);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("ChaCha20-Poly1305 encryption failed", e);
        }
    }

    /**
     * Decrypts and authenticates {@code sealed[offset..+length)} (ciphertext and tag) into
     * {@code out[outOffset..+length-16)}. False, with {@code out} untouched, if it does not
     * authenticate (or is shorter than a tag).
     */
    static boolean open(byte[] key, long counter, byte[] sealed, int offset, int length,
            byte[] ad, int adOffset, int adLength, byte[] out, int outOffset) {
        return open(key, nonce(counter), sealed, offset, length, ad, adOffset, adLength, out, outOffset);
    }

    /** {@link #open(byte[], long, byte[], int, int, byte[], int, int, byte[], int)} with any 12-byte nonce. */
    static boolean open(byte[] key, byte[] nonce, byte[] sealed, int offset, int length,
            byte[] ad, int adOffset, int adLength, byte[] out, int outOffset) {
        if (length < TAG_LENGTH) {
            return false;
        }
        try {
            Cipher cipher = cipher(Cipher.DECRYPT_MODE, key, nonce);
            cipher.updateAAD(ad, adOffset, adLength);
            cipher.doFinal(sealed, offset, length, out, outOffset);
            return true;
        } catch (AEADBadTagException e) {
            return false;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("ChaCha20-Poly1305 decryption failed", e);
        }
    }

    private static Cipher cipher(int mode, byte[] key, byte[] nonce) throws GeneralSecurityException {
        // A fresh Cipher per message: handshakes are rare, and the JDK refuses to encrypt twice with
        // one key and nonce on one instance, which a shared instance would have to track.
        Cipher cipher = Cipher.getInstance(TRANSFORMATION);
        cipher.init(mode, new SecretKeySpec(key, KEY_ALGORITHM), new IvParameterSpec(nonce));
        return cipher;
    }
}
