package dev.loomstack.engine;

import dev.loomstack.dns.MagicDnsServer;
import dev.loomstack.net.TcpConn;
import dev.loomstack.net.UdpConn;
import dev.loomstack.packet.IpAddress;
import dev.loomstack.stack.StatCounter;
import dev.loomstack.stack.TransportEndpointId;
import dev.loomstack.tcp.ForwarderRequest;
import dev.loomstack.tcp.TcpEndpoint;
import dev.loomstack.udp.UdpEndpoint;
import dev.loomstack.udp.UdpForwarderRequest;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * What happens to one new flow the stack has taken: Tailscale's netstack {@code acceptTCP} and
 * {@code acceptUDP}/{@code forwardUDP}. Each flow is served by MagicDNS on the service IP, by a
 * registered flow handler, or re-originated as a host socket at the target its path (own address,
 * 4via6, subnet) leads to, copied by {@link TcpFlowForwarder} or {@link UdpFlowForwarder}; anything
 * else is refused (TCP with a RST) and counted. {@link Netstack} builds one and hands its two
 * accept methods to the stack's TCP and UDP forwarders; whether a packet is taken at all is
 * decided before, by {@link InboundPolicy}.
 */
final class FlowAcceptor {
    private static final System.Logger LOG = System.getLogger(FlowAcceptor.class.getName());
    private static final InetAddress LOOPBACK_V4 = InetAddress.getLoopbackAddress();

    /**
     * The engine's counters this class increments; they belong to {@link Netstack}, which reports
     * them (see {@link EngineStats} for each key).
     *
     * @param refusedWhileDraining {@code counter_refused_while_draining}: new flows refused while draining
     * @param udpNotForwarded      {@code counter_udp_not_forwarded}: UDP datagrams that opened no flow
     * @param viaRefused           {@code counter_via_refused}: 4via6 flows to a site not advertised or
     *                             to an IPv4 target that must never be reached
     * @param forwardedFromClients {@code counter_forwarded_from_clients_bytes}: payload bytes client to destination
     * @param forwardedToClients   {@code counter_forwarded_to_clients_bytes}: payload bytes destination to client
     * @param refusedMemoryPressure {@code counter_forward_refused_memory_pressure}: new forwarded flows
     *                             refused while the heap was under pressure
     */
    record Counters(StatCounter refusedWhileDraining, StatCounter udpNotForwarded, StatCounter viaRefused,
                    StatCounter forwardedFromClients, StatCounter forwardedToClients,
                    StatCounter refusedMemoryPressure) {}

    private final boolean processLocalIps;
    private final boolean processSubnets;
    private final BooleanSupplier draining;
    private final BooleanSupplier heapPressure;
    private final LocalAddresses localAddresses;
    private final InboundPolicy policy;
    private final FlowHandlers handlers;
    private final MagicDnsServer dns;
    private final SubnetAddresses subnetAddresses;
    private final FlowRegistry flows;
    private final ProxyMap proxyMap;
    private final HostPortGuard hostPortGuard;
    private final TcpFlowForwarder tcpFlows;
    private final UdpFlowForwarder udpFlows;
    private final Counters counters;

    /**
     * @param processLocalIps take flows to the node's own addresses (Tailscale's {@code ProcessLocalIPs})
     * @param processSubnets  take flows to advertised subnets (Tailscale's {@code ProcessSubnets})
     * @param draining        true once a graceful stop refuses new flows
     * @param heapPressure    true while the heap is short and new forwarded flows are refused
     */
    FlowAcceptor(boolean processLocalIps, boolean processSubnets, BooleanSupplier draining, BooleanSupplier heapPressure,
                 LocalAddresses localAddresses, InboundPolicy policy, FlowHandlers handlers, MagicDnsServer dns,
                 SubnetAddresses subnetAddresses, FlowRegistry flows, ProxyMap proxyMap, HostPortGuard hostPortGuard,
                 TcpFlowForwarder tcpFlows, UdpFlowForwarder udpFlows, Counters counters) {
        this.processLocalIps = processLocalIps;
        this.processSubnets = processSubnets;
        this.draining = draining;
        this.heapPressure = heapPressure;
        this.localAddresses = localAddresses;
        this.policy = policy;
        this.handlers = handlers;
        this.dns = dns;
        this.subnetAddresses = subnetAddresses;
        this.flows = flows;
        this.proxyMap = proxyMap;
        this.hostPortGuard = hostPortGuard;
        this.tcpFlows = tcpFlows;
        this.udpFlows = udpFlows;
        this.counters = counters;
    }

