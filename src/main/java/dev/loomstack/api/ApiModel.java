package dev.loomstack.api;

import dev.loomstack.engine.FlowInfo;
import dev.loomstack.engine.InFlightLimits;
import dev.loomstack.engine.NetmapChange;
import dev.loomstack.engine.NetworkMap;
import dev.loomstack.engine.Node;
import dev.loomstack.engine.Whois;
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

    @Schema(description = "A tailnet node: its name, its own addresses and the prefixes it may carry")
    public record NodeView(
            @Schema(example = "router-1") @NotNull @Size(min = 1, max = 253) @Pattern(regexp = NAME_PATTERN,
                    message = "must be a DNS name (letters, digits, hyphens, dots)") String name,
            @Schema(example = "[\"100.64.0.1/32\", \"fd7a:115c:a1e0::1/128\"]")
            @NotNull @Size(max = MAX_ADDRESSES) List<@NotNull @IpPrefixText String> addresses,
            @Schema(description = "Own addresses plus advertised routes (self node); may be empty for peers",
                    example = "[\"100.64.0.1/32\", \"10.0.0.0/24\"]")
            @Size(max = MAX_ALLOWED_IPS) List<@NotNull @IpPrefixText String> allowedIPs) {

        Node toNode() {
            return new Node(name, addresses.stream().map(IpPrefix::parseStrict).toList(),
                    allowedIPs == null ? List.of() : allowedIPs.stream().map(IpPrefix::parseStrict).toList());
        }

        static NodeView of(Node n) {
            return new NodeView(n.name(), n.addresses().stream().map(IpPrefix::toString).toList(),
                    n.allowedIPs().stream().map(IpPrefix::toString).toList());
        }
    }

    @Schema(description = "A network map: the self node, its peers and the tailnet DNS domain")
    public record NetmapView(
            @NotNull @Valid NodeView selfNode,
            @Size(max = MAX_PEERS) List<@NotNull @Valid NodeView> peers,
            @Schema(example = "tail.example") @Size(max = 253)
            @Pattern(regexp = DOMAIN_PATTERN, message = "must be a DNS domain") String domain) {

        @Schema(hidden = true)
        @AssertTrue(message = "selfNode must have at least one address")
        public boolean isSelfAddressed() {
            return selfNode == null || selfNode.addresses() == null || !selfNode.addresses().isEmpty();
        }

        NetworkMap toNetworkMap() {
            return new NetworkMap(selfNode.toNode(), peers == null ? List.of() : peers.stream().map(NodeView::toNode).toList(),
                    domain == null ? "" : domain);
        }

        static NetmapView of(NetworkMap m) {
            return new NetmapView(NodeView.of(m.selfNode()), m.peers().stream().map(NodeView::of).toList(), m.domain());
        }
    }

    @Schema(description = "The map now in force and what applying it changed on the NIC")
    public record NetmapApplied(NetmapView applied, List<String> added, List<String> removed) {
        static NetmapApplied of(NetmapChange c) {
            return new NetmapApplied(NetmapView.of(c.applied()), c.added().stream().map(IpPrefix::toString).toList(),
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

    static String hostPort(java.net.InetSocketAddress a) {
        String host = a.getAddress().getHostAddress();
        return (host.indexOf(':') >= 0 ? "[" + dev.loomstack.packet.IpAddress.of(a.getAddress()) + "]" : host)
                + ":" + a.getPort();
    }

}
