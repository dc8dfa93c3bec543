package dev.loomstack.engine;

import dev.loomstack.link.LinkStats;
import dev.loomstack.wireguard.WireGuardStats;
import dev.loomstack.stack.StatCounter;
import dev.loomstack.stack.Stats;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import java.util.function.LongSupplier;

/**
 * Every figure one engine exports, named once: the stack's {@link Stats#STATS} (Tailscale's
 * {@code ExpVar()} keys), then the engine's own (forwarding limits, relays, the link, MagicDNS,
 * the netmap), each with what it means. An engine builds one reader per figure when it is created;
 * reading a figure is one counter sum, so a scrape builds no map (only {@link #expvar()} does, for
 * {@code /actuator/netstack}).
 */
public final class EngineStats {
    /** How a figure behaves over time. */
    public enum Kind {
        /** Only goes up, for as long as its engine lives. */
        COUNTER,
        /** A level now: goes up and down. */
        GAUGE,
        /**
         * Only goes up, summed over every engine this process ran (Tailscale's client metrics): an
         * engine that closes keeps its share, so it needs no engine to be read.
         */
        PROCESS_COUNTER
    }

    /** One figure: its expvar key, its kind and what it means (the help text of its meter). */
    public record Figure(String key, Kind kind, String description) {
        public Figure {
            if (description == null || description.isBlank()) {
                throw new IllegalArgumentException("no description for " + key);
            }
        }
    }

    /** An engine figure and how to read it on a given engine (process-wide ones need none). */
    private record Def(Figure figure, Function<Netstack, LongSupplier> reader, LongSupplier processWide) {}

    private static Def counter(String key, String description, Function<Netstack, LongSupplier> reader) {
        return new Def(new Figure(key, Kind.COUNTER, description), reader, null);
    }

    private static Def gauge(String key, String description, Function<Netstack, LongSupplier> reader) {
        return new Def(new Figure(key, Kind.GAUGE, description), reader, null);
    }

    private static Def processWide(String key, String description, LongSupplier reader) {
        return new Def(new Figure(key, Kind.PROCESS_COUNTER, description), n -> reader, reader);
    }

    /**
     * A counter of the WireGuard link ({@link WireGuardStats}); zero on any other link, so that the
     * keys are the same whatever the link (they are known before an engine runs).
     */
    private static Def wireGuard(String key, String description, Function<WireGuardStats, StatCounter> which) {
        return counter(key, description + " (0 on a link that is not WireGuard)",
                n -> which.apply(n.wireGuardStats())::value);
    }

    private static LongSupplier link(Netstack n, Function<LinkStats, LongAdder> which) {
        return which.apply(n.link().stats())::sum;
    }

