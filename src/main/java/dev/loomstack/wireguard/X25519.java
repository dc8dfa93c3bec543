package dev.loomstack.wireguard;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.InvalidKeyException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.spec.NamedParameterSpec;
import java.security.spec.XECPrivateKeySpec;
import java.security.spec.XECPublicKeySpec;
import javax.crypto.KeyAgreement;

/**
 * Curve25519 Diffie-Hellman (RFC 7748 section 5) through the JDK's {@code X25519}: WireGuard's DH and
 * DH-GENERATE (paper section 5.4). Keys are the 32-byte little-endian strings of RFC 7748; the JDK
 * clamps the scalar itself, so any 32 bytes are a private key.
 */
final class X25519 {
    static final int KEY_LENGTH = 32;
    private static final String ALGORITHM = "X25519";
    /** The base point's u-coordinate (RFC 7748 section 4.1). */
    private static final PublicKey BASE_POINT = publicKey(BigInteger.valueOf(9));

    private X25519() {}

    /** The JDK private key of this scalar (copied by the JDK; RFC 7748 decodeScalar25519 clamps it). */
    static PrivateKey privateKey(byte[] scalar) {
        try {
            return KeyFactory.getInstance(ALGORITHM)
                    .generatePrivate(new XECPrivateKeySpec(NamedParameterSpec.X25519, scalar));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK has no usable X25519", e);
        }
    }

    /**
     * The JDK public key of this 32-byte u-coordinate: little-endian, with the most significant bit
     * masked as RFC 7748 section 5 requires of X25519 implementations (decodeUCoordinate).
     */
    static PublicKey publicKey(byte[] u, int offset) {
        byte[] bigEndian = new byte[KEY_LENGTH];
        for (int i = 0; i < KEY_LENGTH; i++) {
            bigEndian[i] = u[offset + KEY_LENGTH - 1 - i];
        }
        bigEndian[0] &= 0x7f;
        return publicKey(new BigInteger(1, bigEndian));
    }

    private static PublicKey publicKey(BigInteger u) {
        try {
            return KeyFactory.getInstance(ALGORITHM).generatePublic(new XECPublicKeySpec(NamedParameterSpec.X25519, u));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK has no usable X25519", e);
        }
    }

    /**
     * X25519(private, peer) into {@code out[offset..offset+32)}. False when the result is all zeros
     * (the peer's point has small order): RFC 7748 section 6.1 lets a protocol refuse it, and
     * WireGuard does (a zero DH would make the handshake's keys predictable).
     */
    static boolean agree(PrivateKey privateKey, PublicKey peer, byte[] out, int offset) {
        try {
            KeyAgreement agreement = KeyAgreement.getInstance(ALGORITHM);
            agreement.init(privateKey);
            agreement.doPhase(peer, true);
            agreement.generateSecret(out, offset);
        } catch (InvalidKeyException e) {
            // The JDK itself refuses an all-zero result ("point has small order").
            return false;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("X25519 failed", e);
        }
        int acc = 0;
        for (int i = 0; i < KEY_LENGTH; i++) {
            acc |= out[offset + i];
        }
        return acc != 0;
    }

    /** X25519(private, peer) with the peer's key as bytes. */
    static boolean agree(PrivateKey privateKey, byte[] peer, int peerOffset, byte[] out, int offset) {
        return agree(privateKey, publicKey(peer, peerOffset), out, offset);
    }

    /** The public key of this private key: X25519(private, 9) (RFC 7748 section 6.1). */
    static void publicKeyOf(PrivateKey privateKey, byte[] out, int offset) {
        if (!agree(privateKey, BASE_POINT, out, offset)) {
            // Impossible for a clamped scalar: it is a multiple of 8 below the group order times 8.
            throw new IllegalStateException("X25519 of the base point gave zero");
        }
    }

    /**
     * 32 random bytes clamped as RFC 7748 section 5 decodes a scalar (low three bits cleared, bit
     * 255 cleared, bit 254 set): the private keys {@code wg genkey} prints.
     */
    static byte[] generatePrivate(SecureRandom random) {
        byte[] scalar = new byte[KEY_LENGTH];
        random.nextBytes(scalar);
        clamp(scalar);
        return scalar;
    }

    static void clamp(byte[] scalar) {
        scalar[0] &= (byte) 248;
        scalar[31] &= 127;
        scalar[31] |= 64;
    }
}
