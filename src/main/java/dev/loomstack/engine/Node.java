package dev.loomstack.engine;

import dev.loomstack.packet.IpPrefix;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A node of the tailnet as the netmap describes it: its name, its own addresses and the prefixes
 * it is allowed to carry (the self node's {@code allowedIPs} are its addresses plus advertised
 * routes; a peer's may be empty), and, for a peer reached over WireGuard, its key, endpoint,
 * pre-shared key reference and keepalive (none on the self node: its key is the link's).
 */
public record Node(String name, List<IpPrefix> addresses, List<IpPrefix> allowedIPs, Optional<WireGuardPeer> wireGuard) {
    public Node {
        Objects.requireNonNull(name, "name");
        addresses = List.copyOf(addresses);
        allowedIPs = allowedIPs == null ? List.of() : List.copyOf(allowedIPs);
        wireGuard = wireGuard == null ? Optional.empty() : wireGuard;
    }

    /** A node without a WireGuard side (the self node; a peer in {@code tun} mode). */
    public Node(String name, List<IpPrefix> addresses, List<IpPrefix> allowedIPs) {
        this(name, addresses, allowedIPs, Optional.empty());
    }
}