    /** The engine's own figures, after the stack's; new ones are added at the end. */
    private static final List<Def> ENGINE = List.of(
            gauge("gauge_tcp_forward_in_flight_limit",
                    "Forwarded TCP connection attempts (SYN received, upstream dial not yet done) allowed at once",
                    n -> () -> n.limits().maxInFlight()),
            gauge("gauge_tcp_forward_in_flight_per_client_limit",
                    "Forwarded TCP connection attempts one client address may have in flight at once",
                    n -> () -> n.limits().maxInFlightPerClient()),
            gauge("gauge_tcp_forward_in_flight", "Forwarded TCP connection attempts in flight now",
                    n -> n.limiter()::inFlightTotal),
            counter("counter_tcp_forward_max_in_flight_per_client_drop",
                    "SYNs to forwarded destinations dropped at a client's in-flight limit (the client retries)",
                    n -> n.droppedPerClient::value),
            gauge("gauge_tcp_forward_in_flight_per_client_limit_reached",
                    "Client addresses now at their in-flight limit", n -> () -> n.limiter().clientsAtLimit()),
            processWide("netstack_tcp_forward_dropped_attempts", "SYNs to forwarded destinations dropped at the "
                    + "global in-flight limit, over every engine in the process (Tailscale's client metric)",
                    Netstack.FORWARD_DROPPED_ATTEMPTS::sum),
            processWide("netstack_tcp_forward_dropped_attempts_per_client", "SYNs to forwarded destinations dropped "
                    + "at a client's in-flight limit, over every engine in the process (Tailscale's client metric)",
                    InFlightLimiter::processWideDroppedPerClient),
            counter("counter_via_refused", "Flows and pings to 4via6 addresses refused (site not advertised, or an "
                    + "IPv4 target that must never be reached)", n -> n.viaRefused::value),
            counter("counter_udp_not_forwarded", "UDP datagrams that opened no flow (no path to the destination, a "
                    + "refused port or client, a handler's rejection): dropped", n -> n.udpNotForwarded::value),
            counter("counter_inject_to_host", "Packets the stack generated that answer the host side (from the "
                    + "service IP)", n -> n.injector.toHost::sum),
            counter("counter_inject_to_peer", "Packets the stack generated for tailnet peers",
                    n -> n.injector.toPeer::sum),
            counter("counter_ping_relayed", "Echo requests to subnet hosts relayed as a ping from this host",
                    n -> n.pingRelay().relayed::sum),
            counter("counter_ping_relay_answered", "Relayed pings the real host answered (the client got its reply)",
                    n -> n.pingRelay().answered::sum),
            counter("counter_ping_relay_over_limit", "Echo requests not relayed because too many relays were running",
                    n -> n.pingRelay().overLimit::sum),
            gauge("gauge_forwarded_flows", "Forwarded flows (TCP and UDP) open now", n -> n.flows::size),
            counter("counter_refused_while_draining", "New flows refused while the engine drained for shutdown",
                    n -> n.refusedWhileDraining::value),
            counter("counter_host_port_refused", "Flows refused because they led to a denied port of the router host "
                    + "itself (its own HTTP ports, loomstack.deny-host-ports)", n -> n.hostPortGuard::refused),
            gauge("gauge_udp_forward_flows_limit", "Forwarded UDP flows allowed open at once",
                    n -> () -> n.limits().maxUdpFlows()),
            gauge("gauge_udp_forward_flows", "Forwarded UDP flows open now", n -> () -> n.udpForwarder().openFlows()),
            counter("counter_udp_forward_max_flows_drop", "New UDP flows dropped because the UDP flow limit was open",
                    n -> n.udpForwarder()::droppedMaxFlows),
            counter("counter_udp_forward_destination_errors", "Errors from forwarded UDP destinations (ICMP "
                    + "unreachable seen on the host socket)", n -> n.udpFlows::destinationErrors),
            gauge("gauge_link_up", "1 while the link (the TUN device) serves, 0 otherwise",
                    n -> () -> n.linkUp() ? 1 : 0),
            counter("counter_link_down", "Times the link was lost for good (the TUN device deleted under the engine)",
                    n -> n.linkLosses::value),
            counter("counter_link_received_packets", "Packets read from the link (sent by tailnet peers)",
                    n -> link(n, s -> s.packetsRead)),
            counter("counter_link_received_bytes", "Bytes of IP packets read from the link (sent by tailnet peers)",
                    n -> link(n, s -> s.bytesRead)),
            counter("counter_link_sent_packets", "Packets written to the link (sent to tailnet peers)",
                    n -> link(n, s -> s.packetsWritten)),
            counter("counter_link_sent_bytes", "Bytes of IP packets written to the link (sent to tailnet peers)",
                    n -> link(n, s -> s.bytesWritten)),
            counter("counter_link_read_errors", "Failed reads from the link device", n -> link(n, s -> s.readErrors)),
            counter("counter_link_write_errors", "Failed writes to the link device", n -> link(n, s -> s.writeErrors)),
            gauge("gauge_link_offload", "1 while the link takes and gives TCP segments larger than its MTU "
                    + "(TUN segmentation offload on), 0 otherwise", n -> () -> n.link().maxOffloadSize() > 0 ? 1 : 0),
            counter("counter_link_gso_segments_received", "Packets read whole from the link that stand for several "
                    + "TCP segments (the peer's kernel left them uncut)", n -> link(n, s -> s.gsoSegmentsRead)),
            counter("counter_link_gso_segments_sent", "Packets written whole to the link for its kernel to cut into "
                    + "TCP segments", n -> link(n, s -> s.gsoSegmentsWritten)),
            counter("counter_link_gro_coalesced_packets", "Packets read from the link and merged into a larger "
                    + "segment of their flow before TCP (receive coalescing)", n -> link(n, s -> s.packetsCoalesced)),
            counter("counter_link_dropped", "Packets the link itself dropped on the way out (link closed or lost, "
                    + "larger than a device write, interrupted while the write queue was full)", n -> link(n, s -> s.dropped)),
            counter("counter_forwarded_flows_opened", "Forwarded flows (TCP and UDP) opened since the engine started",
                    n -> n.flows::opened),
            counter("counter_forwarded_from_clients_bytes", "Payload bytes forwarded from tailnet clients to "
                    + "destinations (TCP stream bytes, UDP payloads)", n -> n.forwardedFromClients::value),
            counter("counter_forwarded_to_clients_bytes", "Payload bytes forwarded from destinations back to "
                    + "tailnet clients (TCP stream bytes, UDP payloads)", n -> n.forwardedToClients::value),
            counter("counter_ping_relay_unanswered", "Relayed pings the real host did not answer in time",
                    n -> n.pingRelay().unanswered::sum),
            counter("counter_dns_answered_locally", "MagicDNS queries answered from the netmap (names of the "
                    + "tailnet domain, reverse lookups of tailnet addresses)", n -> n.magicDns()::answeredLocally),
            counter("counter_dns_forwarded", "MagicDNS queries for other names, forwarded to the upstream resolvers",
                    n -> n.magicDns()::forwarded),
            counter("counter_dns_malformed", "MagicDNS queries dropped unanswered (unparseable, or not a query)",
                    n -> n.magicDns()::malformed),
            counter("counter_dns_upstream_failures", "Upstream resolvers that failed a forwarded query (each "
                    + "failed upstream counts; the next one is tried)", n -> n.magicDns()::upstreamFailures),
            gauge("gauge_netmap_self_addresses", "Own addresses of the self node in the netmap in force (0: none "
                    + "applied, or the engine is not running)", n -> () -> n.localAddresses().snapshot().size()),
            gauge("gauge_netmap_peers", "Peers in the netmap in force", n -> () -> {
                NetworkMap m = n.netmap();
                return m == null ? 0 : m.peers().size();
            }),
            counter("counter_forward_refused_memory_pressure", "New forwarded flows refused because the heap in use "
                    + "after a collection had reached loomstack.limits.heap-pressure-percent (TCP with a RST, UDP "
                    + "datagrams dropped)", n -> n.refusedMemoryPressure::value),
            gauge("gauge_heap_pressure", "1 while the heap is under pressure and new forwarded flows are refused, "
                    + "0 otherwise", n -> () -> n.heapPressure.high() ? 1 : 0),
            gauge("gauge_tcp_forward_copy_buffers", "Pooled 64 KiB copy buffers forwarded TCP flows hold now (only "
                    + "flows moving data hold one)", n -> () -> n.tcpFlows.buffers().inUse()),
            wireGuard("counter_wireguard_handshakes_sent", "WireGuard handshake initiations and responses sent",
                    s -> s.handshakesSent),
            wireGuard("counter_wireguard_handshakes_received", "WireGuard handshake initiations and responses "
                    + "received that authenticated and were taken", s -> s.handshakesReceived),
            wireGuard("counter_wireguard_handshakes_failed", "WireGuard handshake messages received and refused (bad "
                    + "mac1, failed decryption, unknown peer, replayed timestamp, initiation flood)",
                    s -> s.handshakesFailed),
            wireGuard("counter_wireguard_cookie_replies_sent", "WireGuard cookie replies sent because the link was "
                    + "under load", s -> s.cookieRepliesSent),
            wireGuard("counter_wireguard_cookie_replies_received", "WireGuard cookie replies received from peers "
                    + "under load and taken", s -> s.cookieRepliesReceived),
            wireGuard("counter_wireguard_packets_replayed", "WireGuard transport packets dropped as replays or as "
                    + "too old for the replay window", s -> s.packetsReplayed),
            wireGuard("counter_wireguard_packets_invalid", "WireGuard packets dropped as malformed, of an unknown "
                    + "type or receiver index, or failing authentication", s -> s.packetsInvalid),
            wireGuard("counter_wireguard_source_mismatch", "Decrypted packets dropped because their inner source is "
                    + "outside the sending peer's addresses and allowed IPs (cryptokey routing)", s -> s.sourceMismatch),
            wireGuard("counter_wireguard_no_peer", "Packets to tailnet peers dropped because no WireGuard peer's "
                    + "addresses or allowed IPs contain the destination", s -> s.noPeer),
            wireGuard("counter_wireguard_send_dropped", "Packets to a WireGuard peer dropped because it had no "
                    + "session yet and its queue was full, or no endpoint", s -> s.sendDropped),
            wireGuard("counter_wireguard_received_bytes", "Bytes of authenticated WireGuard transport messages "
                    + "received (outer UDP payloads, keepalives included)", s -> s.receivedBytes),
            wireGuard("counter_wireguard_received_packets", "Authenticated WireGuard transport messages received "
                    + "(keepalives included)", s -> s.receivedPackets),
            wireGuard("counter_wireguard_sent_bytes", "Bytes of WireGuard transport messages sent (outer UDP "
                    + "payloads, keepalives included)", s -> s.sentBytes),
            wireGuard("counter_wireguard_sent_packets", "WireGuard transport messages sent (keepalives included)",
                    s -> s.sentPackets),
            wireGuard("counter_wireguard_keepalives_sent", "WireGuard keepalives (empty transport messages) sent",
                    s -> s.keepalivesSent),
            gauge("gauge_wireguard_peers_with_session", "WireGuard peers holding a session usable now (0 on a link "
                    + "that is not WireGuard)", n -> n::wireGuardPeersWithSession));

