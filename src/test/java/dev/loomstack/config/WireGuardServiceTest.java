package dev.loomstack.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.LoomstackApplication;
import dev.loomstack.wireguard.StaticIdentity;
import dev.loomstack.wireguard.WireGuardKey;
import dev.loomstack.wireguard.WireGuardLink;
import dev.loomstack.wireguard.WireGuardPeerConfig;
import dev.loomstack.wireguard.WireGuardSettings;
import dev.loomstack.packet.IcmpHeader;
import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.IpPrefix;
import dev.loomstack.packet.Ipv4Header;
import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.testing.Await;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The whole service with {@code loomstack.link=wireguard} on a loopback UDP port (no device, no
 * privilege): a second WireGuard link in the test is the tailnet peer. The netmap pushed over REST
 * adds it (with a pre-shared key read from its file) and a real handshake and ping go through the
 * service's port; GET /api/v1/wireguard and /actuator/netstack show the key, port, peer and
 * counters; the peer survives a restart, and a netmap without it removes it live. Boot failures
 * (a taken port, a saved peer whose pre-shared key file is gone) name what to fix.
 */
@ExtendWith(OutputCaptureExtension.class)
class WireGuardServiceTest {
    static final String TOKEN = "wg-service";
    static final Duration LIMIT = Duration.ofSeconds(20);
    static final IpAddress ROUTER = IpAddress.parse("100.64.0.1");
    static final IpAddress LAPTOP = IpAddress.parse("100.64.0.2");
    static final JsonMapper JSON = JsonMapper.builder().build();

    @TempDir
    Path state;
    ConfigurableApplicationContext ctx;
    WireGuardLink client;
    final HttpClient http = HttpClient.newHttpClient();
    final LinkedBlockingQueue<byte[]> clientReceived = new LinkedBlockingQueue<>();

    @AfterEach
    void stop() {
        if (client != null) {
            client.close();
        }
        if (ctx != null) {
            ctx.close();
        }
        http.close();
    }

