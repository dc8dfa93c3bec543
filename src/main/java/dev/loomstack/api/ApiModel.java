package dev.loomstack.api;

import com.fasterxml.jackson.annotation.JsonIgnore;
import dev.loomstack.engine.FlowInfo;
import dev.loomstack.engine.InFlightLimits;
import dev.loomstack.engine.NetmapChange;
import dev.loomstack.engine.NetworkMap;
import dev.loomstack.engine.Node;
import dev.loomstack.engine.Whois;
import dev.loomstack.engine.WireGuardPeer;
import dev.loomstack.wireguard.WireGuardKey;
import dev.loomstack.wireguard.WireGuardStatus;
import dev.loomstack.packet.IpPrefix;
import io.swagger.v3.oas.annotations.media.Schema;
import jakarta.validation.Valid;
import jakarta.validation.constraints.AssertTrue;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotEmpty;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import jakarta.validation.constraints.Size;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/** The JSON shapes of the admin API, in Tailscale's vocabulary. */
public final class ApiModel {
    /** A DNS label sequence: letters, digits, hyphens, dots; what a node name may be. */
    static final String NAME_PATTERN = "^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$";
    static final String DOMAIN_PATTERN = "^$|" + NAME_PATTERN;
    /** Bounds that keep one request's work and memory small. */
    static final int MAX_ADDRESSES = 64;
    static final int MAX_ALLOWED_IPS = 4096;
    static final int MAX_PEERS = 10_000;
    public static final int MAX_PAGE_SIZE = 500;
    public static final int MAX_IN_FLIGHT = 1_000_000;

    private ApiModel() {}

    /** A WireGuard key, as the documents' examples show one. */
    static final String KEY_EXAMPLE = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";

    @Schema(description = "The self node: this router's name, its own addresses and the prefixes it carries")
    public record SelfNodeView(
            @Schema(example = "router-1") @NotNull @Size(min = 1, max = 253) @Pattern(regexp = NAME_PATTERN,
                    message = "must be a DNS name (letters, digits, hyphens, dots)") String name,
            @Schema(example = "[\"100.64.0.1/32\", \"fd7a:115c:a1e0::1/128\"]")
            @NotNull @Size(max = MAX_ADDRESSES) List<@NotNull @IpPrefixText String> addresses,
            @Schema(description = "Own addresses plus advertised routes",
                    example = "[\"100.64.0.1/32\", \"10.0.0.0/24\"]")
            @Size(max = MAX_ALLOWED_IPS) List<@NotNull @IpPrefixText String> allowedIPs,
            @Schema(accessMode = Schema.AccessMode.READ_ONLY, nullable = true, example = KEY_EXAMPLE,
                    description = "This router's WireGuard public key (loomstack.link=wireguard; null otherwise). "
                            + "Reported, never taken: the key is the router's own (loomstack.wireguard.private-key-file "
                            + "or the generated <state-dir>/wireguard.key)")
            String publicKey) {

        Node toNode() {
            return new Node(name, addresses.stream().map(IpPrefix::parseStrict).toList(),
                    allowedIPs == null ? List.of() : allowedIPs.stream().map(IpPrefix::parseStrict).toList());
        }

        static SelfNodeView of(Node n, Optional<WireGuardKey> publicKey) {
            return new SelfNodeView(n.name(), n.addresses().stream().map(IpPrefix::toString).toList(),
                    n.allowedIPs().stream().map(IpPrefix::toString).toList(),
                    publicKey.map(WireGuardKey::toBase64).orElse(null));
        }
    }

