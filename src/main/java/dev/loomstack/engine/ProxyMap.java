package dev.loomstack.engine;

import dev.loomstack.packet.IpAddress;
import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which tailnet client is behind a backend-side local socket (Tailscale's {@code proxymap.Mapper}):
 * every forwarded flow registers its upstream socket's local {@code ip:port} for as long as it
 * lives, so a local service seeing a connection from {@code 127.0.0.1:54321} can ask who it is.
 */
public final class ProxyMap {
    private final ConcurrentHashMap<InetSocketAddress, IpAddress> byLocal = new ConcurrentHashMap<>();

    public void register(InetSocketAddress local, IpAddress client) {
        byLocal.put(normalise(local), client);
    }

    public void unregister(InetSocketAddress local) {
        byLocal.remove(normalise(local));
    }

    public Optional<IpAddress> lookup(InetSocketAddress local) {
        return Optional.ofNullable(byLocal.get(normalise(local)));
    }

    public int size() {
        return byLocal.size();
    }

    /** IPv4-mapped IPv6 addresses and unresolved names are compared as their plain IP form. */
    private static InetSocketAddress normalise(InetSocketAddress a) {
        IpAddress ip = IpAddress.of(a.getAddress());
        return new InetSocketAddress(ip.toInetAddress(), a.getPort());
    }
}
