package dev.loomstack.wireguard;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The transport keys one handshake yielded (paper section 5.4.5), as the data path uses them: a
 * key per direction, the index the peer addresses us by and the one we address it by, who
 * initiated, when it was made, the next send counter and the receive replay window.
 */
final class Keypair implements IndexTable.Entry {
    private final Peer peer;
    final TransportKey sendKey;
    final TransportKey receiveKey;
    final int localIndex;
    final int remoteIndex;
    final boolean initiator;
    final long createdNanos;
    private final AtomicLong sendCounter = new AtomicLong();
    /** Checked and moved on the delivery thread only. */
    final ReplayWindow replay = new ReplayWindow();
    private volatile boolean wiped;

    Keypair(Peer peer, SessionKeys keys, long createdNanos) {
        this.peer = peer;
        this.sendKey = new TransportKey(keys.sendKey());
        this.receiveKey = new TransportKey(keys.receiveKey());
        this.localIndex = keys.localIndex();
        this.remoteIndex = keys.remoteIndex();
        this.initiator = keys.initiator();
        this.createdNanos = createdNanos;
    }

    @Override
    public Peer peer() {
        return peer;
    }

    /** The counter for the next message sent; unsigned, past {@link ProtocolLimits#REJECT_AFTER_MESSAGES} unusable. */
    long takeSendCounter() {
        return sendCounter.getAndIncrement();
    }

    long sendCounter() {
        return sendCounter.get();
    }

    /** Test hook: the counter the next message takes. */
    void sendCounter(long next) {
        sendCounter.set(next);
    }

    /** Past reject-after-time: neither sends nor takes anything (section 6.1). */
    boolean expired(long nowNanos) {
        return nowNanos - createdNanos >= ProtocolLimits.REJECT_AFTER_TIME;
    }

    /** Usable to send now: not wiped, not expired, counters left. */
    boolean canSend(long nowNanos) {
        return !wiped && !expired(nowNanos)
                && !ProtocolLimits.atOrPast(sendCounter.get(), ProtocolLimits.REJECT_AFTER_MESSAGES);
    }

    boolean wiped() {
        return wiped;
    }

    /** Zeroes both keys; packets in flight with this keypair then fail and are dropped. */
    void wipe() {
        wiped = true;
        sendKey.destroy();
        receiveKey.destroy();
    }

    @Override
    public String toString() {
        return "Keypair[local " + Integer.toUnsignedString(localIndex) + ", remote "
                + Integer.toUnsignedString(remoteIndex) + (initiator ? ", initiator" : ", responder") + "]";
    }
}
