package dev.loomstack.wireguard;

import dev.loomstack.link.LinkEndpoint;
import dev.loomstack.link.LinkStats;
import dev.loomstack.link.NetworkDispatcher;
import dev.loomstack.link.TcpCoalescer;
import dev.loomstack.packet.Bytes;
import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.stack.Clock;
import dev.loomstack.stack.HashedTimerWheel;
import dev.loomstack.stack.TimerService;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The WireGuard link: speaks WireGuard over a UDP socket and carries the decrypted IP packets to
 * and from the stack, routing by the peers' allowed IPs (cryptokey routing).
 *
 * <h2>Threads</h2>
 * Platform threads only: a reader and a deliverer ({@link ReceivePath}), a sender
 * ({@link SendPath}), crypto workers ({@link CryptoWorkers}: one per core, at least two), a
 * handshake thread ({@link HandshakeQueue}) and, unless one is given, a timer thread. Packets keep
 * their order per direction (one ring each, in arrival or claim order); the stack's dispatcher is
 * called by the deliverer alone. {@link #writePacket} may be called from any thread; it waits only
 * when the send ring is full.
 *
 * <h2>Bounds</h2>
 * Send and receive rings of {@link #RING_SLOTS} slots each (fewer for very large MTUs), 128 staged
 * packets per peer, 1024 queued handshake messages, an 8128-counter replay window per keypair,
 * at most 2^20 indices.
 */
public final class WireGuardLink implements LinkEndpoint {
    /** Slots in each ring at the default MTU. */
    static final int RING_SLOTS = 1024;
    /** Memory each ring may take: the slot count shrinks for large MTUs. */
    private static final long RING_BYTES = 8L << 20;
    private static final System.Logger LOG = System.getLogger(WireGuardLink.class.getName());

    private final WireGuardSettings settings;
    private final int mtu;
    private final String name;
    private final UdpTransport transport;
    private final TimerService timers;
    private final HashedTimerWheel ownTimers;
    private final Clock clock;
    private final java.time.Clock wallClock;
    private final StaticIdentity identity;
    private final HandshakeResponder responder;
    private final IndexTable indices = new IndexTable();
    /** Handshake thread only. */
    private final HandshakeRateLimiter rateLimiter;
    private final AllowedIps<Peer> allowedIps = new AllowedIps<>();
    private final LinkStats stats = new LinkStats();
    private final WireGuardStats wgStats = new WireGuardStats();
    private final CryptoWorkers workers;
    private final ReceivePath receivePath;
    private final SendPath sendPath;
    private final HandshakeQueue handshakes;
    private final Object configLock = new Object();
    /** Peers by public key, in configuration order; replaced whole under {@link #configLock}. */
    private volatile Map<WireGuardKey, Peer> peers = Map.of();
    private volatile List<Peer> peerOrder = List.of();
    /** The deliverer's scratch list of keypairs a confirmation dropped. */
    private final List<Keypair> dropped = new ArrayList<>(2);
    /**
     * Receive coalescing (GRO) on the deliverer, as wireguard-go does towards its TUN device: the
     * in-order TCP segments of a flow that arrive in one burst go up as one, and whatever is held
     * goes up when the burst ends, so coalescing never delays a packet past its burst.
     */
    private final TcpCoalescer coalescer = new TcpCoalescer(stats);
    private final NetworkDispatcher guardedDispatcher = this::deliverGuarded;
    private volatile NetworkDispatcher dispatcher;
    private volatile boolean closed;

    private WireGuardLink(WireGuardSettings settings, UdpTransport transport, TimerService timers,
            HashedTimerWheel ownTimers, java.time.Clock wallClock, int cryptoWorkers) {
        this.settings = settings;
        this.mtu = settings.mtu();
        this.transport = transport;
        this.timers = timers;
        this.ownTimers = ownTimers;
        this.clock = timers.clock();
        this.wallClock = wallClock;
        this.name = "wireguard:" + transport.localPort();
        this.identity = StaticIdentity.of(settings.privateKey());
        this.responder = new HandshakeResponder(identity, clock);
        this.rateLimiter = new HandshakeRateLimiter(clock);
        String threads = "wireguard-" + transport.localPort();
        int slots = (int) Math.max(64, Math.min(RING_SLOTS, RING_BYTES / (2L * MessageLayout.transportCapacity(mtu))));
        this.workers = new CryptoWorkers(threads, cryptoWorkers, Integer.highestOneBit(slots - 1) << 1, clock, mtu);
        this.receivePath = new ReceivePath(threads, slots, mtu, transport, workers, new ReceivePath.Handler() {
            @Override
            public boolean arrived(InboundSlot slot, int length, InetSocketAddress source) {
                return datagramArrived(slot, length, source);
            }

            @Override
            public void decrypted(InboundSlot slot) {
                transportDecrypted(slot);
            }

            @Override
            public void burstEnded() {
                coalescer.flush(guardedDispatcher);
            }

            @Override
            public void readFailed(IOException e) {
                stats.readErrors.increment();
                LOG.log(Level.WARNING, () -> name + ": receive failed: " + e);
            }
        });
        this.sendPath = new SendPath(threads, slots, mtu, workers, this::transmit);
        this.handshakes = new HandshakeQueue(threads, new HandshakeQueue.Handler() {
            @Override
            public void message(byte[] message, int length, InetSocketAddress source) {
                handshakeMessage(message, length, source);
            }

            @Override
            public void initiate(Peer peer, boolean retry) {
                sendInitiation(peer, retry);
            }
        });
    }

    /** Binds the UDP socket of {@code settings}; throws {@link dev.loomstack.link.LinkUnavailableException} if it cannot. */
    public static WireGuardLink open(WireGuardSettings settings, PacketBufferPool pool) {
        Objects.requireNonNull(pool, "pool");
        UdpTransport transport = DatagramChannelTransport.bind(settings.listen());
        HashedTimerWheel wheel = new HashedTimerWheel("wireguard-" + transport.localPort() + "-timers").start();
        try {
            return new WireGuardLink(settings, transport, wheel, wheel, java.time.Clock.systemUTC(),
                    CryptoWorkers.defaultCount());
        } catch (RuntimeException e) {
            wheel.close();
            transport.close();
            throw e;
        }
    }

    /**
     * A link over any transport, with the timers and wall clock given (tests: an in-memory network
     * and a manual clock). The link closes the transport, not the timers.
     */
    static WireGuardLink open(WireGuardSettings settings, UdpTransport transport, TimerService timers,
            java.time.Clock wallClock) {
        return new WireGuardLink(settings, transport, timers, null, wallClock, CryptoWorkers.defaultCount());
    }

    // ---- configuration ------------------------------------------------------------------------

    /**
     * Replaces the peer set: peers not named any more are removed (their sessions wiped), new ones
     * added, and a peer named before keeps its sessions, with its pre-shared key, endpoint,
     * allowed IPs and keepalive updated in place. Throws IllegalArgumentException for two peers with
     * the same public key or a peer whose key is this link's own.
     *
     * <p>An endpoint is applied when it differs from the one configured before: a peer that roamed
     * keeps its roamed endpoint through updates that repeat the old configuration.
     */
    public void configure(List<WireGuardPeerConfig> configs) {
        Set<WireGuardKey> seen = new HashSet<>();
        WireGuardKey self = identity.publicKey();
        for (WireGuardPeerConfig c : configs) {
            if (c.publicKey().equals(self)) {
                throw new IllegalArgumentException("peer " + c.publicKey() + " is this link's own public key");
            }
            if (!seen.add(c.publicKey())) {
                throw new IllegalArgumentException("peer " + c.publicKey() + " is named twice");
            }
        }
        List<Peer> added = new ArrayList<>();
        synchronized (configLock) {
            if (closed) {
                return;
            }
            Map<WireGuardKey, Peer> before = peers;
            for (Peer p : before.values()) {
                if (!seen.contains(p.publicKey)) {
                    remove(p);
                }
            }
            Map<WireGuardKey, Peer> next = new HashMap<>();
            List<Peer> order = new ArrayList<>();
            List<Map.Entry<Peer, List<dev.loomstack.packet.IpPrefix>>> routes = new ArrayList<>();
            for (WireGuardPeerConfig c : configs) {
                Peer p = before.get(c.publicKey());
                if (p == null) {
                    p = new Peer(c, new PeerHandshake(identity, c.publicKey(), c.presharedKey().orElse(null), wallClock,
                            clock), peer -> new PeerTimers(peer, timers, timerActions), clock.nanoTime());
                    p.timers.persistentKeepalive(c.persistentKeepalive().toNanos());
                    if (!c.persistentKeepalive().isZero()) {
                        added.add(p);
                    }
                } else {
                    if (update(p, c)) {
                        added.add(p);
                    }
                }
                routes.add(Map.entry(p, c.allowedIps()));
                next.put(c.publicKey(), p);
                order.add(p);
            }
            allowedIps.replaceAll(routes);
            peers = Map.copyOf(next);
            peerOrder = List.copyOf(order);
        }
        // A persistent keepalive just switched on is sent now (wg does), which starts a handshake.
        for (Peer p : added) {
            sendKeepalive(p);
        }
    }

    /** Applies {@code c} to a known peer; true when its persistent keepalive was just switched on. */
    private boolean update(Peer p, WireGuardPeerConfig c) {
        WireGuardPeerConfig old = p.config;
        if (!old.presharedKey().equals(c.presharedKey())) {
            p.handshake.presharedKey(c.presharedKey().orElse(null));
        }
        if (c.endpoint().isPresent() && !c.endpoint().equals(old.endpoint())) {
            p.endpoint = c.endpoint().get();
        }
        p.timers.persistentKeepalive(c.persistentKeepalive().toNanos());
        p.config = c;
        return old.persistentKeepalive().isZero() && !c.persistentKeepalive().isZero();
    }

    /** Removes a peer for good: no keys, no indices, no routes, nothing staged. */
    private void remove(Peer p) {
        p.removed = true;
        p.timers.stop();
        allowedIps.removePeer(p);
        retire(p.keypairs.clear());
        forgetHandshake(p);
        dropStaged(p);
    }

    // ---- LinkEndpoint ----------------------------------------------------------------------------

    @Override
    public int mtu() {
        return mtu;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public LinkStats stats() {
        return stats;
    }

    @Override
    public synchronized void start(NetworkDispatcher d) {
        if (dispatcher != null) {
            throw new IllegalStateException(name + " already started");
        }
        if (closed) {
            throw new IllegalStateException(name + " is closed");
        }
        dispatcher = Objects.requireNonNull(d);
        workers.start(receivePath.decryptedWakeup(), sendPath.encryptedWakeup());
        sendPath.start();
        receivePath.start();
        handshakes.start();
    }

    /**
     * Encrypts {@code packet} for the peer whose allowed IPs hold its destination (longest match)
     * and sends it, or stages it while that peer's handshake runs. Takes ownership. False, with the
     * packet dropped and counted, when the link is closed, the packet is malformed or too large, or
     * no peer takes its destination.
     */
    @Override
    public boolean writePacket(PacketBuffer packet) {
        int len = packet.length();
        if (closed || len > mtu || packet.segmentSize() > 0 || packet.checksumPartial()) {
            stats.dropped.increment();
            packet.release();
            return false;
        }
        byte[] a = packet.array();
        int o = packet.start();
        Peer peer;
        int version = len > 0 ? (a[o] & 0xff) >>> 4 : 0;
        if (version == 4 && len >= 20) {
            peer = allowedIps.lookupV4(a, o + 16);
        } else if (version == 6 && len >= 40) {
            peer = allowedIps.lookupV6(a, o + 24);
        } else {
            wgStats.packetsInvalid.increment();
            packet.release();
            return false;
        }
        if (peer == null) {
            wgStats.noPeer.increment();
            packet.release();
            return false;
        }
        return send(peer, packet);
    }

    // ---- sending -------------------------------------------------------------------------------

    /** Sends at once when a session exists and nothing is staged before; else stages and flushes. */
    private boolean send(Peer peer, PacketBuffer packet) {
        if (peer.staged.size() == 0) {
            long now = clock.nanoTime();
            Keypair k = peer.sendingKeypair(now);
            if (k != null) {
                long counter = k.takeSendCounter();
                if (!ProtocolLimits.atOrPast(counter, ProtocolLimits.REJECT_AFTER_MESSAGES)) {
                    if (!sendPath.enqueue(peer, k, counter, packet, true)) {
                        stats.dropped.increment();
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
                wgStats.sendDropped.increment();
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
    private void flushStaged(Peer peer) {
        peer.flushing.lock();
        try {
            while (peer.staged.size() > 0 && !peer.removed) {
                long now = clock.nanoTime();
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
                    stats.dropped.increment();
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
            wgStats.sendDropped.increment();
            return;
        }
        InetSocketAddress to = peer.endpoint;
        if (to == null) {
            wgStats.sendDropped.increment();
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
            transport.send(b, to);
        } catch (IOException e) {
            count(peer, slot, -1);
            stats.writeErrors.increment();
        }
    }

    private void count(Peer peer, OutboundSlot slot, int sign) {
        wgStats.sentBytes.add(sign * slot.wireLength);
        wgStats.sentPackets.add(sign);
        peer.sentBytes.add(sign * slot.wireLength);
        if (slot.innerLength == 0) {
            wgStats.keepalivesSent.add(sign);
        } else {
            stats.packetsWritten.add(sign);
            stats.bytesWritten.add(sign * slot.innerLength);
        }
    }

    // ---- receiving -----------------------------------------------------------------------------

    /** On the reader: transport data goes to the workers (true), handshake messages to their thread. */
    private boolean datagramArrived(InboundSlot slot, int len, InetSocketAddress source) {
        byte[] m = slot.wire;
        int type = MessageLayout.type(m, len);
        switch (type) {
            case MessageLayout.TYPE_TRANSPORT -> {
                if (len < MessageLayout.MIN_TRANSPORT) {
                    break;
                }
                if (indices.get(MessageLayout.le32(m, MessageLayout.TRANSPORT_RECEIVER)) instanceof Keypair k && !k.wiped()) {
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
                        wgStats.handshakesFailed.increment();
                    }
                    return false;
                }
            }
            case MessageLayout.TYPE_COOKIE_REPLY -> {
                if (len == PeerHandshake.COOKIE_REPLY_LENGTH) {
                    if (!handshakes.offerMessage(m, len, source)) {
                        wgStats.packetsInvalid.increment();
                    }
                    return false;
                }
            }
            default -> { }
        }
        wgStats.packetsInvalid.increment();
        return false;
    }

    /**
     * On the deliverer, in arrival order (wireguard-go's RoutineSequentialReceiver): replay
     * window, keypair confirmation, roaming, timers, then the inner packet's checks and delivery.
     */
    private void transportDecrypted(InboundSlot slot) {
        Keypair k = slot.keypair;
        Peer peer = k.peer();
        if (slot.state != InboundSlot.DECRYPTED || peer.removed || k.wiped()) {
            wgStats.packetsInvalid.increment();
            return;
        }
        if (!k.replay.accept(slot.counter, ProtocolLimits.REJECT_AFTER_MESSAGES)) {
            wgStats.packetsReplayed.increment();
            return;
        }
        wgStats.receivedBytes.add(slot.wireLength);
        wgStats.receivedPackets.increment();
        peer.receivedBytes.add(slot.wireLength);
        dropped.clear();
        if (peer.keypairs.confirm(k, dropped)) {
            // The initiator used the responder's new keypair: the handshake is complete here too.
            retire(dropped);
            peer.timers.handshakeComplete();
            peer.latestHandshake = wallClock.instant();
            flushStaged(peer);
        }
        // Roaming (paper section 2.1): the endpoint is where the last authenticated packet came from.
        if (peer.endpoint != slot.source) {
            peer.endpoint = slot.source;
        }
        PeerTimers t = peer.timers;
        t.anyAuthenticatedPacketTraversal();
        t.anyAuthenticatedPacketReceived();
        long now = clock.nanoTime();
        if (k.initiator && now - k.createdNanos > ProtocolLimits.REKEY_ON_RECEIVE_AGE && t.takeLastMinuteHandshake()) {
            requestInitiation(peer, false);
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
                wgStats.packetsInvalid.increment();
                return;
            }
            owner = allowedIps.lookupV4(a, o + 12);
        } else if (version == 6 && n >= 40) {
            length = 40 + Bytes.u16(a, o + 4);
            if (length > n) {
                wgStats.packetsInvalid.increment();
                return;
            }
            owner = allowedIps.lookupV6(a, o + 8);
        } else {
            wgStats.packetsInvalid.increment();
            return;
        }
        // Cryptokey routing inbound: the source must be one the sending peer may use.
        if (owner != peer) {
            wgStats.sourceMismatch.increment();
            return;
        }
        p.range(o, o + length);
        p.clearOffload();
        // The AEAD tag proved these are the exact bytes the peer sent: the transport checksum need
        // not be checked again (Linux's WireGuard marks decrypted packets CHECKSUM_UNNECESSARY).
        p.checksumVerified(true);
        stats.packetsRead.increment();
        stats.bytesRead.add(length);
        coalescer.add(p, guardedDispatcher);
    }

    /** The one place packets go up to the stack (on the deliverer): a failure above never stops the link. */
    private void deliverGuarded(PacketBuffer p) {
        try {
            dispatcher.deliverNetworkPacket(p);
        } catch (RuntimeException e) {
            stats.readErrors.increment();
            LOG.log(Level.ERROR, "dispatching a packet from " + name + " failed", e);
        }
    }

    // ---- handshakes (the handshake thread) -----------------------------------------------------

    private void handshakeMessage(byte[] m, int len, InetSocketAddress source) {
        int type = m[0];
        if (type == MessageLayout.TYPE_COOKIE_REPLY) {
            cookieReply(m, len);
            return;
        }
        if (!responder.mac1Valid(m, len)) {
            wgStats.handshakesFailed.increment();
            return;
        }
        // Under load, a message without a valid mac2 (proof the source address is real) costs us
        // no Diffie-Hellman: it gets a cookie reply instead (section 5.4.7).
        if (handshakes.underLoad() && !responder.mac2Valid(m, len, source)) {
            byte[] reply = new byte[PeerHandshake.COOKIE_REPLY_LENGTH];
            int n = responder.writeCookieReply(m, len, source, reply);
            wgStats.cookieRepliesSent.increment();
            if (!sendHandshakeMessage(reply, n, source)) {
                wgStats.cookieRepliesSent.decrement();
            }
            return;
        }
        if (handshakes.underLoad() && !rateLimiter.allow(source.getAddress())) {
            wgStats.handshakesFailed.increment();
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
        Peer peer = opened.map(o -> peers.get(o.initiatorStatic())).orElse(null);
        if (peer == null || peer.removed) {
            wgStats.handshakesFailed.increment();
            return;
        }
        PendingHandshake placeholder = new PendingHandshake(peer);
        int index = indices.add(placeholder);
        byte[] response = new byte[PeerHandshake.RESPONSE_LENGTH];
        Optional<SessionKeys> keys = peer.handshake.respond(opened.get(), response, index);
        if (keys.isEmpty()) {
            indices.remove(index, placeholder);
            wgStats.handshakesFailed.increment();
            return;
        }
        long now = clock.nanoTime();
        Keypair k = new Keypair(peer, keys.get(), now);
        synchronized (peer) {
            if (peer.removed || !indices.replace(index, placeholder, k)) {
                indices.remove(index, placeholder);
                k.wipe();
                return;
            }
            retire(peer.keypairs.install(k));
        }
        wgStats.handshakesReceived.increment();
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
        if (!(indices.get(receiver) instanceof PendingHandshake pending)) {
            wgStats.handshakesFailed.increment();
            return;
        }
        Peer peer = pending.peer();
        Optional<SessionKeys> keys;
        synchronized (peer) {
            if (peer.removed || peer.handshakeEntry != pending) {
                wgStats.handshakesFailed.increment();
                return;
            }
            keys = peer.handshake.consumeResponse(m, len);
            if (keys.isEmpty()) {
                wgStats.handshakesFailed.increment();
                return;
            }
            Keypair k = new Keypair(peer, keys.get(), clock.nanoTime());
            if (!indices.replace(receiver, pending, k)) {
                k.wipe();
                wgStats.handshakesFailed.increment();
                return;
            }
            peer.handshakeEntry = null;
            retire(peer.keypairs.install(k));
        }
        wgStats.handshakesReceived.increment();
        peer.receivedBytes.add(len);
        peer.endpoint = source;
        peer.latestHandshake = wallClock.instant();
        PeerTimers t = peer.timers;
        t.anyAuthenticatedPacketTraversal();
        t.anyAuthenticatedPacketReceived();
        t.handshakeComplete();
        t.sessionDerived();
        // The responder may not send before it hears from us under the new keys: staged data
        // confirms the session, or else a keepalive does (wireguard-go sends one here).
        if (peer.staged.size() > 0) {
            flushStaged(peer);
        } else {
            sendKeepalive(peer);
        }
    }

    private void cookieReply(byte[] m, int len) {
        IndexTable.Entry e = indices.get(MessageLayout.le32(m, MessageLayout.COOKIE_RECEIVER));
        if (e != null && !e.peer().removed && e.peer().handshake.consumeCookieReply(m, len)) {
            wgStats.cookieRepliesReceived.increment();
        } else {
            wgStats.packetsInvalid.increment();
        }
    }

    /** Writes and sends an initiation (wireguard-go's SendHandshakeInitiation), at most one per REKEY_TIMEOUT. */
    private void sendInitiation(Peer peer, boolean retry) {
        if (peer.removed || closed) {
            return;
        }
        if (!retry) {
            peer.timers.resetAttempts();
        }
        long now = clock.nanoTime();
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
                int index = indices.add(pending);
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
        wgStats.handshakesSent.add(sign);
        peer.sentBytes.add(sign * length);
    }

    private boolean sendHandshakeMessage(byte[] m, int len, InetSocketAddress to) {
        try {
            transport.send(ByteBuffer.wrap(m, 0, len), to);
            return true;
        } catch (IOException e) {
            stats.writeErrors.increment();
            LOG.log(Level.DEBUG, () -> name + ": sending a handshake message to " + to + " failed: " + e);
            return false;
        }
    }

    /** Frees the index of the peer's initiation in flight, if any. */
    private void forgetHandshake(Peer peer) {
        synchronized (peer) {
            if (peer.handshakeEntry != null) {
                indices.remove(peer.handshakeIndex, peer.handshakeEntry);
                peer.handshakeEntry = null;
            }
        }
    }

    /** Unindexes and zeroes keypairs no longer kept. */
    private void retire(List<Keypair> keypairs) {
        for (Keypair k : keypairs) {
            indices.remove(k.localIndex, k);
            k.wipe();
        }
    }

    private void dropStaged(Peer peer) {
        PacketBuffer p;
        while ((p = peer.staged.poll()) != null) {
            wgStats.sendDropped.increment();
            p.release();
        }
    }

    // ---- timer actions -------------------------------------------------------------------------

    /** What the peers' timers make the link do (not part of the link's public face). */
    private final PeerTimers.Actions timerActions = new PeerTimers.Actions() {
        @Override
        public void requestInitiation(Peer peer, boolean retry) {
            WireGuardLink.this.requestInitiation(peer, retry);
        }

        @Override
        public void sendKeepalive(Peer peer) {
            WireGuardLink.this.sendKeepalive(peer);
        }

        @Override
        public void handshakeGaveUp(Peer peer) {
            dropStaged(peer);
        }

        @Override
        public void zeroKeyMaterial(Peer peer) {
            WireGuardLink.this.zeroKeyMaterial(peer);
        }
    };

    private void requestInitiation(Peer peer, boolean retry) {
        if (peer.removed || closed) {
            return;
        }
        // Cheap guard before the queue: the handshake thread enforces the same limit.
        if (!retry && clock.nanoTime() - peer.lastSentHandshakeNanos < ProtocolLimits.REKEY_TIMEOUT) {
            return;
        }
        handshakes.requestInitiation(peer, retry);
    }

    /** An empty transport message, unless data waits to go anyway (wireguard-go's SendKeepalive). */
    private void sendKeepalive(Peer peer) {
        if (peer.removed || closed) {
            return;
        }
        if (peer.staged.size() > 0) {
            flushStaged(peer);
            return;
        }
        Keypair k = peer.sendingKeypair(clock.nanoTime());
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

    /** Nothing derived for 3 × REJECT_AFTER_TIME: every key of the peer is zeroed and forgotten. */
    private void zeroKeyMaterial(Peer peer) {
        retire(peer.keypairs.clear());
        forgetHandshake(peer);
    }

    // ---- what it reports ----------------------------------------------------------------------

    public WireGuardStatus status() {
        List<WireGuardStatus.Peer> out = new ArrayList<>();
        for (Peer p : peerOrder) {
            WireGuardPeerConfig c = p.config;
            out.add(new WireGuardStatus.Peer(p.publicKey, p.endpoint(), Optional.ofNullable(p.latestHandshake),
                    p.receivedBytes.sum(), p.sentBytes.sum(), allowedIps.prefixesOf(p), c.persistentKeepalive(),
                    c.presharedKey().isPresent()));
        }
        return new WireGuardStatus(identity.publicKey(), transport.localPort(), out);
    }

    public WireGuardStats wireGuardStats() {
        return wgStats;
    }

    public WireGuardKey publicKey() {
        return identity.publicKey();
    }

    /** The UDP port bound (the one asked for, or the one the kernel picked for port 0). */
    public int listenPort() {
        return transport.localPort();
    }

    /** Peers holding a session usable now (a current keypair not past reject-after-time). */
    public int peersWithSession() {
        long now = clock.nanoTime();
        int n = 0;
        for (Peer p : peerOrder) {
            if (p.sendingKeypair(now) != null) {
                n++;
            }
        }
        return n;
    }

    @Override
    public void close() {
        synchronized (configLock) {
            if (closed) {
                return;
            }
            closed = true;
        }
        transport.close();
        handshakes.close();
        receivePath.close();
        workers.close();
        sendPath.close();
        for (Peer p : peerOrder) {
            p.removed = true;
            p.timers.stop();
            retire(p.keypairs.clear());
            dropStaged(p);
        }
        if (ownTimers != null) {
            ownTimers.close();
        }
    }

    @Override
    public String toString() {
        return "WireGuardLink[" + name + ", " + settings + "]";
    }

    // ---- for tests in this package ------------------------------------------------------------

    Peer peer(WireGuardKey key) {
        return peers.get(key);
    }

    /** The counter the peer's current keypair gives its next message. */
    void sendCounter(WireGuardKey key, long next) {
        peers.get(key).keypairs.current().sendCounter(next);
    }

    void forceUnderLoad(boolean on) {
        handshakes.forceUnderLoad(on);
    }

    int indicesInUse() {
        return indices.size();
    }

    /** Every thread that carries packets: reader, deliverer, sender, crypto workers. */
    List<Thread> packetThreads() {
        List<Thread> t = new ArrayList<>(List.of(receivePath.reader(), receivePath.deliverer(), sendPath.sender()));
        t.addAll(List.of(workers.threads()));
        return t;
    }

    static void joinQuietly(Thread t) {
        if (t.isAlive() && Thread.currentThread() != t) {
            try {
                t.join(TimeUnit.SECONDS.toMillis(5));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
