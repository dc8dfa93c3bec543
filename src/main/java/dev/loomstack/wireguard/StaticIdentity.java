package dev.loomstack.wireguard;

import java.security.PrivateKey;
import java.security.SecureRandom;
import java.util.Arrays;

/**
 * This node's static Curve25519 key pair (Noise's {@code s}), computed with the JDK's X25519.
 *
 * <p>{@link #of} takes any 32 bytes (clamped as RFC 7748
 * section 5 says, as {@code wg pubkey} does); {@link #generate} draws a clamped key from a
 * {@link java.security.SecureRandom}.
 *
 * <p>Immutable and thread-safe.
 */
public final class StaticIdentity {
    /** One generator for every random draw of the protocol (keys, ephemerals, cookie secrets and nonces). */
    static final SecureRandom RANDOM = new SecureRandom();

    private final WireGuardKey privateKey;
    private final WireGuardKey publicKey;
    private final byte[] publicBytes;
    private final PrivateKey jdkPrivateKey;

    private StaticIdentity(byte[] privateBytes) {
        this.privateKey = WireGuardKey.of(privateBytes);
        this.jdkPrivateKey = X25519.privateKey(privateBytes);
        this.publicBytes = new byte[X25519.KEY_LENGTH];
        X25519.publicKeyOf(jdkPrivateKey, publicBytes, 0);
        this.publicKey = WireGuardKey.of(publicBytes);
    }

    /** The identity of this private key; its public key is X25519(private, 9). */
    public static StaticIdentity of(WireGuardKey privateKey) {
        byte[] bytes = privateKey.bytes();
        try {
            return new StaticIdentity(bytes);
        } finally {
            Arrays.fill(bytes, (byte) 0);
        }
    }

    /** A fresh random identity (what {@code wg genkey} does). */
    public static StaticIdentity generate() {
        byte[] bytes = X25519.generatePrivate(RANDOM);
        try {
            return new StaticIdentity(bytes);
        } finally {
            Arrays.fill(bytes, (byte) 0);
        }
    }

    public WireGuardKey publicKey() {
        return publicKey;
    }

    /** The private key as given to {@link #of} (X25519 clamps it when used), or as generated (clamped). */
    public WireGuardKey privateKey() {
        return privateKey;
    }

    /** The public key's bytes, not copied: callers must not change them. */
    byte[] publicBytes() {
        return publicBytes;
    }

    /** DH(this private key, peer) into {@code out[offset..+32)}; false if the result is zero (peer of small order). */
    boolean agree(byte[] peer, int peerOffset, byte[] out, int offset) {
        return X25519.agree(jdkPrivateKey, peer, peerOffset, out, offset);
    }

    /** Without the private key. */
    @Override
    public String toString() {
        return "StaticIdentity[publicKey=" + publicKey + "]";
    }
}
