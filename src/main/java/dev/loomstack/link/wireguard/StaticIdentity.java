package dev.loomstack.link.wireguard;

/**
 * This node's static Curve25519 key pair (Noise's {@code s}), computed with the JDK's X25519.
 *
 * <p>CONTRACT (implemented by the protocol part): {@link #of} takes any 32 bytes (clamped as RFC 7748
 * section 5 says, as {@code wg pubkey} does); {@link #generate} draws a clamped key from a
 * {@link java.security.SecureRandom}.
 */
public final class StaticIdentity {
    private StaticIdentity() {}

    /** The identity of this private key; its public key is X25519(private, 9). */
    public static StaticIdentity of(WireGuardKey privateKey) {
        throw new UnsupportedOperationException("protocol part");
    }

    /** A fresh random identity (what {@code wg genkey} does). */
    public static StaticIdentity generate() {
        throw new UnsupportedOperationException("protocol part");
    }

    public WireGuardKey publicKey() {
        throw new UnsupportedOperationException("protocol part");
    }

    public WireGuardKey privateKey() {
        throw new UnsupportedOperationException("protocol part");
    }
}
