package dev.loomstack.engine;

import dev.loomstack.link.wireguard.WireGuardKey;
import dev.loomstack.packet.IpPrefix;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What the admin pushes: the self node, the peers and the tailnet DNS domain (the subset of
 * Tailscale's {@code netmap.NetworkMap} that the netstack reads). Peers' WireGuard keys are unique:
 * a key names one peer (cryptokey routing has no other identity).
 */
public record NetworkMap(Node selfNode, List<Node> peers, String domain) {
    /** The map in force before any has been applied: the embedded self addresses, no peers. */
    public static NetworkMap initial(String selfName, List<IpPrefix> selfAddresses) {
        return new NetworkMap(new Node(selfName, selfAddresses, selfAddresses), List.of(), "");
    }

    /** @throws InvalidNetmapException naming the second peer of two with the same public key */
    public NetworkMap {
        Objects.requireNonNull(selfNode, "selfNode");
        peers = peers == null ? List.of() : List.copyOf(peers);
        domain = domain == null ? "" : domain;
        Map<WireGuardKey, Integer> seen = new HashMap<>();
        for (int i = 0; i < peers.size(); i++) {
            var wg = peers.get(i).wireGuard();
            if (wg.isPresent()) {
                Integer first = seen.putIfAbsent(wg.get().publicKey(), i);
                if (first != null) {
                    throw new InvalidNetmapException(peerField(i, "publicKey"),
                            "the same key as peers[" + first + "] (a WireGuard key names one peer)");
                }
            }
        }
    }

    /** {@code peers[i].field}, as the admin API's document names a peer's field. */
    public static String peerField(int index, String field) {
        return "peers[" + index + "]." + field;
    }
}