    @Schema(description = "A peer: its name, its own addresses, the prefixes it may carry and, to reach it over "
            + "WireGuard (loomstack.link=wireguard), its key, endpoint, pre-shared key and keepalive. A peer with a "
            + "publicKey becomes a WireGuard peer whose allowed IPs are its addresses plus its allowedIPs")
    public record NodeView(
            @Schema(example = "laptop") @NotNull @Size(min = 1, max = 253) @Pattern(regexp = NAME_PATTERN,
                    message = "must be a DNS name (letters, digits, hyphens, dots)") String name,
            @Schema(example = "[\"100.64.0.2/32\", \"fd7a:115c:a1e0::2/128\"]")
            @NotNull @Size(max = MAX_ADDRESSES) List<@NotNull @IpPrefixText String> addresses,
            @Schema(description = "Prefixes the peer carries besides its addresses; may be empty",
                    example = "[\"192.168.7.0/24\"]")
            @Size(max = MAX_ALLOWED_IPS) List<@NotNull @IpPrefixText String> allowedIPs,
            @Schema(nullable = true, example = KEY_EXAMPLE, description = "The peer's WireGuard public key (base64, "
                    + "as wg pubkey prints it); unique among the peers and not this router's own")
            @WireGuardKeyText String publicKey,
            @Schema(nullable = true, example = "198.51.100.7:51820", description = "Where to reach the peer until it "
                    + "roams: host:port, IPv6 as [addr]:port; a host name is resolved each time the netmap is "
                    + "applied. Absent: wait for the peer to make contact. Needs publicKey")
            @Size(max = 262) @PeerEndpointText String endpoint,
            @Schema(nullable = true, example = "laptop.psk", description = "The NAME of the file in "
                    + "loomstack.wireguard.preshared-key-dir holding the peer's pre-shared key (base64, as wg genpsk "
                    + "prints it), read each time the netmap is applied; never the key itself. Needs publicKey")
            @Pattern(regexp = WireGuardPeer.PRESHARED_KEY_NAME_REGEX, message = WireGuardPeer.PRESHARED_KEY_NAME_RULE)
            String presharedKey,
            @Schema(nullable = true, example = "25", description = "Seconds between keepalives sent while the "
                    + "session is idle (for peers behind NAT); 0 or absent: off. Needs publicKey")
            @Min(0) @Max(WireGuardPeer.MAX_PERSISTENT_KEEPALIVE) Integer persistentKeepalive) {

        /** A check, not a field: never written into responses. */
        @Schema(hidden = true)
        @JsonIgnore
        @AssertTrue(message = "is required with endpoint, presharedKey or persistentKeepalive")
        public boolean isWireGuardKeyed() {
            return publicKey != null || (endpoint == null && presharedKey == null && persistentKeepalive == null);
        }

        Node toNode() {
            Optional<WireGuardPeer> wg = publicKey == null ? Optional.empty() : Optional.of(new WireGuardPeer(
                    WireGuardKey.parse(publicKey), Optional.ofNullable(endpoint), Optional.ofNullable(presharedKey),
                    persistentKeepalive == null ? 0 : persistentKeepalive));
            return new Node(name, addresses.stream().map(IpPrefix::parseStrict).toList(),
                    allowedIPs == null ? List.of() : allowedIPs.stream().map(IpPrefix::parseStrict).toList(), wg);
        }

        static NodeView of(Node n) {
            Optional<WireGuardPeer> wg = n.wireGuard();
            return new NodeView(n.name(), n.addresses().stream().map(IpPrefix::toString).toList(),
                    n.allowedIPs().stream().map(IpPrefix::toString).toList(),
                    wg.map(w -> w.publicKey().toBase64()).orElse(null),
                    wg.flatMap(WireGuardPeer::endpoint).orElse(null),
                    wg.flatMap(WireGuardPeer::presharedKey).orElse(null),
                    wg.map(WireGuardPeer::persistentKeepalive).orElse(null));
        }
    }

    @Schema(description = "A network map: the self node, its peers and the tailnet DNS domain")
    public record NetmapView(
            @NotNull @Valid SelfNodeView selfNode,
            @Size(max = MAX_PEERS) List<@NotNull @Valid NodeView> peers,
            @Schema(example = "tail.example") @Size(max = 253)
            @Pattern(regexp = DOMAIN_PATTERN, message = "must be a DNS domain") String domain) {

        @Schema(hidden = true)
        @AssertTrue(message = "selfNode must have at least one address")
        public boolean isSelfAddressed() {
            return selfNode == null || selfNode.addresses() == null || !selfNode.addresses().isEmpty();
        }

        /** @throws dev.loomstack.engine.NetworkMap.InvalidException for two peers with the same public key */
        NetworkMap toNetworkMap() {
            return new NetworkMap(selfNode.toNode(), peers == null ? List.of() : peers.stream().map(NodeView::toNode).toList(),
                    domain == null ? "" : domain);
        }

        static NetmapView of(NetworkMap m, Optional<WireGuardKey> selfKey) {
            return new NetmapView(SelfNodeView.of(m.selfNode(), selfKey), m.peers().stream().map(NodeView::of).toList(),
                    m.domain());
        }
    }

    @Schema(description = "The map now in force and what applying it changed on the NIC")
    public record NetmapApplied(NetmapView applied, List<String> added, List<String> removed) {
        static NetmapApplied of(NetmapChange c, Optional<WireGuardKey> selfKey) {
            return new NetmapApplied(NetmapView.of(c.applied(), selfKey), c.added().stream().map(IpPrefix::toString).toList(),
                    c.removed().stream().map(IpPrefix::toString).toList());
        }
    }

    @Schema(description = "Forwarding limits: in-flight TCP handshakes (global and per client IP) and open UDP flows")
    public record LimitsView(
            @Schema(example = "8192") @NotNull @Min(1) @Max(MAX_IN_FLIGHT) Integer maxInFlight,
            @Schema(example = "5461") @NotNull @Min(1) @Max(MAX_IN_FLIGHT) Integer maxInFlightPerClient,
            @Schema(example = "65536", description = "UDP flows open at once; unchanged when absent")
            @Min(1) @Max(InFlightLimits.MAX_UDP_FLOWS) Integer maxUdpFlows) {

        @Schema(hidden = true)
        @AssertTrue(message = "maxInFlightPerClient must not exceed maxInFlight")
        public boolean isPerClientWithinGlobal() {
            return maxInFlight == null || maxInFlightPerClient == null || maxInFlightPerClient <= maxInFlight;
        }

        /** The limits this view asks for; an absent {@code maxUdpFlows} keeps {@code current}'s. */
        InFlightLimits toLimits(InFlightLimits current) {
            return new InFlightLimits(maxInFlight, maxInFlightPerClient,
                    maxUdpFlows != null ? maxUdpFlows : current.maxUdpFlows());
        }

        static LimitsView of(InFlightLimits l) {
            return new LimitsView(l.maxInFlight(), l.maxInFlightPerClient(), l.maxUdpFlows());
        }
    }

