package dev.loomstack.wireguard;

import dev.loomstack.link.NetworkDispatcher;
import dev.loomstack.link.TcpCoalescer;
import dev.loomstack.packet.Bytes;
import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.packet.PacketBufferPool;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What the link receives (wireguard-go's device/receive.go), as the {@link ReceivePath}'s handler:
 * sorts each datagram into transport data for the crypto workers or a handshake message for the
 * handshake thread, then, in arrival order on the deliverer, checks and delivers the decrypted
 * packets to the stack.
 */
final class Inbound implements ReceivePath.Handler {
    private final LinkContext ctx;
    private final HandshakeQueue handshakes;
    private final HandshakeExchange exchange;
    private final Outbound outbound;
    private final ReceivePath receivePath;
    /** The deliverer's scratch list of keypairs a confirmation dropped. */
    private final List<Keypair> dropped = new ArrayList<>(2);
    /**
     * Receive coalescing (GRO) on the deliverer, as wireguard-go does towards its TUN device: the
     * in-order TCP segments of a flow that arrive in one burst go up as one, and whatever is held
     * goes up when the burst ends, so coalescing never delays a packet past its burst.
     */
    private final TcpCoalescer coalescer;
    private final NetworkDispatcher guardedDispatcher = this::deliverGuarded;
    private volatile NetworkDispatcher dispatcher;

    Inbound(LinkContext ctx, String threads, int slots, int mtu, CryptoWorkers workers, HandshakeQueue handshakes,
            HandshakeExchange exchange, Outbound outbound) {
        this.ctx = ctx;
        this.handshakes = handshakes;
        this.exchange = exchange;
        this.outbound = outbound;
        this.coalescer = new TcpCoalescer(ctx.stats);
        this.receivePath = new ReceivePath(threads, slots, mtu, ctx.transport, workers, this);
    }

    /** On the reader: transport data goes to the workers (true), handshake messages to their thread. */
    @Override
    public boolean arrived(InboundSlot slot, int len, InetSocketAddress source) {
        byte[] m = slot.wire;
        int type = MessageLayout.type(m, len);
        switch (type) {
            case MessageLayout.TYPE_TRANSPORT -> {
                if (len < MessageLayout.MIN_TRANSPORT) {
                    break;
                }
                if (ctx.indices.get(MessageLayout.le32(m, MessageLayout.TRANSPORT_RECEIVER)) instanceof Keypair k
                        && !k.wiped()) {
                    slot.keypair = k;
                    slot.counter = MessageLayout.le64(m, MessageLayout.TRANSPORT_COUNTER);
                    slot.source = source;
                    return true;
                }
            }
            case MessageLayout.TYPE_INITIATION, MessageLayout.TYPE_RESPONSE -> {
                int expected = type == MessageLayout.TYPE_INITIATION ? PeerHandshake.INITIATION_LENGTH
                        : PeerHandshake.RESPONSE_LENGTH;
                if (len == expected) {
                    if (!handshakes.offerMessage(m, len, source)) {
                        ctx.wgStats.handshakesFailed.increment();
                    }
                    return false;
                }
            }
            case MessageLayout.TYPE_COOKIE_REPLY -> {
                if (len == PeerHandshake.COOKIE_REPLY_LENGTH) {
                    if (!handshakes.offerMessage(m, len, source)) {
                        ctx.wgStats.packetsInvalid.increment();
                    }
                    return false;
                }
            }
            default -> { }
        }
        ctx.wgStats.packetsInvalid.increment();
        return false;
    }

    /**
     * On the deliverer, in arrival order (wireguard-go's RoutineSequentialReceiver): replay
     * window, keypair confirmation, roaming, timers, then the inner packet's checks and delivery.
     */
    @Override
    public void decrypted(InboundSlot slot) {
        Keypair k = slot.keypair;
        Peer peer = k.peer();
        if (slot.state != InboundSlot.DECRYPTED || peer.removed || k.wiped()) {
            ctx.wgStats.packetsInvalid.increment();
            return;
        }
        if (!k.replay.accept(slot.counter, ProtocolLimits.REJECT_AFTER_MESSAGES)) {
            ctx.wgStats.packetsReplayed.increment();
            return;
        }
        ctx.wgStats.receivedBytes.add(slot.wireLength);
        ctx.wgStats.receivedPackets.increment();
        peer.receivedBytes.add(slot.wireLength);
        dropped.clear();
        if (peer.keypairs.confirm(k, dropped)) {
            // The initiator used the responder's new keypair: the handshake is complete here too.
            exchange.retire(dropped);
            peer.timers.handshakeComplete();
            peer.latestHandshake = ctx.wallClock.instant();
            outbound.flushStaged(peer);
        }
        // Roaming (paper section 2.1): the endpoint is where the last authenticated packet came from.
        if (peer.endpoint != slot.source) {
            peer.endpoint = slot.source;
        }
        PeerTimers t = peer.timers;
        t.anyAuthenticatedPacketTraversal();
        t.anyAuthenticatedPacketReceived();
        long now = ctx.clock.nanoTime();
        if (k.initiator && now - k.createdNanos > ProtocolLimits.REKEY_ON_RECEIVE_AGE && t.takeLastMinuteHandshake()) {
            outbound.requestInitiation(peer, false);
        }
        int n = slot.plainLength;
        if (n == 0) {
            return; // a keepalive
        }
        t.dataReceived();
        PacketBuffer p = slot.plain;
        byte[] a = p.array();
        int o = PacketBufferPool.DEFAULT_HEADROOM;
        int version = (a[o] & 0xff) >>> 4;
        int length;
        Peer owner;
        if (version == 4 && n >= 20) {
            length = Bytes.u16(a, o + 2);
            if (length < 20 || length > n) {
                ctx.wgStats.packetsInvalid.increment();
                return;
            }
            owner = ctx.allowedIps.lookupV4(a, o + 12);
        } else if (version == 6 && n >= 40) {
            length = 40 + Bytes.u16(a, o + 4);
            if (length > n) {
                ctx.wgStats.packetsInvalid.increment();
                return;
            }
            owner = ctx.allowedIps.lookupV6(a, o + 8);
        } else {
            ctx.wgStats.packetsInvalid.increment();
            return;
        }
        // Cryptokey routing inbound: the source must be one the sending peer may use.
        if (owner != peer) {
            ctx.wgStats.sourceMismatch.increment();
            return;
        }
        p.range(o, o + length);
        p.clearOffload();
        // The AEAD tag proved these are the exact bytes the peer sent: the transport checksum need
        // not be checked again (Linux's WireGuard marks decrypted packets CHECKSUM_UNNECESSARY).
        p.checksumVerified(true);
        ctx.stats.packetsRead.increment();
        ctx.stats.bytesRead.add(length);
        coalescer.add(p, guardedDispatcher);
    }

    @Override
    public void burstEnded() {
        coalescer.flush(guardedDispatcher);
    }

    @Override
    public void readFailed(IOException e) {
        ctx.stats.readErrors.increment();
        LinkContext.LOG.log(Level.WARNING, () -> ctx.name + ": receive failed: " + e);
    }

    /** The one place packets go up to the stack (on the deliverer): a failure above never stops the link. */
    private void deliverGuarded(PacketBuffer p) {
        try {
            dispatcher.deliverNetworkPacket(p);
        } catch (RuntimeException e) {
            ctx.stats.readErrors.increment();
            LinkContext.LOG.log(Level.ERROR, "dispatching a packet from " + ctx.name + " failed", e);
        }
    }

    /** True once the link has been started (a dispatcher given). */
    boolean started() {
        return dispatcher != null;
    }

    /** Where decrypted packets go from now on; before {@link #start}. */
    void deliverTo(NetworkDispatcher d) {
        dispatcher = Objects.requireNonNull(d);
    }

    Wakeup decryptedWakeup() {
        return receivePath.decryptedWakeup();
    }

    void start() {
        receivePath.start();
    }

    Thread reader() {
        return receivePath.reader();
    }

    Thread deliverer() {
        return receivePath.deliverer();
    }

    void close() {
        receivePath.close();
    }
}
