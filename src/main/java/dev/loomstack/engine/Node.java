package dev.loomstack.engine;

import dev.loomstack.packet.IpPrefix;
import java.util.List;
import java.util.Objects;

/**
 * A node of the tailnet as the netmap describes it: its name, its own addresses and the prefixes
 * it is allowed to carry (the self node's {@code allowedIPs} are its addresses plus advertised
 * routes; a peer's may be empty).
 */
public record Node(String name, List<IpPrefix> addresses, List<IpPrefix> allowedIPs) {
    public Node {
        Objects.requireNonNull(name, "name");
        addresses = List.copyOf(addresses);
        allowedIPs = allowedIPs == null ? List.of() : List.copyOf(allowedIPs);
    }
}
