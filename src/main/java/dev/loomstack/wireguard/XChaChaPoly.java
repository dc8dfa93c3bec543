package dev.loomstack.wireguard;

import java.util.Arrays;
import org.bouncycastle.crypto.InvalidCipherTextException;
import org.bouncycastle.crypto.modes.XChaCha20Poly1305;
import org.bouncycastle.crypto.params.AEADParameters;
import org.bouncycastle.crypto.params.KeyParameter;

/**
 * XAEAD of the paper's section 5.4.7: AEAD_XChaCha20_Poly1305 (draft-irtf-cfrg-xchacha section 2.3:
 * HChaCha20 of the key and the nonce's first 16 bytes, then RFC 8439's AEAD with the last 8),
 * from Bouncy Castle (the JDK has no XChaCha). Used only for cookie replies, with a random 24-byte nonce.
 */
final class XChaChaPoly {
    static final int KEY_LENGTH = 32;
    static final int NONCE_LENGTH = 24;
    static final int TAG_LENGTH = 16;
    private static final int TAG_BITS = TAG_LENGTH * 8;

    private XChaChaPoly() {}

    /** Encrypts {@code plain[offset..+length)} into {@code out[outOffset..)} (ciphertext, then tag); returns length + 16. */
    static int seal(byte[] key, byte[] nonce, int nonceOffset, byte[] plain, int offset, int length,
            byte[] ad, int adOffset, int adLength, byte[] out, int outOffset) {
        XChaCha20Poly1305 cipher = init(true, key, nonce, nonceOffset, ad, adOffset, adLength);
        int written = cipher.processBytes(plain, offset, length, out, outOffset);
        try {
            return written + cipher.doFinal(out, outOffset + written);
        } catch (InvalidCipherTextException e) {
            throw new IllegalStateException("XChaCha20-Poly1305 encryption failed", e);
        }
    }

    /**
     * Decrypts and authenticates {@code sealed[offset..+length)} into {@code out[outOffset..+length-16)}.
     * False, with {@code out} untouched, if it does not authenticate.
     */
    static boolean open(byte[] key, byte[] nonce, int nonceOffset, byte[] sealed, int offset, int length,
            byte[] ad, int adOffset, int adLength, byte[] out, int outOffset) {
        if (length < TAG_LENGTH) {
            return false;
        }
        XChaCha20Poly1305 cipher = init(false, key, nonce, nonceOffset, ad, adOffset, adLength);
        // Bouncy Castle may write plaintext before it checks the tag: decrypt into scratch first.
        byte[] plain = new byte[length - TAG_LENGTH];
        try {
            int written = cipher.processBytes(sealed, offset, length, plain, 0);
            cipher.doFinal(plain, written);
        } catch (InvalidCipherTextException e) {
            Arrays.fill(plain, (byte) 0);
            return false;
        }
        System.arraycopy(plain, 0, out, outOffset, plain.length);
        Arrays.fill(plain, (byte) 0);
        return true;
    }

    private static XChaCha20Poly1305 init(boolean encrypt, byte[] key, byte[] nonce, int nonceOffset,
            byte[] ad, int adOffset, int adLength) {
        XChaCha20Poly1305 cipher = new XChaCha20Poly1305();
        byte[] iv = Arrays.copyOfRange(nonce, nonceOffset, nonceOffset + NONCE_LENGTH);
        byte[] associated = Arrays.copyOfRange(ad, adOffset, adOffset + adLength);
        cipher.init(encrypt, new AEADParameters(new KeyParameter(key), TAG_BITS, iv, associated));
        return cipher;
    }
}
