package dev.loomstack.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.LoomstackApplication;
import dev.loomstack.testing.Cmd;
import dev.loomstack.testing.LoopbackAddress;
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
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The whole service on a real TUN: a netmap pushed over HTTP opens a subnet route that a kernel
 * client then uses; the counters move on {@code /actuator/netstack}; the service's own ports are
 * refused from the TUN; after a restart the netmap is still in force.
 */
class ServiceEndToEndTest {
    static final String SITE_HOST = "198.18.2.2";
    static final String TOKEN = "e2e-token";
    private final HttpClient http = HttpClient.newHttpClient();

    /** A running instance and the client namespace holding its TUN. */
    record Running(ConfigurableApplicationContext ctx, int apiPort, int managementPort) implements AutoCloseable {
        @Override
        public void close() {
            ctx.close();
        }
    }

    private static Running boot(String dev, Path state) {
        ConfigurableApplicationContext ctx = SpringApplication.run(LoomstackApplication.class,
                "--loomstack.tun.name=" + dev, "--server.port=0", "--management.server.port=0",
                "--loomstack.state-dir=" + state, "--loomstack.admin.token=" + TOKEN,
                "--loomstack.shutdown.drain=1s", "--loomstack.dns.upstreams=127.0.0.1:9");
        int api = ((WebServerApplicationContext) ctx).getWebServer().getPort();
        int mgmt = Integer.parseInt(ctx.getEnvironment().getProperty("local.management.port"));
        return new Running(ctx, api, mgmt);
    }

    private HttpResponse<String> call(String method, int port, String path, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .header("Authorization", "Bearer " + TOKEN);
        if (body != null) {
            b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body));
        } else {
            b.method(method, HttpRequest.BodyPublishers.noBody());
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static long counter(String json, String key) {
        Matcher m = Pattern.compile("\"" + key + "\":(\\d+)").matcher(json);
        assertTrue(m.find(), key + " in " + json);
        return Long.parseLong(m.group(1));
    }

    @Test
    void netmapOverHttpOpensASubnetAndSurvivesARestart(@TempDir Path state) throws Exception {
        Privileges.assumeRootAndTun();
        String dev = NetNs.uniqueDeviceName("lssvc");
        try (LoopbackAddress siteAddress = LoopbackAddress.add(SITE_HOST);
             TextHttpServer site = TextHttpServer.start(new InetSocketAddress(InetAddress.getByName(SITE_HOST), 0),
                     "site says hi", TextHttpServer.Threads.VIRTUAL);
             NetNs client = NetNs.create()) {
            String url = "http://" + SITE_HOST + ":" + site.port() + "/";
            try (Running r = boot(dev, state)) {
                client.adoptAsTailnetClient(dev);
                long droppedBefore = counter(call("GET", r.managementPort(), "/actuator/netstack", null).body(),
                        "counter_dropped_packets");
                Cmd.Result before = client.exec(20, "curl", "-sS", "--max-time", "2", url);
                assertTrue(!before.ok(), "no route is advertised yet: " + before.output());
                assertTrue(counter(call("GET", r.managementPort(), "/actuator/netstack", null).body(),
                        "counter_dropped_packets") > droppedBefore, "the packets not taken are counted");

                HttpResponse<String> put = call("PUT", r.apiPort(), "/api/v1/netmap", """
                        {"selfNode":{"name":"router-1","addresses":["100.64.0.1/32"],
                         "allowedIPs":["100.64.0.1/32","198.18.2.0/24"]},
                         "peers":[{"name":"laptop","addresses":["100.64.0.2/32"]}],"domain":"tail.example"}""");
                assertEquals(200, put.statusCode(), put.body());
                assertTrue(put.body().contains("198.18.2.0/24"), put.body());

                String expBefore = call("GET", r.managementPort(), "/actuator/netstack", null).body();
                Cmd.Result got = client.exec(20, "curl", "-sS", "--max-time", "10", url);
                assertEquals("site says hi", got.output(), got.output());
                String expAfter = call("GET", r.managementPort(), "/actuator/netstack", null).body();
                assertTrue(counter(expAfter, "counter_tcp_passive_connection_openings")
                        > counter(expBefore, "counter_tcp_passive_connection_openings"), expAfter);
                assertTrue(counter(expAfter, "counter_ip_packets_received")
                        > counter(expBefore, "counter_ip_packets_received"));

                String prom = call("GET", r.managementPort(), "/actuator/prometheus", null).body();
                assertTrue(prom.contains("netstack_tcp_passive_connection_openings_total"), prom);
                HttpResponse<String> ready = call("GET", r.managementPort(), "/actuator/health/readiness", null);
                assertEquals(200, ready.statusCode(), ready.body());

                // The service's own ports are never reachable from the tailnet side.
                for (int port : new int[] {r.apiPort(), r.managementPort()}) {
                    Cmd.Result own = client.exec(20, "curl", "-sS", "--max-time", "10",
                            "http://100.64.0.1:" + port + "/actuator/health");
                    assertEquals(7, own.exitCode(), "port " + port + ": " + own.output());
                }
            }
            assertTrue(Files.exists(state.resolve(StateStore.FILE_NAME)));

            try (Running again = boot(dev, state)) {
                client.adoptAsTailnetClient(dev);
                HttpResponse<String> map = call("GET", again.apiPort(), "/api/v1/netmap", null);
                assertTrue(map.body().contains("198.18.2.0/24"), "the netmap survives the restart: " + map.body());
                Cmd.Result got = client.exec(20, "curl", "-sS", "--max-time", "10", url);
                assertEquals("site says hi", got.output(), got.output());
            }
        }
    }

    @Test
    void aCorruptStateFileStopsTheBootWithOneClearMessage(@TempDir Path state) throws Exception {
        Files.writeString(state.resolve(StateStore.FILE_NAME), "{ not json");
        StateStore store = new StateStore(state);
        StateStore.CorruptStateException e = org.junit.jupiter.api.Assertions.assertThrows(
                StateStore.CorruptStateException.class, store::load);
        var analysis = new CorruptStateFailureAnalyzer().analyze(new IllegalStateException("boot", e));
        assertTrue(analysis.getDescription().contains(state.resolve(StateStore.FILE_NAME).toString()));
        assertEquals("{ not json", Files.readString(state.resolve(StateStore.FILE_NAME)), "never replaced");
    }
}
