package dev.loomstack.wireguard;

import dev.loomstack.packet.PacketBuffer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;

/**
 * What the link sends (wireguard-go's device/send.go): routes each packet from the stack to its
 * peer by destination (cryptokey routing), stages it while that peer has no session, hands it to
 * the {@link SendPath} to be encrypted and written, keeps the initiator's keys fresh, sends
 * keepalives and asks the handshake thread for initiations.
 */
final class Outbound {
    private final LinkContext ctx;
    private final int mtu;
    private final SendPath sendPath;
    private final HandshakeQueue handshakes;

    Outbound(LinkContext ctx, String threads, int slots, int mtu, CryptoWorkers workers, HandshakeQueue handshakes) {
        this.ctx = ctx;
        this.mtu = mtu;
        this.handshakes = handshakes;
        this.sendPath = new SendPath(threads, slots, mtu, workers, this::transmit);
    }

    /** The body of {@link WireGuardLink#writePacket}: routes {@code packet} to its peer and sends it. */
    boolean write(PacketBuffer packet) {
        int len = packet.length();
        if (ctx.closed || len > mtu || packet.segmentSize() > 0 || packet.checksumPartial()) {
            ctx.stats.dropped.increment();
            packet.release();
            return false;
        }
        byte[] a = packet.array();
        int o = packet.start();
        Peer peer;
        int version = len > 0 ? (a[o] & 0xff) >>> 4 : 0;
        if (version == 4 && len >= 20) {
            peer = ctx.allowedIps.lookupV4(a, o + 16);
        } else if (version == 6 && len >= 40) {
            peer = ctx.allowedIps.lookupV6(a, o + 24);
        } else {
            ctx.wgStats.packetsInvalid.increment();
            packet.release();
            return false;
        }
        if (peer == null) {
            ctx.wgStats.noPeer.increment();
            packet.release();
            return false;
        }
        return send(peer, packet);
    }

    /** Sends at once when a session exists and nothing is staged before; else stages and flushes. */
    private boolean send(Peer peer, PacketBuffer packet) {
        if (peer.staged.size() == 0) {
            long now = ctx.clock.nanoTime();
            Keypair k = peer.sendingKeypair(now);
            if (k != null) {
                long counter = k.takeSendCounter();
                if (!ProtocolLimits.atOrPast(counter, ProtocolLimits.REJECT_AFTER_MESSAGES)) {
                    if (!sendPath.enqueue(peer, k, counter, packet, true)) {
                        ctx.stats.dropped.increment();
                        packet.release();
                        return false;
                    }
                    keepKeyFreshSending(peer, k, counter, now);
                    return true;
                }
            }
        }
        stage(peer, packet);
        flushStaged(peer);
        return true;
    }

    /** Holds a packet for the peer's session; a full queue drops its oldest (as wireguard-go does). */
    private void stage(Peer peer, PacketBuffer packet) {
        while (!peer.staged.offer(packet)) {
            PacketBuffer oldest = peer.staged.poll();
            if (oldest != null) {
                ctx.wgStats.sendDropped.increment();
                oldest.release();
            }
        }
        if (peer.removed) {
            dropStaged(peer);
        }
    }

    /**
     * Moves staged packets to the send ring while a session exists (wireguard-go's
     * SendStagedPackets); without one, asks for a handshake. Whoever stages calls this after, and
     * so does whoever makes a session usable: no packet is left behind.
     */
    void flushStaged(Peer peer) {
        peer.flushing.lock();
        try {
            while (peer.staged.size() > 0 && !peer.removed) {
                long now = ctx.clock.nanoTime();
                Keypair k = peer.sendingKeypair(now);
                if (k == null) {
                    requestInitiation(peer, false);
                    return;
                }
                PacketBuffer p = peer.staged.poll();
                if (p == null) {
                    return;
                }
                long counter = k.takeSendCounter();
                if (ProtocolLimits.atOrPast(counter, ProtocolLimits.REJECT_AFTER_MESSAGES)) {
                    // Exhausted between the check and the take: back in line, and a new session.
                    stage(peer, p);
                    requestInitiation(peer, false);
                    return;
                }
                if (!sendPath.enqueue(peer, k, counter, p, true)) {
                    ctx.stats.dropped.increment();
                    p.release();
                    return;
                }
                keepKeyFreshSending(peer, k, counter, now);
            }
        } finally {
            peer.flushing.unlock();
        }
    }

