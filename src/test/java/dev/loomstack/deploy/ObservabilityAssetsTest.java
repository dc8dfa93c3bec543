package dev.loomstack.deploy;

import static dev.loomstack.deploy.ChartRender.find;
import static dev.loomstack.deploy.ChartRender.findOptional;
import static dev.loomstack.deploy.ChartRender.get;
import static dev.loomstack.deploy.ChartRender.noneOfKind;
import static dev.loomstack.deploy.ChartRender.render;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.LoomstackApplication;
import dev.loomstack.testing.Cmd;
import dev.loomstack.testing.NetNs;
import dev.loomstack.testing.Privileges;
import dev.loomstack.testing.TextHttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.SpringApplication;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The Grafana dashboard and the alert rules the chart ships: rendered behind their values, and
 * every metric (and fixed label value) they query is served by a running service.
 */
class ObservabilityAssetsTest {
    static final Path DASHBOARD = ChartRender.CHART.resolve("files/grafana-dashboard.json");
    static final String ENABLED = """
            grafanaDashboard:
              enabled: true
              namespace: monitoring
              labels:
                grafana_dashboard: "1"
                team: net
              annotations:
                grafana_folder: Networking
            prometheusRule:
              enabled: true
              labels:
                release: kube-prometheus-stack
              limitSaturation: 0.8
              dropRatio: 0.02
            """;

    // ---- rendering ---------------------------------------------------------------------------

    @Test
    void bothAreOffByDefault() {
        List<Map<String, Object>> docs = render("");
        assertTrue(noneOfKind(docs, "PrometheusRule"));
        assertTrue(findOptional(docs, "ConfigMap", "edge-loomstack-dashboard").isEmpty());
    }

    @Test
    void theDashboardIsAConfigMapGrafanasSidecarLoads() throws Exception {
        Map<String, Object> cm = find(render(ENABLED), "ConfigMap", "edge-loomstack-dashboard");
        assertEquals("monitoring", get(cm, "metadata", "namespace"));
        assertEquals("1", get(cm, "metadata", "labels", "grafana_dashboard"));
        assertEquals("net", get(cm, "metadata", "labels", "team"));
        assertEquals("Networking", get(cm, "metadata", "annotations", "grafana_folder"));
        String json = get(cm, "data", "loomstack.json");
        JsonMapper mapper = JsonMapper.builder().build();
        assertEquals(mapper.readTree(Files.readString(DASHBOARD)), mapper.readTree(json), "the file, unchanged");
        String queries = String.join("\n", dashboardExpressions());
        // What an operator looks for: throughput and packets per direction, drops by reason,
        // in-flight against limits, limit hits, connections, retransmissions, DNS, flows.
        for (String shown : List.of("netstack_link_received_bytes_total", "netstack_link_sent_bytes_total",
                "netstack_forwarded_from_clients_bytes_total", "netstack_forwarded_to_clients_bytes_total",
                "netstack_link_received_packets_total", "netstack_link_sent_packets_total",
                "sum by (reason) (rate(netstack_dropped_packets_total", "netstack_tcp_forward_in_flight{",
                "netstack_tcp_forward_in_flight_limit{", "netstack_udp_forward_flows_limit{",
                "reason=\"tcp_per_client_limit\"", "netstack_tcp_forward_in_flight_per_client_limit_reached",
                "netstack_tcp_current_established", "netstack_tcp_retransmits_total", "netstack_dns_queries_total",
                "netstack_forwarded_flows{", "netstack_forwarded_flows_opened_total")) {
            assertTrue(queries.contains(shown), "the dashboard shows " + shown);
        }
    }

    @Test
    void theRulesAreAPrometheusRuleWithTheChosenThresholds() {
        Map<String, Object> rule = find(render(ENABLED), "PrometheusRule", "edge-loomstack");
        assertEquals("net", get(rule, "metadata", "namespace"));
        assertEquals("kube-prometheus-stack", get(rule, "metadata", "labels", "release"));
        List<Map<String, Object>> rules = get(rule, "spec", "groups", 0, "rules");
        Set<String> alerts = new TreeSet<>();
        rules.forEach(r -> alerts.add((String) r.get("alert")));
        assertEquals(new TreeSet<>(List.of("LoomstackLinkDown", "LoomstackNoNetmap", "LoomstackTcpInFlightLimitSaturated",
                "LoomstackUdpFlowLimitSaturated", "LoomstackLimitDrops", "LoomstackHeapPressure",
                "LoomstackDropRateHigh")), alerts);
        String saturation = ruleExpr(rules, "LoomstackTcpInFlightLimitSaturated");
        assertTrue(saturation.contains("> 0.8"), saturation);
        assertTrue(ruleExpr(rules, "LoomstackDropRateHigh").contains("> 0.02"));
        Map<String, Object> linkDown = rules.stream().filter(r -> "LoomstackLinkDown".equals(r.get("alert")))
                .findFirst().orElseThrow();
        assertEquals("1m", linkDown.get("for"));
        assertEquals("critical", get(linkDown, "labels", "severity"));
        assertTrue(((String) get(linkDown, "annotations", "summary")).contains("{{ $labels.pod }}"),
                "Prometheus's own templates reach it unrendered");
    }

