package dev.loomstack.wireguard;

import dev.loomstack.link.LinkEndpoint;
import dev.loomstack.link.LinkStats;
import dev.loomstack.link.NetworkDispatcher;
import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.stack.HashedTimerWheel;
import dev.loomstack.stack.TimerService;
import java.net.InetSocketAddress;
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
 * <h2>Parts</h2>
 * As in wireguard-go's device/ (send.go, receive.go and the handshake routine), the link's work is
 * done by {@link Outbound} (routing, staging and sending), {@link Inbound} (sorting datagrams,
 * checking and delivering decrypted packets) and {@link HandshakeExchange} (the handshake thread's
 * messages and initiations), which share a {@link LinkContext}. The link itself holds the
 * configuration, the lifecycle and what it reports, and turns the peers' timers into actions.
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

    private final WireGuardSettings settings;
    private final int mtu;
    private final TimerService timers;
    private final HashedTimerWheel ownTimers;
    private final StaticIdentity identity;
    private final LinkContext ctx;
    private final CryptoWorkers workers;
    private final HandshakeQueue handshakes;
    private final Outbound outbound;
    private final HandshakeExchange exchange;
    private final Inbound inbound;
    private final Object configLock = new Object();
    /** Peers in configuration order; replaced whole under {@link #configLock}, with {@link LinkContext#peers}. */
    private volatile List<Peer> peerOrder = List.of();

    private WireGuardLink(WireGuardSettings settings, UdpTransport transport, TimerService timers,
            HashedTimerWheel ownTimers, java.time.Clock wallClock, int cryptoWorkers) {
        this.settings = settings;
        this.mtu = settings.mtu();
        this.timers = timers;
        this.ownTimers = ownTimers;
        this.identity = StaticIdentity.of(settings.privateKey());
        this.ctx = new LinkContext("wireguard:" + transport.localPort(), transport, timers.clock(), wallClock);
        String threads = "wireguard-" + transport.localPort();
        int slots = (int) Math.max(64, Math.min(RING_SLOTS, RING_BYTES / (2L * MessageLayout.transportCapacity(mtu))));
        this.workers = new CryptoWorkers(threads, cryptoWorkers, Integer.highestOneBit(slots - 1) << 1, ctx.clock, mtu);
        // The queue comes before the exchange that handles its work: sending asks it for initiations,
        // and the exchange, when a handshake completes, sends what was staged.
        this.handshakes = new HandshakeQueue(threads, new HandshakeQueue.Handler() {
            @Override
            public void message(byte[] message, int length, InetSocketAddress source) {
                exchange.handshakeMessage(message, length, source);
            }

            @Override
            public void initiate(Peer peer, boolean retry) {
                exchange.sendInitiation(peer, retry);
            }
        });
        this.outbound = new Outbound(ctx, threads, slots, mtu, workers, handshakes);
        this.exchange = new HandshakeExchange(ctx, identity, handshakes, outbound);
        this.inbound = new Inbound(ctx, threads, slots, mtu, workers, handshakes, exchange, outbound);
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
            if (ctx.closed) {
                return;
            }
            Map<WireGuardKey, Peer> before = ctx.peers;
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
                    p = new Peer(c, new PeerHandshake(identity, c.publicKey(), c.presharedKey().orElse(null),
                            ctx.wallClock, ctx.clock), peer -> new PeerTimers(peer, timers, timerActions),
                            ctx.clock.nanoTime());
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
            ctx.allowedIps.replaceAll(routes);
            ctx.peers = Map.copyOf(next);
            peerOrder = List.copyOf(order);
        }
        // A persistent keepalive just switched on is sent now (wg does), which starts a handshake.
        for (Peer p : added) {
            outbound.sendKeepalive(p);
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
        ctx.allowedIps.removePeer(p);
        exchange.retire(p.keypairs.clear());
        exchange.forgetHandshake(p);
        outbound.dropStaged(p);
    }

    // ---- LinkEndpoint ----------------------------------------------------------------------------

    @Override
    public int mtu() {
        return mtu;
    }

    @Override
    public String name() {
        return ctx.name;
    }

    @Override
    public LinkStats stats() {
        return ctx.stats;
    }

    @Override
    public synchronized void start(NetworkDispatcher d) {
        if (inbound.started()) {
            throw new IllegalStateException(ctx.name + " already started");
        }
        if (ctx.closed) {
            throw new IllegalStateException(ctx.name + " is closed");
        }
        inbound.deliverTo(d);
        workers.start(inbound.decryptedWakeup(), outbound.encryptedWakeup());
        outbound.start();
        inbound.start();
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
        return outbound.write(packet);
    }

    // ---- timer actions -------------------------------------------------------------------------

    /** What the peers' timers make the link do (not part of the link's public face). */
    private final PeerTimers.Actions timerActions = new PeerTimers.Actions() {
        @Override
        public void requestInitiation(Peer peer, boolean retry) {
            outbound.requestInitiation(peer, retry);
        }

        @Override
        public void sendKeepalive(Peer peer) {
            outbound.sendKeepalive(peer);
        }

        @Override
        public void handshakeGaveUp(Peer peer) {
            outbound.dropStaged(peer);
        }

        @Override
        public void zeroKeyMaterial(Peer peer) {
            exchange.zeroKeyMaterial(peer);
        }
    };

    // ---- what it reports ----------------------------------------------------------------------

    public WireGuardStatus status() {
        List<WireGuardStatus.Peer> out = new ArrayList<>();
        for (Peer p : peerOrder) {
            WireGuardPeerConfig c = p.config;
            out.add(new WireGuardStatus.Peer(p.publicKey, p.endpoint(), Optional.ofNullable(p.latestHandshake),
                    p.receivedBytes.sum(), p.sentBytes.sum(), ctx.allowedIps.prefixesOf(p), c.persistentKeepalive(),
                    c.presharedKey().isPresent()));
        }
        return new WireGuardStatus(identity.publicKey(), ctx.transport.localPort(), out);
    }

    public WireGuardStats wireGuardStats() {
        return ctx.wgStats;
    }

    public WireGuardKey publicKey() {
        return identity.publicKey();
    }

    /** The UDP port bound (the one asked for, or the one the kernel picked for port 0). */
    public int listenPort() {
        return ctx.transport.localPort();
    }

    /** Peers holding a session usable now (a current keypair not past reject-after-time). */
    public int peersWithSession() {
        long now = ctx.clock.nanoTime();
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
            if (ctx.closed) {
                return;
            }
            ctx.closed = true;
        }
        ctx.transport.close();
        handshakes.close();
        inbound.close();
        workers.close();
        outbound.close();
        for (Peer p : peerOrder) {
            p.removed = true;
            p.timers.stop();
            exchange.retire(p.keypairs.clear());
            outbound.dropStaged(p);
        }
        if (ownTimers != null) {
            ownTimers.close();
        }
    }

    @Override
    public String toString() {
        return "WireGuardLink[" + ctx.name + ", " + settings + "]";
    }

    // ---- for tests in this package ------------------------------------------------------------

    Peer peer(WireGuardKey key) {
        return ctx.peers.get(key);
    }

    /** The counter the peer's current keypair gives its next message. */
    void sendCounter(WireGuardKey key, long next) {
        ctx.peers.get(key).keypairs.current().sendCounter(next);
    }

    void forceUnderLoad(boolean on) {
        handshakes.forceUnderLoad(on);
    }

    int indicesInUse() {
        return ctx.indices.size();
    }

    /** Every thread that carries packets: reader, deliverer, sender, crypto workers. */
    List<Thread> packetThreads() {
        List<Thread> t = new ArrayList<>(List.of(inbound.reader(), inbound.deliverer(), outbound.sender()));
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
