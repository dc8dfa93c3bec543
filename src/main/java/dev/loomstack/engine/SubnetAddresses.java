package dev.loomstack.engine;

import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.IpPrefix;
import dev.loomstack.stack.Stack;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Who holds each address on the NIC: the netmap (its self addresses and routes) and the open
 * forwarded flows (Tailscale's {@code connsOpenBySubnetIP}). An address is registered while either
 * holds it and removed when the last holder lets go. An address held by open flows also stays
 * routable for them ({@link #heldByFlows}, consulted by the {@link InboundPolicy}) when the netmap
 * no longer routes it: as in Tailscale's netstack, a netmap update decides only new flows. This
 * settles the TODO in Tailscale's {@code UpdateNetstackIPs}: there a netmap update skipped removing any address with open
 * flows (so an address both advertised and in use could later be removed by the flow count while
 * still advertised, or stay forever once un-advertised); here each holder is counted separately.
 */
public final class SubnetAddresses {
    private static final System.Logger LOG = System.getLogger(SubnetAddresses.class.getName());
    /** Never installed by the netmap, so never the netmap's to remove (as in Tailscale's netstack). */
    static final IpPrefix V4_BROADCAST = IpPrefix.host(IpAddress.V4_BROADCAST);

    private final Stack stack;
    private final Set<IpPrefix> netmapPrefixes = new HashSet<>();
    /** Written under this object's lock; read lock-free on every inbound packet. */
    private final Map<IpAddress, Integer> flowsByAddress = new ConcurrentHashMap<>();

    public SubnetAddresses(Stack stack) {
        this.stack = stack;
    }

    /** A flow to {@code ip} starts: registers it on first use. */
    public synchronized void acquire(IpAddress ip) {
        int n = flowsByAddress.merge(ip, 1, Integer::sum);
        if (n == 1 && !netmapPrefixes.contains(IpPrefix.host(ip))) {
            stack.addAddress(IpPrefix.host(ip));
        }
    }

    /** A flow to {@code ip} ended: removed after the last, unless the netmap still holds it. */
    public synchronized void release(IpAddress ip) {
        Integer n = flowsByAddress.get(ip);
        if (n == null) {
            return;
        }
        if (n > 1) {
            flowsByAddress.put(ip, n - 1);
            return;
        }
        flowsByAddress.remove(ip);
        if (!netmapPrefixes.contains(IpPrefix.host(ip))) {
            stack.removeAddress(IpPrefix.host(ip));
        }
    }

    /** True while an open flow holds {@code ip}; lock-free and allocation-free, for the packet path. */
    public boolean heldByFlows(IpAddress ip) {
        return flowsByAddress.containsKey(ip);
    }

    public synchronized int openFlows(IpAddress ip) {
        return flowsByAddress.getOrDefault(ip, 0);
    }

    /** The result of {@link #applyNetmap}: prefixes the netmap added and removed. */
    public record Diff(List<IpPrefix> added, List<IpPrefix> removed) {}

    /**
     * Makes {@code next} the netmap's set of prefixes (Tailscale's {@code UpdateNetstackIPs}): new
     * ones are registered, dropped ones removed unless open flows still use them.
     */
    public synchronized Diff applyNetmap(Set<IpPrefix> next) {
        List<IpPrefix> added = new ArrayList<>();
        List<IpPrefix> removed = new ArrayList<>();
        for (IpPrefix p : next) {
            if (p.equals(V4_BROADCAST) || netmapPrefixes.contains(p)) {
                continue;
            }
            added.add(p);
            if (!(p.isSingleAddress() && flowsByAddress.containsKey(p.address()))) {
                stack.addAddress(p);
            }
            LOG.log(Level.INFO, "netmap: registered {0}", p);
        }
        for (IpPrefix p : netmapPrefixes) {
            if (next.contains(p)) {
                continue;
            }
            removed.add(p);
            if (!(p.isSingleAddress() && flowsByAddress.containsKey(p.address()))) {
                stack.removeAddress(p);
            }
            LOG.log(Level.INFO, "netmap: deregistered {0}", p);
        }
        netmapPrefixes.clear();
        for (IpPrefix p : next) {
            if (!p.equals(V4_BROADCAST)) {
                netmapPrefixes.add(p);
            }
        }
        added.sort(null);
        removed.sort(null);
        return new Diff(added, removed);
    }
}
