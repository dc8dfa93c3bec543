package dev.loomstack.engine;

import dev.loomstack.packet.IpAddress;
import java.util.Collection;
import java.util.Set;

/**
 * The node's own addresses (Tailscale's {@code atomicIsLocalIPFunc}): replaced as a whole when a
 * netmap arrives, read lock-free on every packet.
 */
public final class LocalAddresses {
    private volatile Set<IpAddress> addresses = Set.of();

    public boolean contains(IpAddress a) {
        return addresses.contains(a);
    }

    public Set<IpAddress> snapshot() {
        return addresses;
    }

    /** Swaps in a new set atomically. */
    public void replace(Collection<IpAddress> next) {
        addresses = Set.copyOf(next);
    }
}
