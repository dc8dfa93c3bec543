package dev.loomstack.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.LoomstackApplication;
import dev.loomstack.testing.Await;
import dev.loomstack.testing.Cmd;
import dev.loomstack.testing.Privileges;
import dev.loomstack.testing.Teardown;
import dev.loomstack.testing.TextHttpServer;
import dev.loomstack.testing.WireGuardGoPeer;
import dev.loomstack.wireguard.WireGuardKey;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The whole service in {@code loomstack.link=wireguard} mode with Debian's wireguard-go as the
 * tailnet client (see {@link WireGuardGoPeer}): the netmap pushed over REST names the client by
 * its {@code wg pubkey} and endpoint, and that alone lets it in; a netmap without it shuts it out
 * live, and naming it again lets it back in.
 */
class WireGuardServiceEndToEndTest {
    /** The third octet of this class's veth pair: 198.19.16.0/24. */
    static final int OCTET = 16;
    static final String TOKEN = "wg-e2e-service";
    static final JsonMapper JSON = JsonMapper.builder().build();

    @TempDir
    Path state;
    private WireGuardGoPeer client;
    private ConfigurableApplicationContext ctx;
    private TextHttpServer service;
    private final HttpClient http = HttpClient.newHttpClient();

    @AfterEach
    void stop() throws Exception {
        ConfigurableApplicationContext app = ctx;
        AutoCloseable stopApp = app == null ? null : app::close;
        Teardown.closeAll(service, stopApp, client, http::close);
    }

    @Test
    void aNetmapNamingTheWireGuardGoClientLetsItInAndOneWithoutItShutsItOut() throws Exception {
        Privileges.assumeRootAndTun();
        client = WireGuardGoPeer.start(OCTET, 51820);
        int wgPort = freeUdpPort();
        ctx = SpringApplication.run(LoomstackApplication.class, "--loomstack.link=wireguard",
                "--loomstack.wireguard.listen-port=" + wgPort, "--server.port=0", "--management.server.port=0",
                "--loomstack.state-dir=" + state, "--loomstack.admin.token=" + TOKEN,
                "--loomstack.dns.upstreams=192.0.2.53");
        service = TextHttpServer.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), "hello over wireguard",
                TextHttpServer.Threads.VIRTUAL);

        WireGuardKey routerKey = WireGuardKey.parse(getJson("/api/v1/wireguard").path("publicKey").asString());
        assertEquals(200, put("/api/v1/netmap", netmap(true)).statusCode());
        client.connect(routerKey, new InetSocketAddress(client.rootInetAddress(), wgPort));

        assertTrue(ping("100.64.0.1").ok(), () -> client.logTail());
        assertTrue(ping("fd7a:115c:a1e0::1").ok(), () -> client.logTail());
        Cmd.Result curl = client.exec(30, "curl", "-sS", "--max-time", "20", "http://100.64.0.1:" + service.port() + "/");
        assertEquals("hello over wireguard", curl.output(), curl.output());

        JsonNode peer = getJson("/api/v1/wireguard").path("peers").path(0);
        assertEquals(client.publicKey().toBase64(), peer.path("publicKey").asString());
        assertEquals("laptop", peer.path("name").asString());
        assertEquals(client.address() + ":" + client.listenPort(), peer.path("endpoint").asString(), peer.toString());
        assertFalse(peer.path("latestHandshake").isNull(), peer.toString());
        assertTrue(peer.path("receivedBytes").asLong() > 0, peer.toString());
        assertTrue(expvar("counter_wireguard_handshakes_received") >= 1);

        // Not named any more: its session goes, and a new handshake of its own is refused.
        assertEquals(200, put("/api/v1/netmap", netmap(false)).statusCode());
        assertEquals(0, getJson("/api/v1/wireguard").path("peers").size());
        assertFalse(ping("100.64.0.1").ok(), "a client the netmap no longer names is not answered");
        long failed = expvar("counter_wireguard_handshakes_failed");
        client.forgetSessions();
        assertFalse(ping("100.64.0.1").ok(), "nor after a new handshake of its own");
        Await.until(Duration.ofSeconds(10), "its initiation is refused and counted",
                () -> expvar("counter_wireguard_handshakes_failed") > failed);
        assertTrue(client.latestHandshake().isEmpty(), "wireguard-go completed no handshake");

        // Named again: in at the next handshake.
        assertEquals(200, put("/api/v1/netmap", netmap(true)).statusCode());
        client.forgetSessions();
        Await.until(Duration.ofSeconds(20), "the client named again gets through", () -> ping("100.64.0.1").ok());
    }

    private String netmap(boolean withClient) {
        String peer = """
                {"name":"laptop","addresses":["100.64.0.2/32","fd7a:115c:a1e0::2/128"],"publicKey":"%s",
                 "endpoint":"%s:%d"}""".formatted(client.publicKey().toBase64(), client.address(), client.listenPort());
        return """
                {"selfNode":{"name":"router-1","addresses":["100.64.0.1/32","fd7a:115c:a1e0::1/128"],
                             "allowedIPs":["100.64.0.1/32","fd7a:115c:a1e0::1/128"]},
                 "peers":[%s],"domain":"tail.example"}""".formatted(withClient ? peer : "");
    }

    private Cmd.Result ping(String address) {
        return client.exec(20, "ping", "-c", "1", "-W", "3", address);
    }

    static int freeUdpPort() throws Exception {
        try (DatagramSocket s = new DatagramSocket(0)) {
            return s.getLocalPort();
        }
    }

    private HttpResponse<String> put(String path, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + apiPort() + path))
                .timeout(Duration.ofSeconds(10)).header("Authorization", "Bearer " + TOKEN)
                .header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private JsonNode getJson(String path) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + apiPort() + path))
                .timeout(Duration.ofSeconds(10)).header("Authorization", "Bearer " + TOKEN).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), path + ": " + r.body());
        return JSON.readTree(r.body());
    }

    /** One counter of {@code /actuator/netstack} on the management port. */
    private long expvar(String key) {
        try {
            int management = Integer.parseInt(ctx.getEnvironment().getProperty("local.management.port"));
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + management + "/actuator/netstack")).timeout(Duration.ofSeconds(10))
                    .build(), HttpResponse.BodyHandlers.ofString());
            return JSON.readTree(r.body()).path(key).asLong();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private int apiPort() {
        return ((WebServerApplicationContext) ctx).getWebServer().getPort();
    }
}