    private static final List<Figure> FIGURES;

    static {
        List<Figure> all = new ArrayList<>();
        for (Stats.Stat s : Stats.STATS) {
            all.add(new Figure(s.key(), s.gauge() ? Kind.GAUGE : Kind.COUNTER, s.description()));
        }
        ENGINE.forEach(d -> all.add(d.figure()));
        FIGURES = Collections.unmodifiableList(all);
        if (FIGURES.stream().map(Figure::key).distinct().count() != FIGURES.size()) {
            throw new IllegalStateException("a figure key is named twice");
        }
    }

    private final LongSupplier[] readers;

    /** Binds every figure to {@code engine}'s counters, once. */
    EngineStats(Netstack engine) {
        readers = new LongSupplier[FIGURES.size()];
        int i = 0;
        for (Stats.Stat s : Stats.STATS) {
            StatCounter c = s.counter().apply(engine.stats());
            readers[i++] = c::value;
        }
        for (Def d : ENGINE) {
            readers[i++] = d.reader().apply(engine);
        }
    }

    /** Every figure, in the order of {@link #expvar()}; known before any engine runs. */
    public static List<Figure> figures() {
        return FIGURES;
    }

    /** The value now of figure {@code index} (its position in {@link #figures()}). */
    public long read(int index) {
        return readers[index].getAsLong();
    }

    /** The value now of a {@link Kind#PROCESS_COUNTER} figure, whether an engine runs or not. */
    public static long readProcessWide(int index) {
        int at = index - Stats.STATS.size();
        if (at < 0 || ENGINE.get(at).processWide() == null) {
            throw new IllegalArgumentException(FIGURES.get(index).key() + " is not process-wide");
        }
        return ENGINE.get(at).processWide().getAsLong();
    }

    /** Every figure under its key, in order. */
    public Map<String, Long> expvar() {
        Map<String, Long> m = new LinkedHashMap<>();
        for (int i = 0; i < readers.length; i++) {
            m.put(FIGURES.get(i).key(), readers[i].getAsLong());
        }
        return m;
    }
}