    @Schema(description = "One forwarded flow now open")
    public record FlowView(
            long id,
            @Schema(allowableValues = {"TCP", "UDP"}) String protocol,
            @Schema(example = "100.64.0.2:51234") String client,
            @Schema(example = "10.0.0.5:443") String destination,
            @Schema(example = "open") String state,
            long bytesFromClient,
            long bytesToClient,
            @Schema(description = "Seconds since the flow opened") long ageSeconds) {

        static FlowView of(FlowInfo f, Instant now) {
            return new FlowView(f.id(), f.protocol().name(), hostPort(f.client()), hostPort(f.destination()), f.state(),
                    f.bytesFromClient(), f.bytesToClient(), Math.max(0, Duration.between(f.opened(), now).toSeconds()));
        }
    }

    @Schema(description = "A page of open flows, oldest first")
    public record FlowPage(List<FlowView> content, int page, int size, long totalElements, int totalPages) {}

    @Schema(description = "The tailnet peer behind a backend-side local connection")
    public record WhoisView(
            @Schema(example = "127.0.0.1:54321") String addr,
            @Schema(example = "100.64.0.2") String peerAddress,
            @Schema(example = "laptop", nullable = true) String peerName) {
        static WhoisView of(Whois w) {
            return new WhoisView(hostPort(w.local()), w.peerAddress().toString(), w.peerName());
        }
    }

    @Schema(description = "The WireGuard link as wg show reports it: this router's public key and UDP port, and "
            + "every configured peer")
    public record WireGuardView(
            @Schema(example = KEY_EXAMPLE) String publicKey,
            @Schema(example = "51820", description = "The UDP port WireGuard listens on") int listenPort,
            List<WireGuardPeerView> peers) {
        static WireGuardView of(WireGuardStatus s, NetworkMap map) {
            // Names by key, built once: a netmap may hold thousands of peers.
            java.util.Map<WireGuardKey, String> names = new java.util.HashMap<>();
            if (map != null) {
                map.peers().forEach(n -> n.wireGuard().ifPresent(w -> names.put(w.publicKey(), n.name())));
            }
            return new WireGuardView(s.publicKey().toBase64(), s.listenPort(),
                    s.peers().stream().map(p -> WireGuardPeerView.of(p, names.get(p.publicKey()))).toList());
        }
    }

    @Schema(description = "One WireGuard peer as wg show reports it (the pre-shared key only as whether there is one)")
    public record WireGuardPeerView(
            @Schema(example = KEY_EXAMPLE) String publicKey,
            @Schema(example = "laptop", nullable = true, description = "The peer's name in the netmap") String name,
            @Schema(example = "198.51.100.7:51820", nullable = true, description = "Where its last authenticated "
                    + "packet came from, else the configured endpoint; null: none yet") String endpoint,
            @Schema(example = "2026-11-29T01:02:03Z", nullable = true, format = "date-time", description = "When the "
                    + "latest handshake completed (ISO 8601 instant); null: none yet") String latestHandshake,
            @Schema(description = "Bytes of transport messages received from the peer (outer UDP payloads, as wg "
                    + "show's transfer line)") long receivedBytes,
            @Schema(description = "Bytes of transport messages sent to the peer (outer UDP payloads)") long sentBytes,
            @Schema(example = "[\"100.64.0.2/32\", \"192.168.7.0/24\"]", description = "Prefixes routed to the "
                    + "peer and accepted from it: its addresses plus its allowedIPs") List<String> allowedIps,
            @Schema(example = "25", description = "Seconds between keepalives when idle; 0: off") long persistentKeepalive,
            @Schema(description = "Whether the peer has a pre-shared key (the key itself is never shown)")
            boolean presharedKey) {
        static WireGuardPeerView of(WireGuardStatus.Peer p, String name) {
            return new WireGuardPeerView(p.publicKey().toBase64(), name, p.endpoint().map(ApiModel::hostPort).orElse(null),
                    p.latestHandshake().map(java.time.Instant::toString).orElse(null), p.receivedBytes(), p.sentBytes(),
                    p.allowedIps().stream().map(IpPrefix::toString).toList(), p.persistentKeepalive().toSeconds(),
                    p.presharedKey());
        }
    }

    static String hostPort(java.net.InetSocketAddress a) {
        String host = a.getAddress().getHostAddress();
        return (host.indexOf(':') >= 0 ? "[" + dev.loomstack.packet.IpAddress.of(a.getAddress()) + "]" : host)
                + ":" + a.getPort();
    }

}
