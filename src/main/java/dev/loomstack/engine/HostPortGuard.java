package dev.loomstack.engine;

import dev.loomstack.stack.StatCounter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Keeps the router host's own services out of reach of the tailnet: a forwarded flow whose
 * dialled destination is an address of this host, on a denied port (the service's own HTTP ports
 * and the operator's {@code loomstack.deny-host-ports}), is refused whichever path led there —
 * the node's own address (dialled at {@code 127.0.0.1}), an advertised subnet that contains a
 * host address (a pod CIDR holds the pod's IP), or 4via6. Checked twice: before dialling, against
 * {@link HostAddresses}; and after connecting, because an address gained since the last reading
 * still shows itself there — for a destination on this host the kernel picks that same address as
 * the source (the local routing table's {@code src}), so the connected socket's local address
 * equals its remote one.
 */
public final class HostPortGuard {
    public static final int MIN_PORT = 1;
    public static final int MAX_PORT = 65_535;

    private final HostAddresses host;
    private final Set<Integer> deniedPorts = ConcurrentHashMap.newKeySet();
    private final StatCounter refused = new StatCounter();

    public HostPortGuard(HostAddresses host) {
        this.host = host;
    }

    /** Refuses {@code port} on the host's addresses from now on. */
    public void deny(int port) {
        deniedPorts.add(requireValidPort(port));
    }

    /** {@code port}, when it can be denied (TCP and UDP ports 1-65535). */
    static int requireValidPort(int port) {
        if (port < MIN_PORT || port > MAX_PORT) {
            throw new IllegalArgumentException("a denied host port must be within " + MIN_PORT + "-" + MAX_PORT
                    + ", got " + port);
        }
        return port;
    }

    public Set<Integer> deniedPorts() {
        return Set.copyOf(deniedPorts);
    }

    /** Flows refused so far ({@code counter_host_port_refused}). */
    public long refused() {
        return refused.value();
    }

    /** Before dialling {@code target}: true (and counted) when it is a denied port of this host. */
    public boolean refusesDial(InetSocketAddress target) {
        if (!deniedPorts.contains(target.getPort()) || !host.contains(target.getAddress())) {
            return false;
        }
        refused.increment();
        return true;
    }

    /**
     * After connecting from {@code local} to {@code remote}: true (and counted) when the socket
     * ends on this host on a denied port.
     */
    public boolean refusesConnected(InetSocketAddress local, InetSocketAddress remote) {
        if (!deniedPorts.contains(remote.getPort())) {
            return false;
        }
        InetAddress to = remote.getAddress();
        boolean onThisHost = to.isLoopbackAddress() || to.isAnyLocalAddress()
                || (local != null && to.equals(local.getAddress()));
        if (onThisHost) {
            refused.increment();
        }
        return onThisHost;
    }
}
