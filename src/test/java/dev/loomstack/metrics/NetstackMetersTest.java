package dev.loomstack.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.engine.EngineStats;
import dev.loomstack.engine.FlowInfo;
import dev.loomstack.engine.InFlightLimits;
import dev.loomstack.engine.NetmapChange;
import dev.loomstack.engine.Netstack;
import dev.loomstack.engine.NetworkMap;
import dev.loomstack.engine.RouterControl;
import dev.loomstack.engine.Whois;
import dev.loomstack.packet.IpPrefix;
import dev.loomstack.testing.CaptureLink;
import io.micrometer.core.instrument.Meter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The meters over engines that come and go: each reads its own counter (no expvar map per scrape),
 * explains itself, never reads NaN and never goes down while the service outlives its engines.
 */
class NetstackMetersTest {
    private final List<Netstack> engines = new ArrayList<>();

    /** The router of whichever engine is set now (none: stopped), counting expvar() calls. */
    static final class Switchable implements RouterControl {
        volatile Netstack engine;
        final AtomicInteger expvarCalls = new AtomicInteger();

        @Override
        public EngineStats engineStats() {
            Netstack n = engine;
            return n == null ? null : n.engineStats();
        }

        @Override
        public Map<String, Long> expvar() {
            expvarCalls.incrementAndGet();
            return engine.expvar();
        }

        @Override
        public boolean linkUp() {
            Netstack n = engine;
            return n != null && n.linkUp();
        }

        @Override
        public NetmapChange applyNetmap(NetworkMap map) {
            throw new UnsupportedOperationException();
        }

        @Override
        public NetworkMap netmap() {
            throw new UnsupportedOperationException();
        }

        @Override
        public InFlightLimits limits() {
            throw new UnsupportedOperationException();
        }

        @Override
        public InFlightLimits updateLimits(InFlightLimits limits) {
            throw new UnsupportedOperationException();
        }

        @Override
        public List<FlowInfo> flows() {
            throw new UnsupportedOperationException();
        }

        @Override
        public Optional<Whois> whois(InetSocketAddress local) {
            throw new UnsupportedOperationException();
        }
    }

    private Netstack startedEngine() {
        Netstack n = Netstack.create(new CaptureLink(1280), Netstack.Options.defaults(
                List.of(IpPrefix.parse("100.64.0.1/32"))).withDnsUpstreams(List.of())
                .withLimits(new InFlightLimits(900, 600, 3000)));
        engines.add(n);
        n.start();
        return n;
    }

    @AfterEach
    void closeEngines() {
        engines.forEach(Netstack::close);
    }

    private static PrometheusMeterRegistry registry(RouterControl router) {
        PrometheusMeterRegistry r = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new NetstackMeters(router).bindTo(r);
        return r;
    }