    @Test
    void theSchemaRefusesBadObservabilityValues() {
        for (String bad : List.of("prometheusRule:\n  enabled: true\n  limitSaturation: 2\n",
                "prometheusRule:\n  enabled: true\n  saturationFor: soon\n",
                "grafanaDashboard:\n  enabled: true\n  lables: {}\n",
                "grafanaDashboard:\n  enabled: yes-please\n")) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> render(bad), bad);
            assertTrue(e.getMessage().contains("values don't meet the specifications of the schema"), e.getMessage());
        }
    }

    // ---- the metric names against a running service --------------------------------------------

    @Test
    void theNameCheckCatchesAMetricThatDoesNotExist() {
        String scrape = """
                # TYPE netstack_link_up gauge
                netstack_link_up 1.0
                netstack_dropped_packets_total{reason="not_taken"} 3.0
                """;
        assertEquals(List.of(), missing(List.of(
                "sum by (reason) (rate(netstack_dropped_packets_total{instance=~\"$instance\"}[$__rate_interval]))",
                "max by (namespace, pod) (netstack_link_up) == 0"), scrape));
        assertEquals(List.of("netstack_link_upp", "netstack_dropped_packets", "netstack_dropped_packets_total"
                + "{reason=\"tcp_typo\"}"), missing(List.of("netstack_link_upp == 0",
                "rate(netstack_dropped_packets[5m])", "rate(netstack_dropped_packets_total{reason=\"tcp_typo\"}[5m])"),
                scrape));
    }

    @Test
    void everyMetricTheDashboardAndTheRulesQueryIsServed(@TempDir Path state) throws Exception {
        Privileges.assumeRootAndTun();
        List<String> exprs = new ArrayList<>(dashboardExpressions());
        exprs.addAll(ruleExpressions());
        String dev = NetNs.uniqueDeviceName("lsobs");
        HttpClient http = HttpClient.newHttpClient();
        try (NetNs client = NetNs.create();
             TextHttpServer site = TextHttpServer.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                     "forwarded", TextHttpServer.Threads.VIRTUAL)) {
            ConfigurableApplicationContext ctx = SpringApplication.run(LoomstackApplication.class,
                    "--loomstack.tun.name=" + dev, "--server.port=0", "--management.server.port=0",
                    "--loomstack.state-dir=" + state, "--loomstack.admin.token=observability-token",
                    "--loomstack.shutdown.drain=1s", "--loomstack.dns.upstreams=127.0.0.1:9");
            try {
                int mgmt = Integer.parseInt(ctx.getEnvironment().getProperty("local.management.port"));
                client.adoptAsTailnetClient(dev);
                // Some traffic, so the sample below shows counters that moved: a ping answered, a
                // flow to the node's own address forwarded to the host, a MagicDNS query, and a
                // connection to a subnet nobody advertised (dropped).
                assertTrue(client.exec(20, "ping", "-c", "1", "-W", "5", "100.64.0.1").ok());
                Cmd.Result got = client.exec(20, "curl", "-sS", "--max-time", "10",
                        "http://100.64.0.1:" + site.port() + "/");
                assertEquals("forwarded", got.output(), got.output());
                client.exec(20, "dig", "+time=2", "+tries=1", "@100.100.100.100", "loomstack.");
                client.exec(20, "curl", "-sS", "--max-time", "1", "http://198.18.2.2:80/");
                HttpResponse<String> prom = http.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + mgmt + "/actuator/prometheus")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertEquals(200, prom.statusCode());
                String scrape = prom.body();
                // Kept for the reader (the README's sample comes from it), not printed.
                Files.writeString(Path.of("target", "observability-scrape.txt"), scrape);
                assertEquals(List.of(), missing(exprs, scrape),
                        "queried by the dashboard or the rules but not served by /actuator/prometheus");
                assertFalse(scrape.contains("NaN"), "no NaN while the engine runs");
                assertTrue(sample(scrape, "netstack_forwarded_to_clients_bytes_total") >= "forwarded".length());
                assertTrue(sample(scrape, "netstack_forwarded_from_clients_bytes_total") > 0, "the request");
                assertTrue(sample(scrape, "netstack_forwarded_flows_opened_total") >= 1);
                assertTrue(sample(scrape, "netstack_link_received_bytes_total")
                        > sample(scrape, "netstack_forwarded_from_clients_bytes_total"), "headers and handshakes too");
            } finally {
                ctx.close();
            }
        }
        assertFalse(Cmd.run("ip", "link", "show", dev).ok(), "the device went with the service");
    }

    // ---- helpers -----------------------------------------------------------------------------

    private static double sample(String scrape, String series) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(scrape);
        assertTrue(m.find(), series + " in the scrape");
        return Double.parseDouble(m.group(1));
    }

    private static String ruleExpr(List<Map<String, Object>> rules, String alert) {
        return rules.stream().filter(r -> alert.equals(r.get("alert"))).map(r -> (String) r.get("expr"))
                .findFirst().orElseThrow();
    }

    static List<String> dashboardExpressions() throws Exception {
        JsonNode dash = JsonMapper.builder().build().readTree(Files.readString(DASHBOARD));
        List<String> exprs = new ArrayList<>();
        for (JsonNode panel : dash.get("panels")) {
            for (JsonNode target : panel.get("targets")) {
                exprs.add(target.get("expr").asString());
            }
        }
        // The router picker's label_values(metric, label) names a metric too.
        for (JsonNode variable : dash.get("templating").get("list")) {
            Matcher m = LABEL_VALUES.matcher(variable.path("definition").asString(""));
            if (m.find()) {
                exprs.add(m.group(1));
            }
        }
        return exprs;
    }

    /** The rules as Prometheus gets them: rendered with the chart's defaults. */
    static List<String> ruleExpressions() {
        Map<String, Object> rule = find(render("prometheusRule:\n  enabled: true\n"),
                "PrometheusRule", "edge-loomstack");
        List<String> exprs = new ArrayList<>();
        List<Map<String, Object>> groups = get(rule, "spec", "groups");
        for (Map<String, Object> g : groups) {
            List<Map<String, Object>> rules = get(g, "rules");
            rules.forEach(r -> exprs.add((String) r.get("expr")));
        }
        return exprs;
    }

    /** PromQL's functions, aggregations and keywords: identifiers that are not metric names. */
    static final Set<String> PROMQL_WORDS = Set.of("sum", "max", "min", "avg", "count", "rate", "irate", "increase",
            "delta", "deriv", "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
            "bool", "offset", "topk", "bottomk", "quantile", "histogram_quantile", "abs", "clamp_min", "clamp_max",
            "absent", "vector", "scalar", "time", "label_replace", "sort", "sort_desc", "avg_over_time",
            "max_over_time", "min_over_time", "sum_over_time", "changes", "resets", "round", "inf", "nan");
    private static final Pattern LABEL_VALUES = Pattern.compile("label_values\\(\\s*([a-zA-Z_:][a-zA-Z0-9_:]*)");
    private static final Pattern STRING = Pattern.compile("\"(?:[^\"\\\\]|\\\\.)*\"");
    private static final Pattern SELECTOR = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)\\s*\\{([^}]*)}");
    private static final Pattern EQUALS = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)\\s*=\\s*\"([^\"]*)\"");
    private static final Pattern IDENT = Pattern.compile("(?<![\\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)");

    /**
     * What {@code exprs} query that {@code scrape} does not serve: metric names, as Prometheus
     * stores them (a counter's {@code _total}, a histogram's {@code _bucket}, exactly as the sample
     * lines spell them), and series picked by a fixed label value ({@code reason="..."}).
     */
    static List<String> missing(List<String> exprs, String scrape) {
        Set<String> served = new LinkedHashSet<>();
        List<String> samples = scrape.lines().filter(l -> !l.isBlank() && !l.startsWith("#")).toList();
        for (String line : samples) {
            served.add(line.split("[{ ]", 2)[0]);
        }
        Set<String> gone = new LinkedHashSet<>();
        for (String expr : exprs) {
            // Series picked by a fixed label value must exist with that value.
            Matcher sel = SELECTOR.matcher(expr);
            while (sel.find()) {
                Matcher eq = EQUALS.matcher(sel.group(2));
                while (eq.find()) {
                    String name = sel.group(1);
                    String label = eq.group(1) + "=\"" + eq.group(2) + "\"";
                    if (served.contains(name) && samples.stream().noneMatch(l -> l.startsWith(name + "{")
                            && l.contains(label))) {
                        gone.add(name + "{" + label + "}");
                    }
                }
            }
            String bare = expr.replaceAll("\\{[^}]*}", " ")      // label matchers
                    .replaceAll("\\[[^]]*]", " ")                  // range durations
                    .replaceAll("(?:by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)", " ");
            bare = STRING.matcher(bare).replaceAll(" ");
            Matcher id = IDENT.matcher(bare);
            while (id.find()) {
                String word = id.group(1);
                if (!PROMQL_WORDS.contains(word.toLowerCase()) && !served.contains(word)) {
                    gone.add(word);
                }
            }
        }
        return List.copyOf(gone);
    }
}
