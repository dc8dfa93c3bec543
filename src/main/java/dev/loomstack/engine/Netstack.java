package dev.loomstack.engine;

import dev.loomstack.dns.DnsZone;
import dev.loomstack.dns.MagicDns;
import dev.loomstack.dns.MagicDnsServer;
import dev.loomstack.ip.IpStack;
import dev.loomstack.ip.Reassembler;
import dev.loomstack.link.LinkEndpoint;
import dev.loomstack.wireguard.WireGuardKey;
import dev.loomstack.wireguard.WireGuardLink;
import dev.loomstack.wireguard.WireGuardStats;
import dev.loomstack.wireguard.WireGuardStatus;
import dev.loomstack.net.TcpConn;
import dev.loomstack.net.UdpConn;
import dev.loomstack.packet.Bytes;
import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.IpPrefix;
import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.packet.TcpHeader;
import dev.loomstack.packet.UdpHeader;
import dev.loomstack.stack.HashedTimerWheel;
import dev.loomstack.stack.Stack;
import dev.loomstack.stack.StatCounter;
import dev.loomstack.stack.Stats;
import dev.loomstack.tcp.TcpForwarder;
import dev.loomstack.tcp.TcpProtocol;
import dev.loomstack.tcp.TcpSettings;
import dev.loomstack.udp.UdpEndpoint;
import dev.loomstack.udp.UdpForwarder;
import dev.loomstack.udp.UdpProtocol;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The router's engine (Tailscale's {@code Impl}): owns the stack on one link, decides which flows
 * it takes, and re-originates them as host sockets (each new flow is served by a {@link FlowAcceptor}).
 * Created with {@link #create}, started with {@link #start}, stopped with {@link #close}, which leaves
 * no thread or device behind.
 */
public final class Netstack implements RouterControl, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Netstack.class.getName());
    /** Buffers kept for reuse: enough for a full write queue plus in-flight work. */
    static final int POOLED_BUFFERS = 4096;
    /** The self node's name before any netmap names it. */
    public static final String DEFAULT_SELF_NAME = "loomstack";
    /**
     * Tailscale's {@code netstack_tcp_forward_dropped_attempts}: SYNs the forwarder dropped at its
     * global in-flight limit ({@code forward_max_in_flight_drop}), over every engine in the process.
     */
    static final ProcessWideCounter FORWARD_DROPPED_ATTEMPTS = new ProcessWideCounter();
    /** What the WireGuard figures read on a link that is not WireGuard: zeros. */
    private static final WireGuardStats NO_WIREGUARD = new WireGuardStats();

    private final LinkEndpoint link;
    final InjectRouter injector;
    private final Options options;
    private final Stats stats = new Stats();
    private final PacketBufferPool pool;
    private final HashedTimerWheel timers;
    private final Stack stack;
    private final UdpProtocol udp;
    private final TcpProtocol tcp;
    private final TcpForwarder tcpForwarder;
    final UdpFlowForwarder udpFlows;
    private final UdpForwarder udpForwarder;
    private final LocalAddresses localAddresses = new LocalAddresses();
    private final InboundPolicy policy;
    private final InFlightLimiter limiter;
    private final SubnetAddresses subnetAddresses;
    private final ProxyMap proxyMap = new ProxyMap();
    final FlowRegistry flows = new FlowRegistry(Clock.systemUTC());
    private final PingRelay pingRelay;
    private final FlowHandlers handlers;
    private final MagicDnsServer dns;
    private final AtomicReference<NetworkMap> netmap = new AtomicReference<>();
    // The engine's own counters (and the parts above EngineStats reads) are package-private: its
    // readers are bound to them once, when the engine is created.
    final StatCounter droppedPerClient = new StatCounter();
    final StatCounter viaRefused = new StatCounter();
    final StatCounter udpNotForwarded = new StatCounter();
    final StatCounter forwardedFromClients = new StatCounter();
    final StatCounter forwardedToClients = new StatCounter();
    private final Object netmapLock = new Object();
    private volatile InFlightLimits limits;
    final HostPortGuard hostPortGuard = new HostPortGuard(new HostAddresses());
    final StatCounter refusedWhileDraining = new StatCounter();
    final StatCounter linkLosses = new StatCounter();
    final StatCounter refusedMemoryPressure = new StatCounter();
    final HeapPressure heapPressure;
    final TcpFlowForwarder tcpFlows;
    private final EngineStats engineStats;
    /** The link as a WireGuard link and the netmap's mapping onto it; both null on any other link. */
    private final WireGuardLink wireGuard;
    private final WireGuardPeers wireGuardPeers;
    private volatile boolean draining;
    private volatile boolean started;
    private volatile boolean closed;

    /**
     * What the engine is created with.
     *
     * @param selfAddresses        the node's own addresses until a netmap says otherwise
     * @param reassemblyMemoryCap  bytes of fragments held for reassembly
     * @param tcp                  TCP settings
     * @param limits               in-flight limits; null derives them from the JVM's memory
     * @param processLocalIps      take flows to the node's own addresses (Tailscale's {@code ProcessLocalIPs})
     * @param processSubnets       take flows to advertised subnets (Tailscale's {@code ProcessSubnets})
     * @param dnsUpstreams         where MagicDNS forwards names it does not own
     * @param deniedHostPorts      ports of the router host itself never forwarded to, by any path
     *                             (the service's own HTTP ports, the operator's list); see {@link HostPortGuard}
     * @param dialTimeout          how long an upstream TCP dial may take
     * @param heapPressurePercent  the heap in use after a collection, in percent of the maximum heap,
     *                             past which new forwarded flows are refused (see {@link HeapPressure})
     * @param presharedKeyDir      on a {@link WireGuardLink}: the directory where the netmap's
     *                             {@code presharedKey} references are looked up; null: none may be used
     */
    public record Options(List<IpPrefix> selfAddresses, int reassemblyMemoryCap, TcpSettings tcp,
                          InFlightLimits limits, boolean processLocalIps, boolean processSubnets,
                          List<InetSocketAddress> dnsUpstreams, Set<Integer> deniedHostPorts, Duration dialTimeout,
                          int heapPressurePercent, Path presharedKeyDir) {
        public Options {
            selfAddresses = List.copyOf(selfAddresses);
            Objects.requireNonNull(tcp, "tcp settings");
            dnsUpstreams = List.copyOf(dnsUpstreams);
            deniedHostPorts = Set.copyOf(deniedHostPorts);
            deniedHostPorts.forEach(HostPortGuard::requireValidPort);
            Objects.requireNonNull(dialTimeout, "dialTimeout");
            TcpFlowForwarder.dialTimeoutMillis(dialTimeout);
            HeapPressure.requireValidPercent(heapPressurePercent);
            if (reassemblyMemoryCap <= 0) {
                throw new IllegalArgumentException("reassemblyMemoryCap must be positive");
            }
        }

        /** Both kinds of flow processed, limits from memory, DNS upstreams from {@code /etc/resolv.conf}. */
        public static Options defaults(List<IpPrefix> selfAddresses) {
            return new Options(selfAddresses, Reassembler.DEFAULT_MEMORY_CAP, TcpSettings.defaults(), null, true,
                    true, MagicDns.systemResolvers(Path.of("/etc/resolv.conf")), Set.of(),
                    TcpFlowForwarder.DEFAULT_DIAL_TIMEOUT, HeapPressure.DEFAULT_PERCENT, null);
        }

        public Options withTcp(TcpSettings t) {
            return new Options(selfAddresses, reassemblyMemoryCap, t, limits, processLocalIps, processSubnets,
                    dnsUpstreams, deniedHostPorts, dialTimeout, heapPressurePercent, presharedKeyDir);
        }

        public Options withLimits(InFlightLimits l) {
            return new Options(selfAddresses, reassemblyMemoryCap, tcp, l, processLocalIps, processSubnets,
                    dnsUpstreams, deniedHostPorts, dialTimeout, heapPressurePercent, presharedKeyDir);
        }

        public Options withProcessing(boolean localIps, boolean subnets) {
            return new Options(selfAddresses, reassemblyMemoryCap, tcp, limits, localIps, subnets, dnsUpstreams,
                    deniedHostPorts, dialTimeout, heapPressurePercent, presharedKeyDir);
        }

        public Options withDnsUpstreams(List<InetSocketAddress> upstreams) {
            return new Options(selfAddresses, reassemblyMemoryCap, tcp, limits, processLocalIps, processSubnets,
                    upstreams, deniedHostPorts, dialTimeout, heapPressurePercent, presharedKeyDir);
        }

        public Options withDeniedHostPorts(Set<Integer> ports) {
            return new Options(selfAddresses, reassemblyMemoryCap, tcp, limits, processLocalIps, processSubnets,
                    dnsUpstreams, ports, dialTimeout, heapPressurePercent, presharedKeyDir);
        }

        public Options withHeapPressurePercent(int percent) {
            return new Options(selfAddresses, reassemblyMemoryCap, tcp, limits, processLocalIps, processSubnets,
                    dnsUpstreams, deniedHostPorts, dialTimeout, percent, presharedKeyDir);
        }

        public Options withDialTimeout(Duration timeout) {
            return new Options(selfAddresses, reassemblyMemoryCap, tcp, limits, processLocalIps, processSubnets,
                    dnsUpstreams, deniedHostPorts, timeout, heapPressurePercent, presharedKeyDir);
        }

        public Options withPresharedKeyDir(Path dir) {
            return new Options(selfAddresses, reassemblyMemoryCap, tcp, limits, processLocalIps, processSubnets,
                    dnsUpstreams, deniedHostPorts, dialTimeout, heapPressurePercent, dir);
        }
    }

    private Netstack(LinkEndpoint link, Options options) {
        this.link = link;
        this.options = options;
        this.limits = options.limits() != null ? options.limits() : InFlightLimits.forThisJvm();
        this.injector = new InjectRouter(link, link);
        this.pool = PacketBufferPool.forMtu(link.mtu(), POOLED_BUFFERS);
        this.timers = new HashedTimerWheel("loomstack-timers");
        this.stack = IpStack.create(injector, pool, stats, timers, options.reassemblyMemoryCap());
        this.subnetAddresses = new SubnetAddresses(stack);
        this.policy = new InboundPolicy(localAddresses, options.processLocalIps(), options.processSubnets(),
                subnetAddresses::heldByFlows);
        this.handlers = new FlowHandlers(() -> policy.setInterceptedTcpPorts(handlersPorts()));
        this.pingRelay = new PingRelay();
        this.dns = new MagicDnsServer(new MagicDns(options.dnsUpstreams()));
        this.heapPressure = new HeapPressure(options.heapPressurePercent());
        this.tcpFlows = new TcpFlowForwarder(options.dialTimeout(), hostPortGuard);
        this.udpFlows = new UdpFlowForwarder(hostPortGuard);
        FlowAcceptor acceptor = new FlowAcceptor(options.processLocalIps(), options.processSubnets(),
                () -> draining, heapPressure::high, localAddresses, policy, handlers, dns, subnetAddresses, flows, proxyMap,
                hostPortGuard, tcpFlows, udpFlows, new FlowAcceptor.Counters(refusedWhileDraining,
                        udpNotForwarded, viaRefused, forwardedFromClients, forwardedToClients, refusedMemoryPressure));
        this.udp = new UdpProtocol(stack);
        stack.registerTransport(udp);
        this.udpForwarder = new UdpForwarder(acceptor::acceptUdp, limits.maxUdpFlows());
        udp.setForwarder(udpForwarder);
        this.tcp = new TcpProtocol(stack, options.tcp());
        stack.registerTransport(tcp);
        this.limiter = new InFlightLimiter(limits.maxInFlightPerClient(), droppedPerClient);
        this.tcpForwarder = new TcpForwarder(tcp, 0, limits.maxInFlight(), acceptor::acceptTcp);
        tcpForwarder.setGate(limiter);
        FORWARD_DROPPED_ATTEMPTS.add(stats.tcp.forwardMaxInFlightDrop);
        options.deniedHostPorts().forEach(hostPortGuard::deny);
        stack.setInboundFilter(this::shouldProcessInbound);
        stack.setEchoPolicy(this::onEchoRequest);
        link.onLoss(cause -> linkLosses.increment());
        if (link instanceof WireGuardLink wg) {
            this.wireGuard = wg;
            this.wireGuardPeers = new WireGuardPeers(wg.publicKey(), options.presharedKeyDir(),
                    WireGuardPeer.Endpoint.Resolver.SYSTEM);
        } else {
            this.wireGuard = null;
            this.wireGuardPeers = null;
        }
        this.engineStats = new EngineStats(this);
    }

    private Set<Integer> handlersPorts() {
        return handlers == null ? Set.of() : handlers.interceptedTcpPorts();
    }

    /** Validates the collaborators and builds the stack; nothing runs until {@link #start}. */
    public static Netstack create(LinkEndpoint link, Options options) {
        Objects.requireNonNull(link, "link must not be null");
        Objects.requireNonNull(options, "options must not be null");
        if (link.mtu() < 1280) {
            throw new IllegalArgumentException("link MTU " + link.mtu() + " is below IPv6's minimum of 1280");
        }
        if (options.selfAddresses().isEmpty()) {
            throw new IllegalArgumentException("at least one self address is needed");
        }
        return new Netstack(link, options);
    }

    /** Registers the self addresses and the service IPs, starts timers and the link. */
    public void start() {
        if (closed) {
            throw new IllegalStateException("closed");
        }
        stack.addAddress(IpPrefix.host(TailnetAddresses.SERVICE_IP));
        stack.addAddress(IpPrefix.host(TailnetAddresses.SERVICE_IP_V6));
        applyNetmap(NetworkMap.initial(DEFAULT_SELF_NAME, options.selfAddresses()));
        timers.start();
        stack.start();
        started = true;
        LOG.log(Level.INFO, () -> "serving on " + link.name() + " (mtu " + link.mtu() + ") with addresses "
                + options.selfAddresses() + "; limits: " + limits);
    }

    public Stack stack() {
        return stack;
    }

    public Stats stats() {
        return stats;
    }

    public UdpProtocol udp() {
        return udp;
    }

    public TcpProtocol tcp() {
        return tcp;
    }

    public TcpForwarder tcpForwarder() {
        return tcpForwarder;
    }

    /** The UDP flow admission (its limit, open flows and drops). */
    public UdpForwarder udpForwarder() {
        return udpForwarder;
    }

    public LocalAddresses localAddresses() {
        return localAddresses;
    }

    public InboundPolicy policy() {
        return policy;
    }

    public FlowHandlers handlers() {
        return handlers;
    }

    public InFlightLimiter limiter() {
        return limiter;
    }

    public SubnetAddresses subnetAddresses() {
        return subnetAddresses;
    }

    public ProxyMap proxyMap() {
        return proxyMap;
    }

    public MagicDns magicDns() {
        return dns.dns();
    }

    public PingRelay pingRelay() {
        return pingRelay;
    }

    public LinkEndpoint link() {
        return link;
    }

    /**
     * Registers {@code listener} to be told, once, when the link is lost for good (the TUN device
     * deleted under the engine); the service turns that into a failed liveness probe.
     */
    public void onLinkLost(LinkEndpoint.LossListener listener) {
        link.onLoss(listener);
    }

    // ---- inbound decisions ---------------------------------------------------------------------

    /**
     * Tailscale's {@code shouldProcessInbound}, on the raw packet. Malformed headers pass so the IP
     * layer counts them; the destination is read into a small value the JIT keeps off the heap.
     */
    private boolean shouldProcessInbound(PacketBuffer p) {
        byte[] b = p.array();
        int at = p.start();
        int len = p.length();
        int version = (b[at] & 0xff) >>> 4;
        IpAddress dst;
        int protocol;
        int port = -1;
        if (version == 4) {
            if (len < 20) {
                return true;
            }
            int ihl = (b[at] & 0x0f) * 4;
            protocol = b[at + 9] & 0xff;
            dst = IpAddress.readV4(b, at + 16);
            boolean first = (Bytes.u16(b, at + 6) & 0x1fff) == 0;
            if (first && len >= ihl + 4 && (protocol == TcpHeader.PROTOCOL || protocol == UdpProtocol.PROTOCOL_NUMBER)) {
                port = Bytes.u16(b, at + ihl + 2);
            }
        } else if (version == 6) {
            if (len < 40) {
                return true;
            }
            protocol = b[at + 6] & 0xff;
            dst = IpAddress.readV6(b, at + 24);
            if (len >= 44 && (protocol == TcpHeader.PROTOCOL || protocol == UdpProtocol.PROTOCOL_NUMBER)) {
                port = Bytes.u16(b, at + 42);
            }
        } else {
            return true;
        }
        if (TailnetAddresses.isServiceIp(dst)) {
            return true;
        }
        return policy.shouldProcessInbound(dst, protocol, port);
    }

    /**
     * Tailscale's {@code shouldHandlePing} and {@code userPing}: echo requests to subnet hosts and
     * 4via6 addresses are relayed and answered only when the real host answers; own addresses are
     * answered at once.
     */
    private Stack.EchoPolicy.Decision onEchoRequest(IpAddress src, IpAddress dst, byte[] icmp, int off, int len) {
        if (TailnetAddresses.isVia(dst) && !policy.handlesVia(dst)) {
            return Stack.EchoPolicy.Decision.IGNORE;
        }
        IpAddress target = policy.pingTarget(dst);
        if (target != null) {
            byte[] request = java.util.Arrays.copyOfRange(icmp, off, off + len);
            pingRelay.relay(target, () -> stack.sendEchoReply(dst, src, request));
            return Stack.EchoPolicy.Decision.TAKEN;
        }
        if (TailnetAddresses.isVia(dst)) {
            viaRefused.increment();
            return Stack.EchoPolicy.Decision.IGNORE;
        }
        return stack.hasAddress(dst) ? Stack.EchoPolicy.Decision.REPLY : Stack.EchoPolicy.Decision.IGNORE;
    }

    // ---- outbound dials ------------------------------------------------------------------------

    /** A self address of {@code dst}'s family to originate from. */
    private IpAddress sourceFor(IpAddress dst) throws SocketException {
        for (IpAddress a : localAddresses.snapshot()) {
            if (a.v4() == dst.v4()) {
                return a;
            }
        }
        throw new SocketException("no self address of " + (dst.v4() ? "IPv4" : "IPv6") + " to dial " + dst + " from");
    }

    /** Tailscale's {@code DialContextTCP}: a connection from this node into the tailnet. */
    public TcpConn dialTcp(IpAddress dst, int port, Duration timeout) throws IOException {
        return new TcpConn(tcp.connect(sourceFor(dst), dst, port, timeout.toNanos()));
    }

    /** Tailscale's {@code DialContextUDP}: a connected datagram socket into the tailnet. */
    public UdpConn dialUdp(IpAddress dst, int port) throws IOException {
        UdpEndpoint ep = udp.bind(sourceFor(dst), 0);
        ep.connect(dst, port);
        return new UdpConn(ep);
    }

    // ---- RouterControl -------------------------------------------------------------------------

    /**
     * Tailscale's {@code UpdateNetstackIPs}: registers the self addresses (and, when subnets are
     * processed, the advertised routes), removes what the new map dropped, swaps the local address
     * set atomically and rebuilds the MagicDNS zone. On a WireGuard link, the peers are configured
     * first (see {@link WireGuardPeers}): a peer that cannot be configured (an endpoint that does not
     * resolve, a missing pre-shared key file, this router's own key) throws
     * {@link NetworkMap.InvalidException} before anything changed.
     */
    @Override
    public NetmapChange applyNetmap(NetworkMap map) {
        Objects.requireNonNull(map, "map");
        synchronized (netmapLock) {
            if (wireGuard != null) {
                // Unchanged peers keep their sessions: the link diffs the whole list by key.
                wireGuard.configure(wireGuardPeers.configsOf(map));
            }
            Set<IpPrefix> next = new LinkedHashSet<>(map.selfNode().addresses());
            if (options.processSubnets()) {
                next.addAll(map.selfNode().allowedIPs());
            }
            SubnetAddresses.Diff diff = subnetAddresses.applyNetmap(next);
            localAddresses.replace(map.selfNode().addresses().stream().map(IpPrefix::address).toList());
            policy.setAdvertisedRoutes(map.selfNode().allowedIPs());
            dns.dns().setZone(zoneOf(map));
            netmap.set(map);
            LOG.log(Level.INFO, () -> "netmap applied: self " + map.selfNode().name() + " " + map.selfNode().addresses()
                    + ", " + map.peers().size() + " peers; added " + diff.added() + ", removed " + diff.removed());
            return new NetmapChange(map, diff.added(), diff.removed());
        }
    }

    static DnsZone zoneOf(NetworkMap map) {
        Map<String, List<IpAddress>> nodes = new LinkedHashMap<>();
        nodes.put(map.selfNode().name(), map.selfNode().addresses().stream().map(IpPrefix::address).toList());
        for (Node peer : map.peers()) {
            nodes.put(peer.name(), peer.addresses().stream().map(IpPrefix::address).toList());
        }
        return DnsZone.of(map.domain(), nodes);
    }

    @Override
    public NetworkMap netmap() {
        return netmap.get();
    }

    @Override
    public InFlightLimits limits() {
        return limits;
    }

    /** Applies new limits at once; attempts already in flight keep their slots, open UDP flows run on. */
    @Override
    public InFlightLimits updateLimits(InFlightLimits next) {
        Objects.requireNonNull(next, "limits");
        synchronized (netmapLock) {
            InFlightLimits before = limits;
            tcpForwarder.setMaxInFlight(next.maxInFlight());
            limiter.setMaxPerClient(next.maxInFlightPerClient());
            udpForwarder.setMaxFlows(next.maxUdpFlows());
            limits = next;
            LOG.log(Level.INFO, () -> "forwarding limits changed from " + before + " to " + next);
            return next;
        }
    }

    @Override
    public List<FlowInfo> flows() {
        return flows.snapshot();
    }

    @Override
    public Optional<Whois> whois(InetSocketAddress local) {
        return proxyMap.lookup(local).map(ip -> new Whois(local, ip, peerName(ip)));
    }

    private String peerName(IpAddress ip) {
        NetworkMap m = netmap.get();
        if (m == null) {
            return null;
        }
        for (Node n : m.peers()) {
            for (IpPrefix p : n.addresses()) {
                if (p.contains(ip)) {
                    return n.name();
                }
            }
        }
        return null;
    }

    /** The link's WireGuard status ({@code wg show}), or empty when the link is not WireGuard. */
    @Override
    public Optional<WireGuardStatus> wireGuardStatus() {
        return wireGuard == null ? Optional.empty() : Optional.of(wireGuard.status());
    }

    /** This router's WireGuard public key, or empty when the link is not WireGuard. */
    @Override
    public Optional<WireGuardKey> wireGuardPublicKey() {
        return wireGuard == null ? Optional.empty() : Optional.of(wireGuard.publicKey());
    }

    /** The WireGuard link's counters; on any other link, counters that stay zero. */
    WireGuardStats wireGuardStats() {
        return wireGuard == null ? NO_WIREGUARD : wireGuard.wireGuardStats();
    }

    /** Peers of the WireGuard link holding a usable session now; 0 on any other link. */
    int wireGuardPeersWithSession() {
        return wireGuard == null ? 0 : wireGuard.peersWithSession();
    }

    /** Every key {@link #expvar()} reports, known before any engine runs. */
    public static Set<String> expvarKeys() {
        Set<String> keys = new LinkedHashSet<>();
        EngineStats.figures().forEach(f -> keys.add(f.key()));
        return keys;
    }

    /** Tailscale's {@code ExpVar()} keys, then the engine's own figures (see {@link EngineStats}). */
    @Override
    public Map<String, Long> expvar() {
        return engineStats.expvar();
    }

    /** This engine's figures, each read on its own (for meters). */
    @Override
    public EngineStats engineStats() {
        return engineStats;
    }

    /** Per-client in-flight attempts now (for metrics tagged by client). */
    public Map<IpAddress, Integer> inFlightByClient() {
        return new HashMap<>(limiter.snapshot());
    }

    @Override
    public boolean linkUp() {
        return started && !closed && !link.isLost();
    }

    /** Flows now open (TCP and UDP), for a graceful drain. */
    public int openFlows() {
        return flows.size();
    }

    /**
     * {@code port} of the router host itself is never forwarded to from now on, by any path (own
     * address, subnet, 4via6): the service's own HTTP and management ports must not be reachable
     * by tailnet peers through the TUN.
     */
    public void denyHostPort(int port) {
        hostPortGuard.deny(port);
    }

    public Set<Integer> deniedHostPorts() {
        return hostPortGuard.deniedPorts();
    }

    /**
     * The first half of a graceful stop: new flows are refused (TCP with a RST) while open ones run
     * on; waits up to {@code timeout} for them to end. Returns the number still open.
     */
    public int drain(Duration timeout) throws InterruptedException {
        draining = true;
        return flows.awaitEmpty(timeout);
    }

    public boolean isDraining() {
        return draining;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        tcp.close();
        udp.close();
        udpFlows.close();
        stack.close();
        timers.close();
        pingRelay.close();
        heapPressure.close();
        FORWARD_DROPPED_ATTEMPTS.retire(stats.tcp.forwardMaxInFlightDrop);
    }
}
