package dev.loomstack.engine;

import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.IpPrefix;
import dev.loomstack.packet.TcpHeader;
import dev.loomstack.packet.UdpHeader;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Which inbound packets the engine takes (Tailscale's {@code shouldProcessInbound}) and which echo
 * requests it relays (its {@code shouldHandlePing}). Pure decisions over the current local
 * addresses, advertised routes and intercepted ports, so they can be tested as tables.
 */
public final class InboundPolicy {
    private final LocalAddresses local;
    private final boolean processLocalIps;
    private final boolean processSubnets;
    private final Predicate<IpAddress> heldByOpenFlows;
    private volatile Set<Integer> interceptedTcpPorts = Set.of();
    private volatile List<IpPrefix> viaRoutes = List.of();
    private volatile List<IpPrefix> subnetRoutes = List.of();

    public InboundPolicy(LocalAddresses local, boolean processLocalIps, boolean processSubnets) {
        this(local, processLocalIps, processSubnets, ip -> false);
    }

    /**
     * @param heldByOpenFlows true for a destination that forwarded flows now open still use: their
     *                        TCP and UDP packets are taken even after a netmap update stopped
     *                        routing it (the update decides only new flows, which the engine refuses)
     */
    public InboundPolicy(LocalAddresses local, boolean processLocalIps, boolean processSubnets,
                         Predicate<IpAddress> heldByOpenFlows) {
        this.local = local;
        this.processLocalIps = processLocalIps;
        this.processSubnets = processSubnets;
        this.heldByOpenFlows = heldByOpenFlows;
    }

    /** Own-address TCP ports handled by registered handlers even when local IPs are not processed. */
    public void setInterceptedTcpPorts(Set<Integer> ports) {
        interceptedTcpPorts = Set.copyOf(ports);
    }

    public Set<Integer> interceptedTcpPorts() {
        return interceptedTcpPorts;
    }

    /**
     * The self node's allowed IPs: those inside the 4via6 range name the sites this router serves;
     * the others (less the node's own single addresses) are the subnets it routes to, however
     * wide (an IPv6 default route covers plain IPv6 hosts, never a 4via6 site). With no packet
     * filter in front of a single TUN, nothing outside them is taken: a peer must not reach
     * whatever the router's host can.
     */
    public void setAdvertisedRoutes(List<IpPrefix> routes) {
        viaRoutes = routes.stream().filter(TailnetAddresses::isViaRoute).toList();
        subnetRoutes = routes.stream()
                .filter(p -> !TailnetAddresses.isViaRoute(p))
                .filter(p -> !(p.isSingleAddress() && local.contains(p.address())))
                .toList();
    }

    /**
     * True when an advertised subnet route covers {@code dst}. A 4via6 address is never a subnet
     * host, whatever IPv6 route covers it: only {@link #handlesVia} opens it.
     */
    public boolean routesSubnet(IpAddress dst) {
        if (TailnetAddresses.isVia(dst)) {
            return false;
        }
        for (IpPrefix p : subnetRoutes) {
            if (p.contains(dst)) {
                return true;
            }
        }
        return false;
    }

    public boolean processesSubnets() {
        return processSubnets;
    }

    /**
     * True when a packet to {@code dst} (transport {@code protocol}, destination port
     * {@code dstPort} or -1) is for the engine. Order as Tailscale's netstack: intercepted own-address TCP
     * ports, 4via6, own addresses, then subnets (only those advertised). A destination the netmap
     * no longer routes is still taken for TCP and UDP while open flows hold it, so their packets
     * keep arriving; a new flow to it then reaches the engine, which refuses it (a RST, a counted
     * drop), and an echo request is dropped as before.
     */
    public boolean shouldProcessInbound(IpAddress dst, int protocol, int dstPort) {
        boolean isLocal = local.contains(dst);
        if (isLocal && protocol == TcpHeader.PROTOCOL && interceptedTcpPorts.contains(dstPort)) {
            return true;
        }
        if (!dst.v4() && !isLocal && TailnetAddresses.isVia(dst)) {
            return handlesVia(dst) || heldForFlow(dst, protocol);
        }
        if (isLocal) {
            return processLocalIps;
        }
        return (processSubnets && routesSubnet(dst)) || heldForFlow(dst, protocol);
    }

    private boolean heldForFlow(IpAddress dst, int protocol) {
        return (protocol == TcpHeader.PROTOCOL || protocol == UdpHeader.PROTOCOL) && heldByOpenFlows.test(dst);
    }

    /** True when an advertised 4via6 route covers {@code via}. */
    public boolean handlesVia(IpAddress via) {
        for (IpPrefix p : viaRoutes) {
            if (p.contains(via)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The address to ping on behalf of an echo request to {@code dst}, or null when the stack
     * answers (or ignores) it itself: 4via6 pings its IPv4 host (unless {@link ViaSafety} refuses
     * it); hosts in advertised subnets are pinged when subnets are processed; tailnet addresses
     * never are.
     */
    public IpAddress pingTarget(IpAddress dst) {
        if (TailnetAddresses.isVia(dst)) {
            IpAddress v4 = TailnetAddresses.unmapVia(dst);
            return ViaSafety.refuses(v4) ? null : v4;
        }
        if (!processSubnets || TailnetAddresses.isTailscaleIp(dst) || TailnetAddresses.isServiceIp(dst)) {
            return null;
        }
        if (local.contains(dst) || !routesSubnet(dst)) {
            return null;
        }
        return dst;
    }
}
