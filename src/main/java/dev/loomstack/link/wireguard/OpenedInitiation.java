package dev.loomstack.link.wireguard;

/**
 * An initiation that {@link HandshakeResponder#openInitiation} authenticated: who sent it (the
 * initiator's static key, decrypted from the message), the index it chose, and the Noise state the
 * response continues from (package-private, owned by the protocol part).
 *
 * <p>CONTRACT: the protocol part adds the state it needs; the device reads only the accessors below.
 */
public final class OpenedInitiation {
    private OpenedInitiation() {}

    public WireGuardKey initiatorStatic() {
        throw new UnsupportedOperationException("protocol part");
    }

    public int senderIndex() {
        throw new UnsupportedOperationException("protocol part");
    }
}