    /** A flow's client must be a unicast address a reply can reach. */
    private static boolean validClient(IpAddress a) {
        return !a.isUnspecified() && !a.isMulticast() && !a.isLoopback() && !a.equals(IpAddress.V4_BROADCAST);
    }

    /**
     * Where a flow to {@code dst:port} is dialled, or null when it must be refused: also when the
     * destination, whichever path led to it, is a denied port of the router host itself.
     */
    private InetSocketAddress dialTarget(IpAddress dst, int port) {
        InetSocketAddress target = routedTarget(dst, port);
        if (target != null && hostPortGuard.refusesDial(target)) {
            return null;
        }
        return target;
    }

    /** Where the flow's path (own address, 4via6, subnet) leads, or null when none takes it. */
    private InetSocketAddress routedTarget(IpAddress dst, int port) {
        if (localAddresses.contains(dst)) {
            if (!processLocalIps && !policy.interceptedTcpPorts().contains(port)) {
                return null;
            }
            return new InetSocketAddress(LOOPBACK_V4, port);
        }
        if (TailnetAddresses.isVia(dst)) {
            IpAddress v4 = TailnetAddresses.unmapVia(dst);
            if (ViaSafety.refuses(v4) || !policy.handlesVia(dst)) {
                counters.viaRefused().increment();
                return null;
            }
            return new InetSocketAddress(v4.toInetAddress(), port);
        }
        if (!processSubnets || TailnetAddresses.isTailscaleIp(dst) || !policy.routesSubnet(dst)) {
            return null;
        }
        return new InetSocketAddress(dst.toInetAddress(), port);
    }

    // ---- TCP -----------------------------------------------------------------------------------

    /** Tailscale's {@code acceptTCP}: decide, dial upstream before the handshake, then copy. */
    void acceptTcp(ForwarderRequest request) {
        TransportEndpointId id = request.id();
        if (draining.getAsBoolean()) {
            counters.refusedWhileDraining().increment();
            request.complete(true);
            return;
        }
        IpAddress clientIp = id.remoteAddress();
        IpAddress dst = id.localAddress();
        int port = id.localPort();
        if (!validClient(clientIp)) {
            request.complete(true);
            return;
        }
        InetSocketAddress clientAddr = new InetSocketAddress(clientIp.toInetAddress(), id.remotePort());
        InetSocketAddress dstAddr = new InetSocketAddress(dst.toInetAddress(), port);
        if (TailnetAddresses.isServiceIp(dst)) {
            if (port == 53) {
                handleWith(request, dns::serveTcp);
            } else {
                // Nothing else is served on the service IP: absorbed with a RST, never forwarded.
                request.complete(true);
            }
            return;
        }
        boolean local = localAddresses.contains(dst);
        Consumer<TcpConn> intercepted = local ? handlers.interceptedTcp(port) : null;
        if (intercepted != null) {
            handleWith(request, intercepted);
            return;
        }
        switch (handlers.tcpFor(clientAddr, dstAddr)) {
            case FlowDecision.Handle<TcpConn> h -> {
                handleWith(request, h.handler());
                return;
            }
            case FlowDecision.Reject<TcpConn> r -> {
                request.complete(true);
                return;
            }
            case FlowDecision.Pass<TcpConn> p -> { }
        }
        InetSocketAddress dial = dialTarget(dst, port);
        if (dial == null) {
            request.complete(true);
            return;
        }
        if (heapPressure.getAsBoolean()) {
            // A flow taken now could run the heap out for every flow held: refuse it as a
            // refused dial is, with a RST, so the client fails at once instead of retrying a SYN.
            counters.refusedMemoryPressure().increment();
            request.complete(true);
            return;
        }
        // Held for the flow's life: its packets keep being taken if a netmap update withdraws dst.
        subnetAddresses.acquire(dst);
        FlowRegistry.Entry entry = flows.open(FlowInfo.Protocol.TCP, clientAddr, dial);
        try {
            tcpFlows.run(request, dial, true, observerFor(entry, clientIp));
        } finally {
            entry.close();
            subnetAddresses.release(dst);
        }
    }

