package dev.loomstack.metrics;

import dev.loomstack.engine.EngineStats;
import dev.loomstack.engine.EngineStats.Figure;
import dev.loomstack.engine.EngineStats.Kind;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which meter shows which engine figure. Most figures become one meter each, named after the expvar
 * key ({@code counter_tcp_retransmits} is the counter {@code netstack_tcp_retransmits}, in
 * Prometheus {@code netstack_tcp_retransmits_total}; {@code gauge_forwarded_flows} the gauge
 * {@code netstack_forwarded_flows}). Counters that are parts of one whole become one family with a
 * tag, as Prometheus wants when a sum over the tag means something: packet drops by {@code reason},
 * MagicDNS queries by {@code result}. The expvar keys themselves ({@code /actuator/netstack}) stay
 * Tailscale's, one per figure.
 */
final class MeterPlan {
    static final String PREFIX = "netstack_";
    static final String DROPPED_PACKETS = PREFIX + "dropped_packets";
    static final String DNS_QUERIES = PREFIX + "dns_queries";
    static final String REASON = "reason";
    static final String RESULT = "result";

    /** One meter: a counter or a gauge, an optional tag, its help text, and the figure it reads. */
    record Planned(String name, boolean counter, String tagKey, String tagValue, String description, int figure) {}

    /**
     * Packets dropped, each counted once, by reason (the expvar key each reason mirrors). Not here:
     * TCP checksum errors (already among the invalid segments), flows refused for a 4via6 site or
     * a denied host port (a refused UDP datagram is also {@code udp_not_forwarded}), the link's own
     * drops (mostly packets the stack already counted as {@code send_error}), and the WireGuard
     * link's (datagrams refused before any IP packet reached the stack, packets to no peer: each is
     * a {@code netstack_wireguard_*} counter of its own, zero on any other link).
     */
    static final Map<String, String> DROP_REASONS = Map.ofEntries(
            Map.entry("counter_dropped_packets", "not_taken"),
            Map.entry("counter_ip_malformed_packets_received", "ip_malformed"),
            Map.entry("counter_ip_malformed_fragments_received", "ip_fragment"),
            Map.entry("counter_ip_invalid_source_addresses_received", "ip_invalid_source"),
            Map.entry("counter_ip_invalid_destination_addresses_received", "ip_invalid_destination"),
            Map.entry("counter_ip_forward_extension_header_problem", "ip_extension_header"),
            Map.entry("counter_ip_outgoing_packet_errors", "send_error"),
            Map.entry("counter_tcp_invalid_segments_received", "tcp_invalid"),
            Map.entry("counter_tcp_listen_overflow_syn_drop", "tcp_listen_overflow"),
            Map.entry("counter_tcp_forward_max_in_flight_drop", "tcp_in_flight_limit"),
            Map.entry("counter_tcp_forward_max_in_flight_per_client_drop", "tcp_per_client_limit"),
            Map.entry("counter_udp_malformed_packets_received", "udp_malformed"),
            Map.entry("counter_udp_checksum_errors", "udp_checksum"),
            Map.entry("counter_icmp_malformed_packets_received", "icmp_malformed"),
            Map.entry("counter_icmp_checksum_errors", "icmp_checksum"),
            Map.entry("counter_udp_unknown_port_errors", "udp_unknown_port"),
            Map.entry("counter_udp_receive_buffer_errors", "udp_receive_buffer_full"),
            Map.entry("counter_udp_not_forwarded", "udp_not_forwarded"),
            Map.entry("counter_udp_forward_max_flows_drop", "udp_flow_limit"),
            Map.entry("counter_refused_while_draining", "draining"),
            Map.entry("counter_ping_relay_over_limit", "ping_relay_limit"));

    /** MagicDNS queries by what became of them (each query counts once). */
    static final Map<String, String> DNS_RESULTS = Map.of(
            "counter_dns_answered_locally", "answered_locally",
            "counter_dns_forwarded", "forwarded",
            "counter_dns_malformed", "malformed");

    /**
     * Figures with no meter: Tailscale's process-wide client metrics equal the engine's own drop
     * counters in a service that runs one engine, so they would be a second series with the same
     * value; the drops are in {@link #DROPPED_PACKETS} ({@code tcp_in_flight_limit},
     * {@code tcp_per_client_limit}). Both stay on {@code /actuator/netstack}.
     */
    static final Set<String> NOT_METERED = Set.of(
            "netstack_tcp_forward_dropped_attempts", "netstack_tcp_forward_dropped_attempts_per_client");

    static final String DROPPED_HELP = "Packets dropped, counted once each, by reason: not_taken (no own address, "
            + "subnet or service IP takes it), ip_*, tcp_*, udp_*, icmp_* (malformed or refused by that layer), "
            + "tcp_in_flight_limit and tcp_per_client_limit (SYNs over the forwarding limits), udp_flow_limit, "
            + "udp_not_forwarded (no path for the datagram), draining (new flows during shutdown), "
            + "ping_relay_limit, send_error (could not be sent)";
    static final String DNS_HELP = "MagicDNS queries by result: answered_locally (from the netmap), forwarded "
            + "(to the upstream resolvers), malformed (dropped unanswered)";

    private MeterPlan() {}

    /** Every meter, in figure order. */
    static List<Planned> meters() {
        List<Figure> figures = EngineStats.figures();
        List<Planned> out = new ArrayList<>();
        for (int i = 0; i < figures.size(); i++) {
            Figure f = figures.get(i);
            String key = f.key();
            if (NOT_METERED.contains(key)) {
                continue;
            }
            boolean counter = f.kind() != Kind.GAUGE;
            if (DROP_REASONS.containsKey(key)) {
                out.add(new Planned(DROPPED_PACKETS, true, REASON, DROP_REASONS.get(key), DROPPED_HELP, i));
            } else if (DNS_RESULTS.containsKey(key)) {
                out.add(new Planned(DNS_QUERIES, true, RESULT, DNS_RESULTS.get(key), DNS_HELP, i));
            } else {
                out.add(new Planned(meterName(key), counter, null, null, f.description(), i));
            }
        }
        return out;
    }

    /** The meter name for an expvar key: its prefix ({@code counter_}, {@code gauge_}) becomes ours. */
    static String meterName(String key) {
        if (key.startsWith("counter_")) {
            return PREFIX + key.substring("counter_".length());
        }
        if (key.startsWith("gauge_")) {
            return PREFIX + key.substring("gauge_".length());
        }
        if (key.startsWith(PREFIX)) {
            return key;
        }
        throw new IllegalArgumentException("not an expvar key: " + key);
    }
}
