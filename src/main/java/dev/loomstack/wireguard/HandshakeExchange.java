package dev.loomstack.wireguard;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;

/**
 * The handshakes, on the handshake thread (wireguard-go's RoutineHandshake and the handshake half
 * of device/send.go): checks the MACs of received initiations, responses and cookie replies,
 * answers with cookies under load (section 5.4.7), installs the keypairs a handshake derives, and
 * writes and sends this node's initiations. It also owns the keys' end: retiring keypairs and
 * forgetting initiations frees their indices.
 */
final class HandshakeExchange {
    private final LinkContext ctx;
    private final HandshakeResponder responder;
    /** Handshake thread only. */
    private final HandshakeRateLimiter rateLimiter;
    private final HandshakeQueue handshakes;
    private final Outbound outbound;

    HandshakeExchange(LinkContext ctx, StaticIdentity identity, HandshakeQueue handshakes, Outbound outbound) {
        this.ctx = ctx;
        this.responder = new HandshakeResponder(identity, ctx.clock);
        this.rateLimiter = new HandshakeRateLimiter(ctx.clock);
        this.handshakes = handshakes;
        this.outbound = outbound;
    }

    /** A received initiation, response or cookie reply, its length already checked. */
    void handshakeMessage(byte[] m, int len, InetSocketAddress source) {
        int type = m[0];
        if (type == MessageLayout.TYPE_COOKIE_REPLY) {
            cookieReply(m, len);
            return;
        }
        if (!responder.mac1Valid(m, len)) {
            ctx.wgStats.handshakesFailed.increment();
            return;
        }
        // Under load, a message without a valid mac2 (proof the source address is real) costs us
        // no Diffie-Hellman: it gets a cookie reply instead (section 5.4.7).
        if (handshakes.underLoad() && !responder.mac2Valid(m, len, source)) {
            byte[] reply = new byte[PeerHandshake.COOKIE_REPLY_LENGTH];
            int n = responder.writeCookieReply(m, len, source, reply);
            ctx.wgStats.cookieRepliesSent.increment();
            if (!sendHandshakeMessage(reply, n, source)) {
                ctx.wgStats.cookieRepliesSent.decrement();
            }
            return;
        }
        if (handshakes.underLoad() && !rateLimiter.allow(source.getAddress())) {
            ctx.wgStats.handshakesFailed.increment();
            return;
        }
        if (type == MessageLayout.TYPE_INITIATION) {
            initiation(m, len, source);
        } else {
            response(m, len, source);
        }
    }

    /** Responder: an initiation for one of our peers gets a response and a new (next) keypair. */
    private void initiation(byte[] m, int len, InetSocketAddress source) {
        Optional<OpenedInitiation> opened = responder.openInitiation(m, len);
        Peer peer = opened.map(o -> ctx.peers.get(o.initiatorStatic())).orElse(null);
        if (peer == null || peer.removed) {
            ctx.wgStats.handshakesFailed.increment();
            return;
        }
        PendingHandshake placeholder = new PendingHandshake(peer);
        int index = ctx.indices.add(placeholder);
        byte[] response = new byte[PeerHandshake.RESPONSE_LENGTH];
        Optional<SessionKeys> keys = peer.handshake.respond(opened.get(), response, index);
        if (keys.isEmpty()) {
            ctx.indices.remove(index, placeholder);
            ctx.wgStats.handshakesFailed.increment();
            return;
        }
        long now = ctx.clock.nanoTime();
        Keypair k = new Keypair(peer, keys.get(), now);
        synchronized (peer) {
            if (peer.removed || !ctx.indices.replace(index, placeholder, k)) {
                ctx.indices.remove(index, placeholder);
                k.wipe();
                return;
            }
            retire(peer.keypairs.install(k));
        }
        ctx.wgStats.handshakesReceived.increment();
        peer.endpoint = source;
        PeerTimers t = peer.timers;
        t.anyAuthenticatedPacketTraversal();
        t.anyAuthenticatedPacketReceived();
        peer.lastSentHandshakeNanos = now;
        // Timers before the send, as wireguard-go orders them: the initiator's first data may
        // arrive at once, and its passive keepalive must not be cancelled by this send.
        t.sessionDerived();
        t.anyAuthenticatedPacketTraversal();
        t.anyAuthenticatedPacketSent();
        peer.receivedBytes.add(len);
        countHandshakeSent(peer, response.length, 1);
        if (!sendHandshakeMessage(response, response.length, source)) {
            countHandshakeSent(peer, response.length, -1);
        }
    }

