package dev.loomstack.wireguard;

/**
 * An initiation that {@link HandshakeResponder#openInitiation} authenticated: who sent it (the
 * initiator's static key, decrypted from the message), the index it chose, and the Noise state the
 * response continues from (package-private: only {@link PeerHandshake} reads it).
 *
 * <p>Immutable once built: {@link PeerHandshake#respond} continues from a copy of its state.
 */
public final class OpenedInitiation {
    private final WireGuardKey initiatorStatic;
    private final byte[] initiatorStaticBytes;
    private final int senderIndex;
    private final byte[] initiatorEphemeral;
    private final byte[] timestamp;
    private final SymmetricState state;

    OpenedInitiation(byte[] initiatorStatic, int senderIndex, byte[] initiatorEphemeral, byte[] timestamp,
            SymmetricState state) {
        this.initiatorStaticBytes = initiatorStatic;
        this.initiatorStatic = WireGuardKey.of(initiatorStatic);
        this.senderIndex = senderIndex;
        this.initiatorEphemeral = initiatorEphemeral;
        this.timestamp = timestamp;
        this.state = state;
    }

    public WireGuardKey initiatorStatic() {
        return initiatorStatic;
    }

    public int senderIndex() {
        return senderIndex;
    }

    byte[] initiatorStaticBytes() {
        return initiatorStaticBytes;
    }

    /** The initiator's ephemeral public key (paper section 5.4.2, msg.ephemeral). */
    byte[] initiatorEphemeral() {
        return initiatorEphemeral;
    }

    /** The decrypted TAI64N timestamp. */
    byte[] timestamp() {
        return timestamp;
    }

    /** Copies the Noise state after the initiation into {@code into}. */
    void stateInto(SymmetricState into) {
        into.copyFrom(state);
    }

    @Override
    public String toString() {
        return "OpenedInitiation[initiatorStatic=" + initiatorStatic + ", senderIndex="
                + Integer.toUnsignedString(senderIndex) + "]";
    }
}
