package dev.loomstack.stack;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The stack's counters, grouped and named like Tailscale's {@code ExpVar()} keys: the field
 * {@code tcp.activeConnectionOpenings} is exported as {@code counter_tcp_active_connection_openings}.
 * Counters are bumped where the event happens; {@link #expvar()} is the one place that names them.
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

    /** Every counter under its exported name, in Tailscale's order. */
    public Map<String, Long> expvar() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("counter_dropped_packets", droppedPackets.value());
        String p = "counter_ip_";
        m.put(p + "packets_received", ip.packetsReceived.value());
        m.put(p + "valid_packets_received", ip.validPacketsReceived.value());
        m.put(p + "disabled_packets_received", ip.disabledPacketsReceived.value());
        m.put(p + "invalid_destination_addresses_received", ip.invalidDestinationAddressesReceived.value());
        m.put(p + "invalid_source_addresses_received", ip.invalidSourceAddressesReceived.value());
        m.put(p + "packets_delivered", ip.packetsDelivered.value());
        m.put(p + "packets_sent", ip.packetsSent.value());
        m.put(p + "outgoing_packet_errors", ip.outgoingPacketErrors.value());
        m.put(p + "malformed_packets_received", ip.malformedPacketsReceived.value());
        m.put(p + "malformed_fragments_received", ip.malformedFragmentsReceived.value());
        m.put(p + "iptables_prerouting_dropped", ip.iptablesPreroutingDropped.value());
        m.put(p + "iptables_input_dropped", ip.iptablesInputDropped.value());
        m.put(p + "iptables_forward_dropped", ip.iptablesForwardDropped.value());
        m.put(p + "iptables_output_dropped", ip.iptablesOutputDropped.value());
        m.put(p + "iptables_postrouting_dropped", ip.iptablesPostroutingDropped.value());
        m.put(p + "option_timestamp_received", ip.optionTimestampReceived.value());
        m.put(p + "option_record_route_received", ip.optionRecordRouteReceived.value());
        m.put(p + "option_router_alert_received", ip.optionRouterAlertReceived.value());
        m.put(p + "option_unknown_received", ip.optionUnknownReceived.value());
        IpForwardingStats f = ip.forwarding;
        p = "counter_ip_forward_";
        m.put(p + "unrouteable", f.unrouteable.value());
        m.put(p + "exhausted_ttl", f.exhaustedTtl.value());
        m.put(p + "initializing_source", f.initializingSource.value());
        m.put(p + "link_local_source", f.linkLocalSource.value());
        m.put(p + "link_local_destination", f.linkLocalDestination.value());
        m.put(p + "packet_too_big", f.packetTooBig.value());
        m.put(p + "host_unreachable", f.hostUnreachable.value());
        m.put(p + "extension_header_problem", f.extensionHeaderProblem.value());
        m.put(p + "unexpected_multicast_input_interface", f.unexpectedMulticastInputInterface.value());
        m.put(p + "unknown_output_endpoint", f.unknownOutputEndpoint.value());
        m.put(p + "no_multicast_pending_queue_buffer_space", f.noMulticastPendingQueueBufferSpace.value());
        m.put(p + "outgoing_device_no_buffer_space", f.outgoingDeviceNoBufferSpace.value());
        m.put(p + "errors", f.errors.value());
        p = "counter_tcp_";
        m.put(p + "active_connection_openings", tcp.activeConnectionOpenings.value());
        m.put(p + "passive_connection_openings", tcp.passiveConnectionOpenings.value());
        m.put(p + "established_resets", tcp.establishedResets.value());
        m.put(p + "established_closed", tcp.establishedClosed.value());
        m.put(p + "established_timeout", tcp.establishedTimedout.value());
        m.put(p + "listen_overflow_syn_drop", tcp.listenOverflowSynDrop.value());
        m.put(p + "listen_overflow_ack_drop", tcp.listenOverflowAckDrop.value());
        m.put(p + "listen_overflow_syn_cookie_sent", tcp.listenOverflowSynCookieSent.value());
        m.put(p + "listen_overflow_syn_cookie_rcvd", tcp.listenOverflowSynCookieRcvd.value());
        m.put(p + "listen_overflow_invalid_syn_cookie_rcvd", tcp.listenOverflowInvalidSynCookieRcvd.value());
        m.put(p + "failed_connection_attempts", tcp.failedConnectionAttempts.value());
        m.put(p + "valid_segments_received", tcp.validSegmentsReceived.value());
        m.put(p + "invalid_segments_received", tcp.invalidSegmentsReceived.value());
        m.put(p + "segments_sent", tcp.segmentsSent.value());
        m.put(p + "segment_send_errors", tcp.segmentSendErrors.value());
        m.put(p + "resets_sent", tcp.resetsSent.value());
        m.put(p + "resets_received", tcp.resetsReceived.value());
        m.put(p + "retransmits", tcp.retransmits.value());
        m.put(p + "fast_recovery", tcp.fastRecovery.value());
        m.put(p + "sack_recovery", tcp.sackRecovery.value());
        m.put(p + "tlp_recovery", tcp.tlpRecovery.value());
        m.put(p + "slow_start_retransmits", tcp.slowStartRetransmits.value());
        m.put(p + "fast_retransmit", tcp.fastRetransmit.value());
        m.put(p + "timeouts", tcp.timeouts.value());
        m.put(p + "checksum_errors", tcp.checksumErrors.value());
        m.put(p + "failed_port_reservations", tcp.failedPortReservations.value());
        m.put(p + "segments_acked_with_dsack", tcp.segmentsAckedWithDsack.value());
        m.put(p + "spurious_recovery", tcp.spuriousRecovery.value());
        m.put(p + "spurious_rto_recovery", tcp.spuriousRtoRecovery.value());
        m.put(p + "forward_max_in_flight_drop", tcp.forwardMaxInFlightDrop.value());
        m.put("gauge_tcp_current_established", tcp.currentEstablished.value());
        m.put("gauge_tcp_current_connected", tcp.currentConnected.value());
        p = "counter_udp_";
        m.put(p + "packets_received", udp.packetsReceived.value());
        m.put(p + "unknown_port_errors", udp.unknownPortErrors.value());
        m.put(p + "receive_buffer_errors", udp.receiveBufferErrors.value());
        m.put(p + "malformed_packets_received", udp.malformedPacketsReceived.value());
        m.put(p + "packets_sent", udp.packetsSent.value());
        m.put(p + "packet_send_errors", udp.packetSendErrors.value());
        m.put(p + "checksum_errors", udp.checksumErrors.value());
        return m;
    }
}
