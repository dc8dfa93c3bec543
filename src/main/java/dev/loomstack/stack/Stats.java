package dev.loomstack.stack;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The stack's counters, grouped and named like Tailscale's {@code ExpVar()} keys: the field
 * {@code tcp.activeConnectionOpenings} is exported as {@code counter_tcp_active_connection_openings}.
 * Counters are bumped where the event happens; {@link #STATS} is the one place that names them
 * and says what each means.
 */
public final class Stats {
    public final StatCounter droppedPackets = new StatCounter();
    public final IpStats ip = new IpStats();
    public final TcpStats tcp = new TcpStats();
    public final UdpStats udp = new UdpStats();
    public final IcmpStats icmp = new IcmpStats();

    public static final class IpStats {
        public final StatCounter packetsReceived = new StatCounter();
        public final StatCounter validPacketsReceived = new StatCounter();
        public final StatCounter disabledPacketsReceived = new StatCounter();
        public final StatCounter invalidDestinationAddressesReceived = new StatCounter();
        public final StatCounter invalidSourceAddressesReceived = new StatCounter();
        public final StatCounter packetsDelivered = new StatCounter();
        public final StatCounter packetsSent = new StatCounter();
        public final StatCounter outgoingPacketErrors = new StatCounter();
        public final StatCounter malformedPacketsReceived = new StatCounter();
        public final StatCounter malformedFragmentsReceived = new StatCounter();
        public final StatCounter iptablesPreroutingDropped = new StatCounter();
        public final StatCounter iptablesInputDropped = new StatCounter();
        public final StatCounter iptablesForwardDropped = new StatCounter();
        public final StatCounter iptablesOutputDropped = new StatCounter();
        public final StatCounter iptablesPostroutingDropped = new StatCounter();
        public final StatCounter optionTimestampReceived = new StatCounter();
        public final StatCounter optionRecordRouteReceived = new StatCounter();
        public final StatCounter optionRouterAlertReceived = new StatCounter();
        public final StatCounter optionUnknownReceived = new StatCounter();
        public final IpForwardingStats forwarding = new IpForwardingStats();
    }

    public static final class IpForwardingStats {
        public final StatCounter unrouteable = new StatCounter();
        public final StatCounter exhaustedTtl = new StatCounter();
        public final StatCounter initializingSource = new StatCounter();
        public final StatCounter linkLocalSource = new StatCounter();
        public final StatCounter linkLocalDestination = new StatCounter();
        public final StatCounter packetTooBig = new StatCounter();
        public final StatCounter hostUnreachable = new StatCounter();
        public final StatCounter extensionHeaderProblem = new StatCounter();
        public final StatCounter unexpectedMulticastInputInterface = new StatCounter();
        public final StatCounter unknownOutputEndpoint = new StatCounter();
        public final StatCounter noMulticastPendingQueueBufferSpace = new StatCounter();
        public final StatCounter outgoingDeviceNoBufferSpace = new StatCounter();
        public final StatCounter errors = new StatCounter();
    }

    public static final class TcpStats {
        public final StatCounter activeConnectionOpenings = new StatCounter();
        public final StatCounter passiveConnectionOpenings = new StatCounter();
        public final StatCounter establishedResets = new StatCounter();
        public final StatCounter establishedClosed = new StatCounter();
        public final StatCounter establishedTimedout = new StatCounter();
        public final StatCounter listenOverflowSynDrop = new StatCounter();
        public final StatCounter listenOverflowAckDrop = new StatCounter();
        public final StatCounter listenOverflowSynCookieSent = new StatCounter();
        public final StatCounter listenOverflowSynCookieRcvd = new StatCounter();
        public final StatCounter listenOverflowInvalidSynCookieRcvd = new StatCounter();
        public final StatCounter failedConnectionAttempts = new StatCounter();
        public final StatCounter validSegmentsReceived = new StatCounter();
        public final StatCounter invalidSegmentsReceived = new StatCounter();
        public final StatCounter segmentsSent = new StatCounter();
        public final StatCounter segmentSendErrors = new StatCounter();
        public final StatCounter resetsSent = new StatCounter();
        public final StatCounter resetsReceived = new StatCounter();
        /** Zero-window probes sent (not part of Tailscale's export). */
        public final StatCounter persistProbesSent = new StatCounter();
        /** Keep-alive probes sent (not part of Tailscale's export). */
        public final StatCounter keepAliveProbesSent = new StatCounter();
        public final StatCounter retransmits = new StatCounter();
        public final StatCounter fastRecovery = new StatCounter();
        public final StatCounter sackRecovery = new StatCounter();
        public final StatCounter tlpRecovery = new StatCounter();
        public final StatCounter slowStartRetransmits = new StatCounter();
        public final StatCounter fastRetransmit = new StatCounter();
        /** Segments RACK marked lost (not part of Tailscale's export). */
        public final StatCounter rackLostSegments = new StatCounter();
        public final StatCounter timeouts = new StatCounter();
        public final StatCounter checksumErrors = new StatCounter();
        public final StatCounter failedPortReservations = new StatCounter();
        public final StatCounter segmentsAckedWithDsack = new StatCounter();
        public final StatCounter spuriousRecovery = new StatCounter();
        public final StatCounter spuriousRtoRecovery = new StatCounter();
        public final StatCounter forwardMaxInFlightDrop = new StatCounter();
        /** Gauge: connections in ESTABLISHED or CLOSE-WAIT. */
        public final StatCounter currentEstablished = new StatCounter();
        /** Gauge: connections past SYN and not yet CLOSED or TIME-WAIT. */
        public final StatCounter currentConnected = new StatCounter();
    }

    public static final class UdpStats {
        public final StatCounter packetsReceived = new StatCounter();
        public final StatCounter unknownPortErrors = new StatCounter();
        public final StatCounter receiveBufferErrors = new StatCounter();
        public final StatCounter malformedPacketsReceived = new StatCounter();
        public final StatCounter packetsSent = new StatCounter();
        public final StatCounter packetSendErrors = new StatCounter();
        public final StatCounter checksumErrors = new StatCounter();
    }

    /** ICMP counters (not part of Tailscale's export; shown under {@code counter_icmp_*}). */
    public static final class IcmpStats {
        public final StatCounter echoRequestsReceived = new StatCounter();
        public final StatCounter echoRepliesSent = new StatCounter();
        public final StatCounter destinationUnreachableSent = new StatCounter();
        public final StatCounter errorsRateLimited = new StatCounter();
        public final StatCounter malformedPacketsReceived = new StatCounter();
        public final StatCounter checksumErrors = new StatCounter();
    }

    /**
     * One exported statistic: its key (Tailscale's {@code ExpVar()} name), what it means (the help
     * text of its meter) and where it is kept.
     */
    public record Stat(String key, String description, Function<Stats, StatCounter> counter) {
        public Stat {
            if (!key.startsWith("counter_") && !key.startsWith("gauge_")) {
                throw new IllegalArgumentException("a stat key starts with counter_ or gauge_: " + key);
            }
            if (description.isBlank()) {
                throw new IllegalArgumentException("no description for " + key);
            }
        }

        /** A gauge goes up and down; everything else only counts up. */
        public boolean gauge() {
            return key.startsWith("gauge_");
        }
    }

    private static final String NO_IPTABLES = "Tailscale's key; always 0 here: this stack has no packet filter tables";
    private static final String NO_FORWARDING = "Tailscale's key; always 0 here: this stack never forwards IP packets "
            + "between interfaces (flows are re-originated as host sockets)";
    private static final String NO_SYN_COOKIES = "Tailscale's key; always 0 here: this stack sends no SYN cookies";

    /** Every exported statistic, in Tailscale's order, then ours; the one place that names them. */
    public static final List<Stat> STATS = List.of(
            new Stat("counter_dropped_packets", "Packets dropped before any protocol saw them: not taken by the "
                    + "inbound policy (no own address, subnet or service IP) or of a transport protocol not served",
                    s -> s.droppedPackets),
            new Stat("counter_ip_packets_received", "IP packets read from the link (before validation)",
                    s -> s.ip.packetsReceived),
            new Stat("counter_ip_valid_packets_received", "IP packets whose header passed validation",
                    s -> s.ip.validPacketsReceived),
            new Stat("counter_ip_disabled_packets_received",
                    "Tailscale's key; always 0 here: both IP versions are always enabled", s -> s.ip.disabledPacketsReceived),
            new Stat("counter_ip_invalid_destination_addresses_received",
                    "IP packets dropped for a destination address that can never be delivered to "
                            + "(unspecified, loopback)", s -> s.ip.invalidDestinationAddressesReceived),
            new Stat("counter_ip_invalid_source_addresses_received",
                    "IP packets dropped for a source address no host may send from (multicast, loopback, unspecified "
                            + "where forbidden)", s -> s.ip.invalidSourceAddressesReceived),
            new Stat("counter_ip_packets_delivered", "IP packets handed to a transport protocol (TCP, UDP, ICMP)",
                    s -> s.ip.packetsDelivered),
            new Stat("counter_ip_packets_sent", "IP packets the stack sent to the link", s -> s.ip.packetsSent),
            new Stat("counter_ip_outgoing_packet_errors",
                    "IP packets the stack could not send (no route, no buffer, the link refused them)",
                    s -> s.ip.outgoingPacketErrors),
            new Stat("counter_ip_malformed_packets_received",
                    "IP packets dropped for a malformed header (bad version, length, header checksum)",
                    s -> s.ip.malformedPacketsReceived),
            new Stat("counter_ip_malformed_fragments_received",
                    "IP fragments dropped as malformed or over the reassembly limits (RFC 791 section 3.2, "
                            + "RFC 8200 section 4.5)", s -> s.ip.malformedFragmentsReceived),
            new Stat("counter_ip_iptables_prerouting_dropped", NO_IPTABLES, s -> s.ip.iptablesPreroutingDropped),
            new Stat("counter_ip_iptables_input_dropped", NO_IPTABLES, s -> s.ip.iptablesInputDropped),
            new Stat("counter_ip_iptables_forward_dropped", NO_IPTABLES, s -> s.ip.iptablesForwardDropped),
            new Stat("counter_ip_iptables_output_dropped", NO_IPTABLES, s -> s.ip.iptablesOutputDropped),
            new Stat("counter_ip_iptables_postrouting_dropped", NO_IPTABLES, s -> s.ip.iptablesPostroutingDropped),
            new Stat("counter_ip_option_timestamp_received", "IPv4 packets carrying a timestamp option (RFC 791)",
                    s -> s.ip.optionTimestampReceived),
            new Stat("counter_ip_option_record_route_received", "IPv4 packets carrying a record-route option (RFC 791)",
                    s -> s.ip.optionRecordRouteReceived),
            new Stat("counter_ip_option_router_alert_received", "IPv4 packets carrying a router-alert option (RFC 2113)",
                    s -> s.ip.optionRouterAlertReceived),
            new Stat("counter_ip_option_unknown_received", "IPv4 packets carrying an option this stack does not know",
                    s -> s.ip.optionUnknownReceived),
            new Stat("counter_ip_forward_unrouteable", NO_FORWARDING, s -> s.ip.forwarding.unrouteable),
            new Stat("counter_ip_forward_exhausted_ttl", NO_FORWARDING, s -> s.ip.forwarding.exhaustedTtl),
            new Stat("counter_ip_forward_initializing_source", NO_FORWARDING, s -> s.ip.forwarding.initializingSource),
            new Stat("counter_ip_forward_link_local_source", NO_FORWARDING, s -> s.ip.forwarding.linkLocalSource),
            new Stat("counter_ip_forward_link_local_destination", NO_FORWARDING,
                    s -> s.ip.forwarding.linkLocalDestination),
            new Stat("counter_ip_forward_packet_too_big", NO_FORWARDING, s -> s.ip.forwarding.packetTooBig),
            new Stat("counter_ip_forward_host_unreachable", NO_FORWARDING, s -> s.ip.forwarding.hostUnreachable),
            new Stat("counter_ip_forward_extension_header_problem",
                    "IPv6 packets dropped for an extension header this stack cannot walk (RFC 8200 section 4)",
                    s -> s.ip.forwarding.extensionHeaderProblem),
            new Stat("counter_ip_forward_unexpected_multicast_input_interface", NO_FORWARDING,
                    s -> s.ip.forwarding.unexpectedMulticastInputInterface),
            new Stat("counter_ip_forward_unknown_output_endpoint", NO_FORWARDING,
                    s -> s.ip.forwarding.unknownOutputEndpoint),
            new Stat("counter_ip_forward_no_multicast_pending_queue_buffer_space", NO_FORWARDING,
                    s -> s.ip.forwarding.noMulticastPendingQueueBufferSpace),
            new Stat("counter_ip_forward_outgoing_device_no_buffer_space", NO_FORWARDING,
                    s -> s.ip.forwarding.outgoingDeviceNoBufferSpace),
            new Stat("counter_ip_forward_errors", NO_FORWARDING, s -> s.ip.forwarding.errors),
            new Stat("counter_tcp_active_connection_openings",
                    "TCP connections this stack opened (SYN sent: dials into the tailnet)",
                    s -> s.tcp.activeConnectionOpenings),
            new Stat("counter_tcp_passive_connection_openings",
                    "TCP connections accepted from tailnet clients (handshake completed)",
                    s -> s.tcp.passiveConnectionOpenings),
            new Stat("counter_tcp_established_resets", "Established TCP connections ended by a reset, sent or received",
                    s -> s.tcp.establishedResets),
            new Stat("counter_tcp_established_closed", "Established TCP connections closed normally",
                    s -> s.tcp.establishedClosed),
            new Stat("counter_tcp_established_timeout",
                    "Established TCP connections given up after retransmissions or keep-alives went unanswered",
                    s -> s.tcp.establishedTimedout),
            new Stat("counter_tcp_listen_overflow_syn_drop",
                    "SYNs dropped because a listener's accept queue was full", s -> s.tcp.listenOverflowSynDrop),
            new Stat("counter_tcp_listen_overflow_ack_drop", "Tailscale's key; always 0 here: the handshake's "
                    + "final ACK is never dropped for a full queue (the SYN is)", s -> s.tcp.listenOverflowAckDrop),
            new Stat("counter_tcp_listen_overflow_syn_cookie_sent", NO_SYN_COOKIES,
                    s -> s.tcp.listenOverflowSynCookieSent),
            new Stat("counter_tcp_listen_overflow_syn_cookie_rcvd", NO_SYN_COOKIES,
                    s -> s.tcp.listenOverflowSynCookieRcvd),
            new Stat("counter_tcp_listen_overflow_invalid_syn_cookie_rcvd", NO_SYN_COOKIES,
                    s -> s.tcp.listenOverflowInvalidSynCookieRcvd),
            new Stat("counter_tcp_failed_connection_attempts",
                    "TCP connection attempts that never reached ESTABLISHED (refused, reset or timed out in the "
                            + "handshake)", s -> s.tcp.failedConnectionAttempts),
            new Stat("counter_tcp_valid_segments_received", "TCP segments received that passed validation",
                    s -> s.tcp.validSegmentsReceived),
            new Stat("counter_tcp_invalid_segments_received",
                    "TCP segments dropped as invalid (short, bad header length or options, bad checksum, "
                            + "unacceptable for the connection's state)", s -> s.tcp.invalidSegmentsReceived),
            new Stat("counter_tcp_segments_sent", "TCP segments sent, retransmissions included", s -> s.tcp.segmentsSent),
            new Stat("counter_tcp_segment_send_errors", "TCP segments that could not be sent",
                    s -> s.tcp.segmentSendErrors),
            new Stat("counter_tcp_resets_sent", "TCP resets sent (refused or aborted connections)",
                    s -> s.tcp.resetsSent),
            new Stat("counter_tcp_resets_received", "TCP resets received", s -> s.tcp.resetsReceived),
            new Stat("counter_tcp_retransmits", "TCP segments retransmitted (RFC 6298 timeouts, fast retransmit, "
                    + "SACK and tail-loss recovery)", s -> s.tcp.retransmits),
            new Stat("counter_tcp_fast_recovery", "TCP fast-recovery episodes entered on three duplicate ACKs, with "
                    + "peers that do not SACK (RFC 5681 section 3.2, RFC 6582)", s -> s.tcp.fastRecovery),
            new Stat("counter_tcp_sack_recovery", "TCP fast-recovery episodes entered on losses RACK found with SACK "
                    + "(RFC 8985, RFC 6937)", s -> s.tcp.sackRecovery),
            new Stat("counter_tcp_tlp_recovery", "TCP tail-loss probes sent (RFC 8985 section 7)",
                    s -> s.tcp.tlpRecovery),
            new Stat("counter_tcp_slow_start_retransmits", "TCP segments retransmitted in slow start after a "
                    + "retransmission timeout", s -> s.tcp.slowStartRetransmits),
            new Stat("counter_tcp_fast_retransmit", "TCP segments retransmitted during loss recovery because they "
                    + "were found lost (RACK or duplicate ACKs)", s -> s.tcp.fastRetransmit),
            new Stat("counter_tcp_rack_lost_segments", "TCP segments RACK marked lost: a segment sent later was "
                    + "delivered more than a round trip plus the reordering window after it (RFC 8985 section 6.2)",
                    s -> s.tcp.rackLostSegments),
            new Stat("counter_tcp_timeouts", "TCP retransmission timer expiries (RFC 6298)", s -> s.tcp.timeouts),
            new Stat("counter_tcp_checksum_errors", "TCP segments dropped for a bad checksum (also counted as invalid "
                    + "segments)", s -> s.tcp.checksumErrors),
            new Stat("counter_tcp_failed_port_reservations",
                    "Outgoing TCP connections that found no free local port", s -> s.tcp.failedPortReservations),
            new Stat("counter_tcp_segments_acked_with_dsack",
                    "TCP ACKs received reporting a duplicate segment by D-SACK (RFC 2883): a needless retransmission",
                    s -> s.tcp.segmentsAckedWithDsack),
            new Stat("counter_tcp_spurious_recovery", "TCP fast recoveries found needless (every retransmission "
                    + "D-SACKed, or an older timestamp echoed) and undone (RFC 3708)", s -> s.tcp.spuriousRecovery),
            new Stat("counter_tcp_spurious_rto_recovery", "TCP retransmission timeouts found spurious (the ACK echoes "
                    + "a timestamp older than the retransmission, RFC 3522) and undone", s -> s.tcp.spuriousRtoRecovery),
            new Stat("counter_tcp_forward_max_in_flight_drop",
                    "SYNs to forwarded destinations dropped at the global in-flight limit (the client retries)",
                    s -> s.tcp.forwardMaxInFlightDrop),
            new Stat("gauge_tcp_current_established", "TCP connections now in ESTABLISHED or CLOSE-WAIT",
                    s -> s.tcp.currentEstablished),
            new Stat("gauge_tcp_current_connected", "TCP connections now past the SYN and not yet CLOSED or TIME-WAIT",
                    s -> s.tcp.currentConnected),
            new Stat("counter_udp_packets_received", "UDP datagrams delivered to a socket or flow",
                    s -> s.udp.packetsReceived),
            new Stat("counter_udp_unknown_port_errors", "UDP datagrams to a port nothing serves (answered with an ICMP "
                    + "port unreachable where allowed)", s -> s.udp.unknownPortErrors),
            new Stat("counter_udp_receive_buffer_errors", "UDP datagrams dropped because the receiving socket's queue "
                    + "was full", s -> s.udp.receiveBufferErrors),
            new Stat("counter_udp_malformed_packets_received", "UDP datagrams dropped for a bad length field",
                    s -> s.udp.malformedPacketsReceived),
            new Stat("counter_udp_packets_sent", "UDP datagrams sent", s -> s.udp.packetsSent),
            new Stat("counter_udp_packet_send_errors", "UDP datagrams that could not be sent",
                    s -> s.udp.packetSendErrors),
            new Stat("counter_udp_checksum_errors", "UDP datagrams dropped for a bad checksum",
                    s -> s.udp.checksumErrors),
            // Ours, not Tailscale's: after its keys so that their order stays.
            new Stat("counter_tcp_persist_probes_sent", "TCP zero-window probes sent (RFC 9293 section 3.8.6.1)",
                    s -> s.tcp.persistProbesSent),
            new Stat("counter_tcp_keep_alive_probes_sent", "TCP keep-alive probes sent (RFC 9293 section 3.8.4)",
                    s -> s.tcp.keepAliveProbesSent),
            new Stat("counter_icmp_echo_requests_received", "ICMP echo requests (pings) received for this stack",
                    s -> s.icmp.echoRequestsReceived),
            new Stat("counter_icmp_echo_replies_sent", "ICMP echo replies sent", s -> s.icmp.echoRepliesSent),
            new Stat("counter_icmp_destination_unreachable_sent", "ICMP destination-unreachable errors sent (port "
                    + "unreachable for UDP nobody serves)", s -> s.icmp.destinationUnreachableSent),
            new Stat("counter_icmp_errors_rate_limited", "ICMP errors not sent because of the error rate limit "
                    + "(RFC 1812 section 4.3.2.8, RFC 4443 section 2.4)", s -> s.icmp.errorsRateLimited),
            new Stat("counter_icmp_malformed_packets_received", "ICMP messages dropped as malformed (too short, "
                    + "or an error quoting no usable IP header)", s -> s.icmp.malformedPacketsReceived),
            new Stat("counter_icmp_checksum_errors", "ICMP messages dropped for a bad checksum",
                    s -> s.icmp.checksumErrors));

    /** Every counter under its exported name, in the order of {@link #STATS}. */
    public Map<String, Long> expvar() {
        Map<String, Long> m = new LinkedHashMap<>();
        for (Stat s : STATS) {
            m.put(s.key(), s.counter().apply(this).value());
        }
        return m;
    }
}