    static int freeUdpPort() throws Exception {
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            return s.getLocalPort();
        }
    }

    ConfigurableApplicationContext start(int port) {
        return SpringApplication.run(LoomstackApplication.class, "--loomstack.link=wireguard",
                "--loomstack.wireguard.listen-port=" + port, "--server.port=0", "--management.server.port=0",
                "--loomstack.state-dir=" + state, "--loomstack.admin.token=" + TOKEN,
                "--loomstack.self-addresses=100.64.0.1/32", "--loomstack.dns.upstreams=192.0.2.53");
    }

    static int port(ConfigurableApplicationContext c) {
        return ((WebServerApplicationContext) c).getWebServer().getPort();
    }

    HttpResponse<String> call(String method, String path, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port(ctx) + path))
                .timeout(Duration.ofSeconds(10)).header("Authorization", "Bearer " + TOKEN);
        if (body != null) {
            b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body));
        } else {
            b.method(method, HttpRequest.BodyPublishers.noBody());
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    JsonNode getJson(String path) throws Exception {
        HttpResponse<String> r = call("GET", path, null);
        assertEquals(200, r.statusCode(), path + ": " + r.body());
        return JSON.readTree(r.body());
    }

    /** The management port's {@code /actuator/netstack} (no token needed). */
    JsonNode expvar() throws Exception {
        int management = Integer.parseInt(ctx.getEnvironment().getProperty("local.management.port"));
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + management + "/actuator/netstack")).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }

    long invalidPackets() {
        try {
            return expvar().path("counter_wireguard_packets_invalid").asLong();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static String netmap(String peers) {
        return """
                {"selfNode":{"name":"router-1","addresses":["100.64.0.1/32"],"allowedIPs":["100.64.0.1/32"]},
                 "peers":[%s],"domain":"tail.example"}""".formatted(peers);
    }

    static String laptop(WireGuardKey key, int port, String psk) {
        return """
                {"name":"laptop","addresses":["100.64.0.2/32"],"publicKey":"%s","endpoint":"127.0.0.1:%d",
                 "presharedKey":"%s","persistentKeepalive":0}""".formatted(key.toBase64(), port, psk);
    }

    /** The test's own WireGuard link: the laptop, configured with the router as its only peer. */
    WireGuardLink laptopLink(StaticIdentity identity, WireGuardKey routerKey, int routerPort, WireGuardKey psk) {
        WireGuardLink link = WireGuardLink.open(new WireGuardSettings(identity.privateKey(),
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1280), PacketBufferPool.forMtu(1280, 16));
        link.configure(List.of(new WireGuardPeerConfig(routerKey, Optional.of(psk),
                Optional.of(new InetSocketAddress(InetAddress.getLoopbackAddress(), routerPort)),
                List.of(IpPrefix.parse("100.64.0.0/10")), Duration.ZERO)));
        link.start(p -> clientReceived.add(p.toByteArray()));
        return link;
    }

    /** An ICMPv4 echo request from the laptop to the router's own address. */
    static PacketBuffer echoRequest(int sequence) {
        int icmpLength = 8 + 32;
        byte[] b = new byte[20 + icmpLength];
        Ipv4Header.write(b, 0, b.length, sequence, 0, 64, 1, LAPTOP, ROUTER);
        IcmpHeader.writeHeader(b, 20, 8, 0, (0x4242L << 16) | sequence);
        for (int i = 28; i < b.length; i++) {
            b[i] = (byte) i;
        }
        IcmpHeader.fillChecksumV4(b, 20, icmpLength);
        return PacketBuffer.copyOf(b, 64);
    }

    /** Pings the router through the tunnel until it answers (the first packets wait for the handshake). */
    void pingThroughTheTunnel() throws Exception {
        for (int seq = 1; seq <= 10; seq++) {
            client.writePacket(echoRequest(seq));
            byte[] reply = clientReceived.poll(2, TimeUnit.SECONDS);
            while (reply != null) {
                if (reply.length >= 28 && (reply[0] >>> 4) == 4 && IpAddress.readV4(reply, 12).equals(ROUTER)
                        && IpAddress.readV4(reply, 16).equals(LAPTOP) && IcmpHeader.type(reply, 20) == 0) {
                    return;
                }
                reply = clientReceived.poll(100, TimeUnit.MILLISECONDS);
            }
        }
        throw new AssertionError("no echo reply from " + ROUTER + " through the WireGuard tunnel");
    }

    @Test
    void theNetmapConfiguresTheLinkLiveAndAHandshakeAndPingGoThroughTheServicesPort() throws Exception {
        int wgPort = freeUdpPort();
        ctx = start(wgPort);
        WireGuardKey routerKey = StaticIdentity.of(WireGuardKey.parse(Files.readString(state.resolve("wireguard.key"))))
                .publicKey();

        JsonNode wg = getJson("/api/v1/wireguard");
        assertEquals(routerKey.toBase64(), wg.path("publicKey").asString());
        assertEquals(wgPort, wg.path("listenPort").asInt());
        assertEquals(0, wg.path("peers").size());
        assertEquals(routerKey.toBase64(), getJson("/api/v1/netmap").path("selfNode").path("publicKey").asString(),
                "the netmap shows the router's own key");

        StaticIdentity laptop = StaticIdentity.generate();
        WireGuardKey psk = StaticIdentity.generate().privateKey();
        Path pskDir = Files.createDirectories(state.resolve("preshared-keys"));
        Files.writeString(pskDir.resolve("laptop.psk"), psk.toBase64() + "\n");
        client = laptopLink(laptop, routerKey, wgPort, psk);

        // A reference to a file that is not there is refused, naming the field; nothing changes.
        HttpResponse<String> refused = call("PUT", "/api/v1/netmap", netmap(laptop(laptop.publicKey(), client.listenPort(),
                "missing.psk")));
        assertEquals(400, refused.statusCode(), refused.body());
        assertTrue(refused.body().contains("peers[0].presharedKey"), refused.body());
        HttpResponse<String> own = call("PUT", "/api/v1/netmap", netmap(laptop(routerKey, client.listenPort(), "laptop.psk")));
        assertEquals(400, own.statusCode(), own.body());
        assertTrue(own.body().contains("peers[0].publicKey") && own.body().contains("own public key"), own.body());
        assertEquals(0, getJson("/api/v1/wireguard").path("peers").size(), "a refused netmap configures nothing");

        HttpResponse<String> applied = call("PUT", "/api/v1/netmap", netmap(laptop(laptop.publicKey(), client.listenPort(),
                "laptop.psk")));
        assertEquals(200, applied.statusCode(), applied.body());
        JsonNode peer = getJson("/api/v1/wireguard").path("peers").get(0);
        assertEquals(laptop.publicKey().toBase64(), peer.path("publicKey").asString());
        assertEquals("laptop", peer.path("name").asString());
        assertEquals("127.0.0.1:" + client.listenPort(), peer.path("endpoint").asString());
        assertTrue(peer.path("presharedKey").asBoolean());
        assertFalse(getJson("/api/v1/wireguard").toString().contains(psk.toBase64()), "the pre-shared key is never shown");
        assertEquals("[\"100.64.0.2/32\"]", peer.path("allowedIps").toString());

        pingThroughTheTunnel();

        JsonNode after = getJson("/api/v1/wireguard").path("peers").get(0);
        assertFalse(after.path("latestHandshake").isNull(), after.toString());
        java.time.Instant.parse(after.path("latestHandshake").asString());
        assertTrue(after.path("receivedBytes").asLong() > 0 && after.path("sentBytes").asLong() > 0, after.toString());
        JsonNode counters = expvar();
        assertTrue(counters.path("counter_wireguard_handshakes_received").asLong() >= 1, counters.toString());
        assertTrue(counters.path("counter_wireguard_received_packets").asLong() >= 1, counters.toString());
        assertTrue(counters.path("counter_wireguard_sent_packets").asLong() >= 1, counters.toString());
        assertEquals(1, counters.path("gauge_wireguard_peers_with_session").asLong(), counters.toString());
        assertTrue(counters.path("counter_icmp_echo_requests_received").asLong() >= 1,
                "the decrypted ping reached the stack: " + counters);

        // Another peer added (and a refused netmap in between): the laptop's session is kept.
        String handshake = after.path("latestHandshake").asString();
        long handshakes = counters.path("counter_wireguard_handshakes_received").asLong();
        String phone = """
                {"name":"phone","addresses":["100.64.0.3/32"],"publicKey":"%s","presharedKey":"%s"}""";
        String laptopPeer = laptop(laptop.publicKey(), client.listenPort(), "laptop.psk");
        HttpResponse<String> bad = call("PUT", "/api/v1/netmap", netmap(laptopPeer + ","
                + phone.formatted(StaticIdentity.generate().publicKey(), "phone.psk")));
        assertEquals(400, bad.statusCode(), bad.body());
        assertTrue(bad.body().contains("peers[1].presharedKey"), bad.body());
        Files.writeString(pskDir.resolve("phone.psk"), StaticIdentity.generate().privateKey() + "\n");
        WireGuardKey phoneKey = StaticIdentity.generate().publicKey();
        assertEquals(200, call("PUT", "/api/v1/netmap", netmap(laptopPeer + "," + phone.formatted(phoneKey, "phone.psk")))
                .statusCode());
        JsonNode two = getJson("/api/v1/wireguard").path("peers");
        assertEquals(2, two.size());
        assertEquals(phoneKey.toBase64(), two.get(1).path("publicKey").asString());
        clientReceived.clear();
        pingThroughTheTunnel();
        assertEquals(handshake, getJson("/api/v1/wireguard").path("peers").get(0).path("latestHandshake").asString(),
                "an unchanged peer keeps its session through netmap updates");
        assertEquals(handshakes, expvar().path("counter_wireguard_handshakes_received").asLong(), "no new handshake");

        // A netmap without the peer removes it live: its session is gone, its packets are refused.
        assertEquals(200, call("PUT", "/api/v1/netmap", netmap("")).statusCode());
        assertEquals(0, getJson("/api/v1/wireguard").path("peers").size());
        assertEquals(0, expvar().path("gauge_wireguard_peers_with_session").asLong());
        long invalidBefore = expvar().path("counter_wireguard_packets_invalid").asLong();
        clientReceived.clear();
        client.writePacket(echoRequest(99));
        Await.until(LIMIT, "the removed peer's packet refused", () -> invalidPackets() > invalidBefore);
        assertTrue(clientReceived.isEmpty(), "no answer reaches a removed peer");
    }

    @Test
    void theKeyAndThePeersSurviveARestart(CapturedOutput output) throws Exception {
        int wgPort = freeUdpPort();
        ctx = start(wgPort);
        String key = getJson("/api/v1/wireguard").path("publicKey").asString();
        WireGuardKey laptop = StaticIdentity.generate().publicKey();
        Files.createDirectories(state.resolve("preshared-keys"));
        Files.writeString(state.resolve("preshared-keys").resolve("laptop.psk"), StaticIdentity.generate().privateKey() + "\n");
        assertEquals(200, call("PUT", "/api/v1/netmap", netmap(laptop(laptop, 40000, "laptop.psk"))).statusCode());
        ctx.close();
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(state.resolve("wireguard.key"))));

        ctx = start(wgPort);
        JsonNode wg = getJson("/api/v1/wireguard");
        assertEquals(key, wg.path("publicKey").asString(), "the same key after a restart");
        assertEquals(laptop.toBase64(), wg.path("peers").get(0).path("publicKey").asString(),
                "the persisted netmap configures the link at boot");
        assertEquals("127.0.0.1:40000", wg.path("peers").get(0).path("endpoint").asString());
        assertTrue(wg.path("peers").get(0).path("presharedKey").asBoolean());

        // The pre-shared key file gone (a Secret not mounted): the boot stops naming the field.
        ctx.close();
        ctx = null;
        Files.delete(state.resolve("preshared-keys").resolve("laptop.psk"));
        assertThrows(RuntimeException.class, () -> start(wgPort));
        String report = output.getAll();
        assertTrue(report.contains("APPLICATION FAILED TO START"), report);
        assertTrue(report.contains("the netmap saved in " + state.resolve("state.json") + " cannot be applied: "
                + "peers[0].presharedKey: no pre-shared key file 'laptop.psk'"), report);
        assertTrue(report.contains("Provide what peers[0].presharedKey names"), report);
    }

    @Test
    void aTakenPortStopsTheBootNamingThePort(CapturedOutput output) throws Exception {
        try (DatagramSocket taken = new DatagramSocket(new InetSocketAddress(0))) {
            int port = taken.getLocalPort();
            assertThrows(RuntimeException.class, () -> start(port));
            String report = output.getAll();
            assertTrue(report.contains("APPLICATION FAILED TO START"), report);
            assertTrue(report.contains("WireGuard cannot listen on UDP port " + port), report);
            assertTrue(report.contains("loomstack.wireguard.listen-port"), report);
        }
    }
}