    /**
     * The initiator starts a new handshake before its keypair gets old: past REKEY_AFTER_MESSAGES
     * messages or REKEY_AFTER_TIME (wireguard-go's keepKeyFreshSending). Only the initiator, so the
     * two sides do not both rekey at once.
     */
    private void keepKeyFreshSending(Peer peer, Keypair k, long counter, long now) {
        if (k.initiator && (Long.compareUnsigned(counter, ProtocolLimits.REKEY_AFTER_MESSAGES) > 0
                || now - k.createdNanos > ProtocolLimits.REKEY_AFTER_TIME)) {
            requestInitiation(peer, false);
        }
    }

    /** On the sender: writes one encrypted slot to the peer's endpoint. */
    private void transmit(OutboundSlot slot) {
        Peer peer = slot.peer;
        if (slot.state != OutboundSlot.ENCRYPTED || peer.removed) {
            ctx.wgStats.sendDropped.increment();
            return;
        }
        InetSocketAddress to = peer.endpoint;
        if (to == null) {
            ctx.wgStats.sendDropped.increment();
            return;
        }
        // Timers first: an answer to this packet may be handled before send() returns, and the
        // passive keepalive it arms must not be cancelled by this packet's own "sent" event.
        PeerTimers t = peer.timers;
        t.anyAuthenticatedPacketTraversal();
        t.anyAuthenticatedPacketSent();
        if (slot.innerLength > 0) {
            t.dataSent();
        }
        // Counted before the send too (taken back if it fails): whoever sees the packet arrive
        // sees it counted.
        count(peer, slot, 1);
        ByteBuffer b = slot.wireBuffer;
        b.clear();
        b.limit(slot.wireLength);
        try {
            ctx.transport.send(b, to);
        } catch (IOException e) {
            count(peer, slot, -1);
            ctx.stats.writeErrors.increment();
        }
    }

    private void count(Peer peer, OutboundSlot slot, int sign) {
        ctx.wgStats.sentBytes.add(sign * slot.wireLength);
        ctx.wgStats.sentPackets.add(sign);
        peer.sentBytes.add(sign * slot.wireLength);
        if (slot.innerLength == 0) {
            ctx.wgStats.keepalivesSent.add(sign);
        } else {
            ctx.stats.packetsWritten.add(sign);
            ctx.stats.bytesWritten.add(sign * slot.innerLength);
        }
    }

    /** Asks the handshake thread for an initiation to {@code peer}. */
    void requestInitiation(Peer peer, boolean retry) {
        if (peer.removed || ctx.closed) {
            return;
        }
        // Cheap guard before the queue: the handshake thread enforces the same limit.
        if (!retry && ctx.clock.nanoTime() - peer.lastSentHandshakeNanos < ProtocolLimits.REKEY_TIMEOUT) {
            return;
        }
        handshakes.requestInitiation(peer, retry);
    }

    /** An empty transport message, unless data waits to go anyway (wireguard-go's SendKeepalive). */
    void sendKeepalive(Peer peer) {
        if (peer.removed || ctx.closed) {
            return;
        }
        if (peer.staged.size() > 0) {
            flushStaged(peer);
            return;
        }
        Keypair k = peer.sendingKeypair(ctx.clock.nanoTime());
        if (k == null) {
            requestInitiation(peer, false);
            return;
        }
        long counter = k.takeSendCounter();
        if (ProtocolLimits.atOrPast(counter, ProtocolLimits.REJECT_AFTER_MESSAGES)) {
            requestInitiation(peer, false);
            return;
        }
        // Never waits: a full ring means traffic flows, and that is keepalive enough.
        sendPath.enqueue(peer, k, counter, null, false);
    }

    /** Drops and counts whatever is staged for the peer. */
    void dropStaged(Peer peer) {
        PacketBuffer p;
        while ((p = peer.staged.poll()) != null) {
            ctx.wgStats.sendDropped.increment();
            p.release();
        }
    }

    Wakeup encryptedWakeup() {
        return sendPath.encryptedWakeup();
    }

    void start() {
        sendPath.start();
    }

    Thread sender() {
        return sendPath.sender();
    }

    void close() {
        sendPath.close();
    }
}
