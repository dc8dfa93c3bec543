package dev.loomstack.wireguard;

import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;

/**
 * A 32-byte WireGuard key: a Curve25519 public or private key, or a pre-shared key, written as
 * standard base64 (44 characters ending in {@code =}) the way {@code wg} prints them.
 *
 * <p>{@link #toString()} gives the base64 text: never log a private or pre-shared key through it.
 */
public final class WireGuardKey {
    /** Curve25519 keys and WireGuard's pre-shared keys are 32 bytes. */
    public static final int LENGTH = 32;
    /** Base64 of 32 bytes: 43 characters and one {@code =} of padding. */
    public static final int BASE64_LENGTH = 44;

    private final byte[] bytes;

    private WireGuardKey(byte[] bytes) {
        this.bytes = bytes;
    }

    /** The key of these 32 bytes (copied). */
    public static WireGuardKey of(byte[] bytes) {
        if (bytes.length != LENGTH) {
            throw new IllegalArgumentException("a WireGuard key is " + LENGTH + " bytes, not " + bytes.length);
        }
        return new WireGuardKey(bytes.clone());
    }

    /**
     * Parses the base64 text {@code wg genkey} / {@code wg pubkey} print.
     *
     * @throws IllegalArgumentException naming what is wrong (length, alphabet, decoded size)
     */
    public static WireGuardKey parse(String base64) {
        if (base64 == null) {
            throw new IllegalArgumentException("a WireGuard key is required");
        }
        String text = base64.strip();
        if (text.length() != BASE64_LENGTH || text.charAt(BASE64_LENGTH - 1) != '=') {
            throw new IllegalArgumentException("a WireGuard key is " + BASE64_LENGTH
                    + " characters of base64 ending in '=' (as wg genkey prints it)");
        }
        byte[] decoded;
        try {
            decoded = Base64.getDecoder().decode(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("a WireGuard key must be base64: " + e.getMessage());
        }
        if (decoded.length != LENGTH) {
            throw new IllegalArgumentException("a WireGuard key decodes to " + LENGTH + " bytes, not " + decoded.length);
        }
        return new WireGuardKey(decoded);
    }

    /** A copy of the 32 bytes. */
    public byte[] bytes() {
        return bytes.clone();
    }

    /** Copies the 32 bytes into {@code dst} at {@code offset}. */
    public void copyTo(byte[] dst, int offset) {
        System.arraycopy(bytes, 0, dst, offset, LENGTH);
    }

    /** True when every byte is zero (an unset pre-shared key; a public key no peer may have). */
    public boolean isZero() {
        int acc = 0;
        for (byte b : bytes) {
            acc |= b;
        }
        return acc == 0;
    }

    public String toBase64() {
        return Base64.getEncoder().encodeToString(bytes);
    }

    /** Compares in constant time: keys are secrets as often as not. */
    @Override
    public boolean equals(Object o) {
        return o instanceof WireGuardKey k && MessageDigest.isEqual(bytes, k.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return toBase64();
    }
}