    /** Initiator: the response to our latest initiation makes the new current keypair. */
    private void response(byte[] m, int len, InetSocketAddress source) {
        int receiver = MessageLayout.le32(m, MessageLayout.RESPONSE_RECEIVER);
        if (!(ctx.indices.get(receiver) instanceof PendingHandshake pending)) {
            ctx.wgStats.handshakesFailed.increment();
            return;
        }
        Peer peer = pending.peer();
        Optional<SessionKeys> keys;
        synchronized (peer) {
            if (peer.removed || peer.handshakeEntry != pending) {
                ctx.wgStats.handshakesFailed.increment();
                return;
            }
            keys = peer.handshake.consumeResponse(m, len);
            if (keys.isEmpty()) {
                ctx.wgStats.handshakesFailed.increment();
                return;
            }
            Keypair k = new Keypair(peer, keys.get(), ctx.clock.nanoTime());
            if (!ctx.indices.replace(receiver, pending, k)) {
                k.wipe();
                ctx.wgStats.handshakesFailed.increment();
                return;
            }
            peer.handshakeEntry = null;
            retire(peer.keypairs.install(k));
        }
        ctx.wgStats.handshakesReceived.increment();
        peer.receivedBytes.add(len);
        peer.endpoint = source;
        peer.latestHandshake = ctx.wallClock.instant();
        PeerTimers t = peer.timers;
        t.anyAuthenticatedPacketTraversal();
        t.anyAuthenticatedPacketReceived();
        t.handshakeComplete();
        t.sessionDerived();
        // The responder may not send before it hears from us under the new keys: staged data
        // confirms the session, or else a keepalive does (wireguard-go sends one here).
        if (peer.staged.size() > 0) {
            outbound.flushStaged(peer);
        } else {
            outbound.sendKeepalive(peer);
        }
    }

    private void cookieReply(byte[] m, int len) {
        IndexTable.Entry e = ctx.indices.get(MessageLayout.le32(m, MessageLayout.COOKIE_RECEIVER));
        if (e != null && !e.peer().removed && e.peer().handshake.consumeCookieReply(m, len)) {
            ctx.wgStats.cookieRepliesReceived.increment();
        } else {
            ctx.wgStats.packetsInvalid.increment();
        }
    }

    /** Writes and sends an initiation (wireguard-go's SendHandshakeInitiation), at most one per REKEY_TIMEOUT. */
    void sendInitiation(Peer peer, boolean retry) {
        if (peer.removed || ctx.closed) {
            return;
        }
        if (!retry) {
            peer.timers.resetAttempts();
        }
        long now = ctx.clock.nanoTime();
        if (now - peer.lastSentHandshakeNanos < ProtocolLimits.REKEY_TIMEOUT) {
            return;
        }
        peer.lastSentHandshakeNanos = now;
        InetSocketAddress to = peer.endpoint;
        PeerTimers t = peer.timers;
        if (to != null) {
            PendingHandshake pending = new PendingHandshake(peer);
            byte[] out = new byte[PeerHandshake.INITIATION_LENGTH];
            synchronized (peer) {
                if (peer.removed) {
                    return;
                }
                forgetHandshake(peer);
                int index = ctx.indices.add(pending);
                peer.handshakeIndex = index;
                peer.handshakeEntry = pending;
                peer.handshake.writeInitiation(out, index);
            }
            t.anyAuthenticatedPacketTraversal();
            t.anyAuthenticatedPacketSent();
            countHandshakeSent(peer, out.length, 1);
            if (!sendHandshakeMessage(out, out.length, to)) {
                countHandshakeSent(peer, out.length, -1);
            }
        }
        // Armed even without an endpoint: the attempt is given up after REKEY_ATTEMPT_TIME and
        // what was staged for it is dropped.
        t.handshakeInitiated();
    }

    /** Counted before the send (taken back if it fails), so a peer's answer never overtakes the count. */
    private void countHandshakeSent(Peer peer, int length, int sign) {
        ctx.wgStats.handshakesSent.add(sign);
        peer.sentBytes.add(sign * length);
    }

    private boolean sendHandshakeMessage(byte[] m, int len, InetSocketAddress to) {
        try {
            ctx.transport.send(ByteBuffer.wrap(m, 0, len), to);
            return true;
        } catch (IOException e) {
            ctx.stats.writeErrors.increment();
            LinkContext.LOG.log(Level.DEBUG,
                    () -> ctx.name + ": sending a handshake message to " + to + " failed: " + e);
            return false;
        }
    }

    /** Frees the index of the peer's initiation in flight, if any. */
    void forgetHandshake(Peer peer) {
        synchronized (peer) {
            if (peer.handshakeEntry != null) {
                ctx.indices.remove(peer.handshakeIndex, peer.handshakeEntry);
                peer.handshakeEntry = null;
            }
        }
    }

    /** Unindexes and zeroes keypairs no longer kept. */
    void retire(List<Keypair> keypairs) {
        for (Keypair k : keypairs) {
            ctx.indices.remove(k.localIndex, k);
            k.wipe();
        }
    }

    /** Nothing derived for 3 × REJECT_AFTER_TIME: every key of the peer is zeroed and forgotten. */
    void zeroKeyMaterial(Peer peer) {
        retire(peer.keypairs.clear());
        forgetHandshake(peer);
    }
}
