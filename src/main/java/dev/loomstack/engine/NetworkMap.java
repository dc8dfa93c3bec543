package dev.loomstack.engine;

import dev.loomstack.wireguard.WireGuardKey;
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

    /** @throws InvalidException naming the second peer of two with the same public key */
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
                    throw new InvalidException(peerField(i, "publicKey"),
                            "the same key as peers[" + first + "] (a WireGuard key names one peer)");
                }
            }
        }
    }

    /**
     * A netmap the engine refuses, naming the field as the admin API's document spells it
     * ({@code peers[2].publicKey}); the engine is left as it was.
     */
    public static final class InvalidException extends IllegalArgumentException {
        private final String field;

        public InvalidException(String field, String message) {
            super(field + ": " + message);
            this.field = field;
        }

        /** The offending field, such as {@code peers[2].presharedKey}. */
        public String field() {
            return field;
        }

        /** What is wrong, without the field. */
        public String reason() {
            return getMessage().substring(field.length() + 2);
        }
    }

    /** {@code peers[i].field}, as the admin API's document names a peer's field. */
    public static String peerField(int index, String field) {
        return "peers[" + index + "]." + field;
    }
}
