package dev.loomstack.config;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.loomstack.engine.NetworkMap;
import dev.loomstack.engine.Node;
import dev.loomstack.engine.WireGuardPeer;
import dev.loomstack.wireguard.WireGuardKey;
import dev.loomstack.packet.IpPrefix;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import tools.jackson.databind.util.StdConverter;

/**
 * A netmap as {@code state.json} and the {@code initial-netmap} document write it: the admin API's
 * netmap document field for field, a peer's WireGuard fields beside its addresses
 * ({@code publicKey}, {@code endpoint}, {@code presharedKey} reference, {@code persistentKeepalive};
 * left out when it has none, so a file of a peer without them reads as before). The self node's
 * {@code publicKey}, which the API reports, is not read: the key is the link's.
 */
record NetmapDocument(SelfDocument selfNode, List<PeerDocument> peers, String domain) {

    record SelfDocument(String name, List<IpPrefix> addresses, List<IpPrefix> allowedIPs) {}

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record PeerDocument(String name, List<IpPrefix> addresses, List<IpPrefix> allowedIPs, String publicKey,
                        String endpoint, String presharedKey, Integer persistentKeepalive) {}

    static NetmapDocument of(NetworkMap m) {
        Node self = m.selfNode();
        List<PeerDocument> peers = new ArrayList<>();
        for (Node n : m.peers()) {
            Optional<WireGuardPeer> wg = n.wireGuard();
            peers.add(new PeerDocument(n.name(), n.addresses(), n.allowedIPs(),
                    wg.map(w -> w.publicKey().toBase64()).orElse(null),
                    wg.flatMap(WireGuardPeer::endpoint).orElse(null),
                    wg.flatMap(WireGuardPeer::presharedKey).orElse(null),
                    wg.map(w -> w.persistentKeepalive() == 0 ? null : w.persistentKeepalive()).orElse(null)));
        }
        return new NetmapDocument(new SelfDocument(self.name(), self.addresses(), self.allowedIPs()), peers, m.domain());
    }

    /** @throws NetworkMap.InvalidException naming the field that is wrong */
    NetworkMap toNetworkMap() {
        if (selfNode == null) {
            throw new NetworkMap.InvalidException("selfNode", "is required");
        }
        Node self = new Node(require(selfNode.name(), "selfNode.name"),
                require(selfNode.addresses(), "selfNode.addresses"), selfNode.allowedIPs());
        List<Node> nodes = new ArrayList<>();
        if (peers != null) {
            for (int i = 0; i < peers.size(); i++) {
                nodes.add(peer(i, peers.get(i)));
            }
        }
        return new NetworkMap(self, nodes, domain);
    }

    private static Node peer(int i, PeerDocument p) {
        if (p == null) {
            throw new NetworkMap.InvalidException("peers[" + i + "]", "is null");
        }
        String name = require(p.name(), NetworkMap.peerField(i, "name"));
        List<IpPrefix> addresses = require(p.addresses(), NetworkMap.peerField(i, "addresses"));
        if (p.publicKey() == null) {
            if (p.endpoint() != null || p.presharedKey() != null || p.persistentKeepalive() != null) {
                throw new NetworkMap.InvalidException(NetworkMap.peerField(i, "publicKey"),
                        "is required with endpoint, presharedKey or persistentKeepalive");
            }
            return new Node(name, addresses, p.allowedIPs());
        }
        WireGuardKey key;
        try {
            key = WireGuardKey.parse(p.publicKey());
        } catch (IllegalArgumentException e) {
            throw new NetworkMap.InvalidException(NetworkMap.peerField(i, "publicKey"), e.getMessage());
        }
        try {
            return new Node(name, addresses, p.allowedIPs(), Optional.of(new WireGuardPeer(key,
                    Optional.ofNullable(p.endpoint()), Optional.ofNullable(p.presharedKey()),
                    p.persistentKeepalive() == null ? 0 : p.persistentKeepalive())));
        } catch (NetworkMap.InvalidException e) {
            throw new NetworkMap.InvalidException(NetworkMap.peerField(i, e.field()), e.reason());
        }
    }

    private static <T> T require(T value, String field) {
        if (value == null) {
            throw new NetworkMap.InvalidException(field, "is required");
        }
        return value;
    }

    /** Writes a netmap as its document. */
    static final class Writer extends StdConverter<NetworkMap, NetmapDocument> {
        @Override
        public NetmapDocument convert(NetworkMap value) {
            return of(value);
        }
    }

    /** Reads a document into a netmap, checked as the engine takes it. */
    static final class Reader extends StdConverter<NetmapDocument, NetworkMap> {
        @Override
        public NetworkMap convert(NetmapDocument value) {
            return value.toNetworkMap();
        }
    }
}
