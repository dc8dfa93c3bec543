package dev.loomstack.engine;

import dev.loomstack.packet.IpPrefix;
import java.util.List;
import java.util.Objects;

/**
 * What the admin pushes: the self node, the peers and the tailnet DNS domain (the subset of
 * Tailscale's {@code netmap.NetworkMap} that the netstack reads).
 */
public record NetworkMap(Node selfNode, List<Node> peers, String domain) {
    /** The map in force before any has been applied: the embedded self addresses, no peers. */
    public static NetworkMap initial(String selfName, List<IpPrefix> selfAddresses) {
        return new NetworkMap(new Node(selfName, selfAddresses, selfAddresses), List.of(), "");
    }

    public NetworkMap {
        Objects.requireNonNull(selfNode, "selfNode");
        peers = peers == null ? List.of() : List.copyOf(peers);
        domain = domain == null ? "" : domain;
    }
}
