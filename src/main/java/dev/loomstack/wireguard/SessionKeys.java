package dev.loomstack.wireguard;

/**
 * What one completed handshake yields (WireGuard paper section 5.4.5): the transport keys of each
 * direction, the index this side chose (receivers address packets to it) and the peer's, and which
 * side initiated (the initiator may send at once; the responder waits for the first data packet
 * before using the session, paper section 5.4.6 / wireguard-go's "keypair confirmation").
 */
public record SessionKeys(byte[] sendKey, byte[] receiveKey, int localIndex, int remoteIndex, boolean initiator) {
    public SessionKeys {
        if (sendKey.length != 32 || receiveKey.length != 32) {
            throw new IllegalArgumentException("transport keys are 32 bytes");
        }
    }

    @Override
    public String toString() {
        return "SessionKeys[localIndex=" + Integer.toUnsignedString(localIndex) + ", remoteIndex="
                + Integer.toUnsignedString(remoteIndex) + ", initiator=" + initiator + "]";
    }
}