    private void handleWith(ForwarderRequest request, Consumer<TcpConn> handler) {
        TcpEndpoint ep;
        try {
            ep = request.createEndpoint();
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "handshake with {0} failed: {1}", request.id(), e.getMessage());
            return;
        }
        ep.setKeepAlive(true);
        handler.accept(new TcpConn(ep));
    }

    /** Counts bytes for the flow list and keeps the ProxyMap in step with the upstream socket. */
    private FlowObserver observerFor(FlowRegistry.Entry entry, IpAddress clientIp) {
        return new FlowObserver() {
            private volatile InetSocketAddress upstream;

            @Override
            public void upstreamOpen(InetSocketAddress local) {
                upstream = local;
                proxyMap.register(local, clientIp);
                entry.state("open");
            }

            @Override
            public void dialFailed(boolean cancelled) {
                entry.state(cancelled ? "cancelled" : "refused");
            }

            @Override
            public void bytesFromClient(int n) {
                entry.bytesFromClient(n);
                counters.forwardedFromClients().add(n);
            }

            @Override
            public void bytesToClient(int n) {
                entry.bytesToClient(n);
                counters.forwardedToClients().add(n);
            }

            @Override
            public void closed() {
                InetSocketAddress u = upstream;
                if (u != null) {
                    proxyMap.unregister(u);
                }
                entry.state("closed");
            }
        };
    }

    // ---- UDP -----------------------------------------------------------------------------------

    /** Tailscale's {@code acceptUDP}/{@code forwardUDP}. */
    void acceptUdp(UdpForwarderRequest request) {
        TransportEndpointId id = request.id();
        if (draining.getAsBoolean()) {
            counters.refusedWhileDraining().increment();
            return;
        }
        IpAddress dst = id.localAddress();
        int port = id.localPort();
        if (!validClient(id.remoteAddress())) {
            counters.udpNotForwarded().increment();
            return;
        }
        if (TailnetAddresses.isServiceIp(dst)) {
            if (port == 53) {
                dns.serveUdp(request.createEndpoint());
            } else {
                counters.udpNotForwarded().increment();
            }
            return;
        }
        InetSocketAddress clientAddr = new InetSocketAddress(id.remoteAddress().toInetAddress(), id.remotePort());
        InetSocketAddress dstAddr = new InetSocketAddress(dst.toInetAddress(), port);
        switch (handlers.udpFor(clientAddr, dstAddr)) {
            case FlowDecision.Handle<UdpConn> h -> {
                h.handler().accept(new UdpConn(request.createEndpoint()));
                return;
            }
            case FlowDecision.Reject<UdpConn> r -> {
                counters.udpNotForwarded().increment();
                return;
            }
            case FlowDecision.Pass<UdpConn> p -> { }
        }
        InetSocketAddress dial = dialTarget(dst, port);
        if (dial == null) {
            // Nothing is created, so the datagram is dropped and counted.
            counters.udpNotForwarded().increment();
            return;
        }
        if (heapPressure.getAsBoolean()) {
            // No endpoint is created: the datagram is dropped, and the next one tries again.
            counters.refusedMemoryPressure().increment();
            return;
        }
        boolean local = localAddresses.contains(dst);
        // Held for the flow's life: its packets keep being taken if a netmap update withdraws dst.
        subnetAddresses.acquire(dst);
        UdpEndpoint client = request.createEndpoint();
        FlowRegistry.Entry entry = flows.open(FlowInfo.Protocol.UDP, clientAddr, dial);
        try {
            if (!udpFlows.run(id, client, dial, local, UdpFlowForwarder.idleTimeoutFor(port),
                    observerFor(entry, id.remoteAddress()))) {
                // No backend socket (no route, the broadcast address): nothing was forwarded.
                counters.udpNotForwarded().increment();
            }
        } finally {
            entry.close();
            subnetAddresses.release(dst);
        }
    }
}
