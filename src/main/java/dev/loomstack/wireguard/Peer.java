package dev.loomstack.wireguard;

import dev.loomstack.packet.ConcurrentBoundedQueue;
import dev.loomstack.packet.PacketBuffer;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One configured peer (wireguard-go's device/peer.go): its handshake, keypairs, timers, where to
 * send to, the packets staged while no session exists, and its transfer counters.
 */
final class Peer {
    final WireGuardKey publicKey;
    final PeerHandshake handshake;
    final Keypairs keypairs = new Keypairs();
    final PeerTimers timers;
    /** Packets waiting for a session, oldest first; bounded ({@link ProtocolLimits#STAGED_PER_PEER}). */
    final ConcurrentBoundedQueue<PacketBuffer> staged = new ConcurrentBoundedQueue<>(ProtocolLimits.STAGED_PER_PEER);
    /** Held while staged packets move to the send ring, so they leave in order. */
    final ReentrantLock flushing = new ReentrantLock();
    /** Set while an initiation request waits for the handshake thread (one at a time per peer). */
    final AtomicBoolean initiationQueued = new AtomicBoolean();
    volatile boolean initiationRetry;
    /** Bytes of authenticated messages from and to the peer, handshakes included (wg show's transfer line). */
    final LongAdder receivedBytes = new LongAdder();
    final LongAdder sentBytes = new LongAdder();

    volatile WireGuardPeerConfig config;
    /** Where transport and handshake messages go: the configured endpoint, then the source of the last authenticated packet. */
    volatile InetSocketAddress endpoint;
    volatile Instant latestHandshake;
    /** Monotonic time of the last initiation or response sent (rate limit: one per REKEY_TIMEOUT). */
    volatile long lastSentHandshakeNanos;
    /** The index of the initiation in flight and its table entry; handshake thread only. */
    int handshakeIndex;
    IndexTable.Entry handshakeEntry;
    volatile boolean removed;

    Peer(WireGuardPeerConfig config, PeerHandshake handshake, java.util.function.Function<Peer, PeerTimers> timers,
            long nowNanos) {
        this.publicKey = config.publicKey();
        this.handshake = handshake;
        this.config = config;
        this.endpoint = config.endpoint().orElse(null);
        this.timers = timers.apply(this);
        this.lastSentHandshakeNanos = nowNanos - ProtocolLimits.REKEY_TIMEOUT - 1;
    }

    Optional<InetSocketAddress> endpoint() {
        return Optional.ofNullable(endpoint);
    }

    /** The keypair to send with now, or null when there is no usable session. */
    Keypair sendingKeypair(long nowNanos) {
        Keypair k = keypairs.current();
        return k != null && k.canSend(nowNanos) ? k : null;
    }

    @Override
    public String toString() {
        return "Peer[" + publicKey + "]";
    }
}