    /** The value of one sample line ({@code name} with its labels, if any) in a scrape. */
    private static double sample(String scrape, String series) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(scrape);
        assertTrue(m.find(), series + " in\n" + scrape);
        return Double.parseDouble(m.group(1));
    }

    @Test
    void aScrapeReadsEachCounterItselfAndBuildsNoExpvarMap() {
        Switchable router = new Switchable();
        router.engine = startedEngine();
        PrometheusMeterRegistry r = registry(router);
        router.engine.stats().tcp.retransmits.add(7);
        String scrape = r.scrape();
        assertEquals(0, router.expvarCalls.get(), "no meter rebuilds the expvar map");
        assertEquals(7, sample(scrape, "netstack_tcp_retransmits_total"));
        assertEquals(900, sample(scrape, "netstack_tcp_forward_in_flight_limit"));
        assertEquals(1, sample(scrape, "netstack_link_up"));
    }

    @Test
    void beforeAnEngineRunsCountersReadZeroAndGaugesZeroNeverNaN() {
        PrometheusMeterRegistry r = registry(new Switchable());
        String scrape = r.scrape();
        assertFalse(scrape.contains("NaN"), scrape);
        assertEquals(0, sample(scrape, "netstack_tcp_retransmits_total"));
        assertEquals(0, sample(scrape, "netstack_link_up"));
        assertEquals(0, sample(scrape, "netstack_netmap_self_addresses"));
    }

    @Test
    void countersStayMonotonicWhenTheEngineStopsAndAnotherTakesOver() {
        Switchable router = new Switchable();
        PrometheusMeterRegistry r = registry(router);
        Netstack first = startedEngine();
        router.engine = first;
        first.stats().tcp.retransmits.add(5);
        assertEquals(5, sample(r.scrape(), "netstack_tcp_retransmits_total"));
        first.stats().tcp.retransmits.add(2); // counted after the last scrape, before the stop
        first.close();
        router.engine = null;
        String stopped = r.scrape();
        assertEquals(7, sample(stopped, "netstack_tcp_retransmits_total"), "the stopped engine's total stays");
        assertEquals(0, sample(stopped, "netstack_link_up"));
        assertFalse(stopped.contains("NaN"), stopped);

        Netstack second = startedEngine();
        router.engine = second;
        second.stats().tcp.retransmits.add(1);
        assertEquals(8, sample(r.scrape(), "netstack_tcp_retransmits_total"), "carried over, never reset");
        assertEquals(1, sample(r.scrape(), "netstack_link_up"));
    }

    @Test
    void processWideFiguresNeedNoEngine() {
        int index = EngineStats.figures().stream().map(EngineStats.Figure::key).toList()
                .indexOf("netstack_tcp_forward_dropped_attempts");
        assertEquals(EngineStats.Kind.PROCESS_COUNTER, EngineStats.figures().get(index).kind());
        Netstack n = startedEngine();
        n.stats().tcp.forwardMaxInFlightDrop.add(4);
        long withEngine = EngineStats.readProcessWide(index);
        n.close();
        engines.remove(n);
        assertEquals(withEngine, new EngineReadings(new Switchable()).read(index),
                "a closed engine's share stays in the process-wide total, read with no engine at all");
    }

    @Test
    void everyMeterHasItsOwnDescriptionNotItsKey() {
        PrometheusMeterRegistry r = registry(new Switchable());
        Set<String> keys = new HashSet<>();
        EngineStats.figures().forEach(f -> keys.add(f.key()));
        assertFalse(r.getMeters().isEmpty());
        for (Meter m : r.getMeters()) {
            String name = m.getId().getName();
            String help = m.getId().getDescription();
            assertTrue(help != null && help.trim().split("\\s+").length >= 3, name + ": " + help);
            assertFalse(help.startsWith("expvar"), name + ": " + help);
            assertFalse(keys.contains(help.trim()), name + " is described by its key");
        }
        for (EngineStats.Figure f : EngineStats.figures()) {
            assertTrue(f.description().trim().split("\\s+").length >= 3, f.key() + ": " + f.description());
            assertNotEquals(f.key(), f.description());
        }
        assertTrue(r.scrape().contains("# HELP netstack_link_received_bytes_total Bytes of IP packets read"),
                "the help text reaches Prometheus");
    }

    @Test
    void bytesAndPacketsOfTheLinkAndOfForwardedFlowsAreExported() {
        Switchable router = new Switchable();
        Netstack n = startedEngine();
        router.engine = n;
        n.link().stats().bytesRead.add(1500);
        n.link().stats().packetsRead.add(1);
        n.link().stats().bytesWritten.add(60);
        n.link().stats().packetsWritten.add(1);
        String scrape = registry(router).scrape();
        assertEquals(1500, sample(scrape, "netstack_link_received_bytes_total"));
        assertEquals(1, sample(scrape, "netstack_link_received_packets_total"));
        assertEquals(60, sample(scrape, "netstack_link_sent_bytes_total"));
        assertEquals(1, sample(scrape, "netstack_link_sent_packets_total"));
        assertEquals(0, sample(scrape, "netstack_forwarded_from_clients_bytes_total"));
        assertEquals(0, sample(scrape, "netstack_forwarded_to_clients_bytes_total"));
    }

    @Test
    void dropsAreOneFamilyTaggedByReasonAndNoFigureIsTwoSeries() {
        Switchable router = new Switchable();
        Netstack n = startedEngine();
        router.engine = n;
        n.stats().tcp.forwardMaxInFlightDrop.add(3);
        n.stats().ip.malformedPacketsReceived.add(2);
        String scrape = registry(router).scrape();
        assertEquals(3, sample(scrape, "netstack_dropped_packets_total{reason=\"tcp_in_flight_limit\"}"));
        assertEquals(2, sample(scrape, "netstack_dropped_packets_total{reason=\"ip_malformed\"}"));
        assertFalse(scrape.contains("netstack_tcp_forward_dropped_attempts_total"),
                "Tailscale's process-wide twin of the same drops is not a second series");
        assertFalse(scrape.contains("netstack_tcp_forward_max_in_flight_drop_total"), "it is a reason of the family");
        List<Integer> figures = MeterPlan.meters().stream().map(MeterPlan.Planned::figure).toList();
        assertEquals(figures.size(), new HashSet<>(figures).size(), "each figure is one series at most");
        for (String key : MeterPlan.DROP_REASONS.keySet()) {
            assertTrue(Netstack.expvarKeys().contains(key), key + " is an expvar key");
        }
        for (String key : MeterPlan.DNS_RESULTS.keySet()) {
            assertTrue(Netstack.expvarKeys().contains(key), key + " is an expvar key");
        }
    }
}
