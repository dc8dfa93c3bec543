package dev.loomstack.wireguard;

/**
 * The index of an initiation this node sent (or of a response it is writing), until the handshake
 * yields a keypair that takes the index over. Compared by identity: each initiation is its own entry.
 */
final class PendingHandshake implements IndexTable.Entry {
    private final Peer peer;

    PendingHandshake(Peer peer) {
        this.peer = peer;
    }

    @Override
    public Peer peer() {
        return peer;
    }
}
