package dev.loomstack.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.LoomstackApplication;
import dev.loomstack.testing.Await;
import dev.loomstack.testing.Cmd;
import dev.loomstack.testing.LoopbackAddress;
import dev.loomstack.testing.NetNs;
import dev.loomstack.testing.Privileges;
import dev.loomstack.testing.Teardown;
import dev.loomstack.testing.TextHttpServer;
import dev.loomstack.testing.UdpEchoServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.util.FileSystemUtils;

/**
 * The whole service on a real TUN, attacked from a kernel client in a namespace: the router host
 * owns {@code 198.18.1.2} (on this process's loopback) inside the advertised {@code 198.18.0.0/16},
 * as a pod owns an address in the pod CIDR it advertises. Its API and Actuator ports (bound as 0,
 * so the real ports are the ones refused) and a port of {@code loomstack.deny-host-ports} are
 * refused by every path that reaches the host — the subnet, the node's own address (dialled at
 * {@code 127.0.0.1}) and 4via6 — while an ordinary service on the same host still answers. An IPv6
 * default route reaches a plain IPv6 host and opens no 4via6 site.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OwnServicesUnreachableEndToEndTest {
    static final String TOKEN = "e2e-token";
    static final String SITE_HOST = "198.18.1.2";
    /** Added to the host's loopback while the service runs. */
    static final String LATE_HOST = "198.18.1.3";
    static final String V6_HOST = "2001:db8:1::2";
    static final String V6_ROUTE = "2001:db8:1::/64";
    /** 4via6 site 1's address for {@link #SITE_HOST}; site 1 is advertised. */
    static final String SITE_VIA = "fd7a:115c:a1e0:b1a:0:1:c612:102";
    /** Site 2's address for the same IPv4 host; site 2 is never advertised. */
    static final String UNADVERTISED_VIA = "fd7a:115c:a1e0:b1a:0:2:c612:102";
    static final String REFUSED_KEY = "counter_host_port_refused";
    static final int BIND_ATTEMPTS = 20;

    private final HttpClient http = HttpClient.newHttpClient();
    /** Addresses added to the host's loopback, removed in reverse order. */
    private final List<LoopbackAddress> onLo = new ArrayList<>();
    private Path state;
    private ConfigurableApplicationContext ctx;
    private int apiPort;
    private int managementPort;
    private NetNs client;
    private String dev;
    /** The operator's denied port: a TCP listener and a UDP socket on the wildcard address. */
    private ServerSocket deniedTcp;
    private UdpEchoServer deniedUdp;
    private final AtomicInteger deniedAccepts = new AtomicInteger();
    /** An ordinary service of the host: reachable through the router. */
    private TextHttpServer ordinaryHttp;
    private UdpEchoServer ordinaryUdp;

    @BeforeAll
    void start() throws Exception {
        Privileges.assumeRootAndTun();
        onLo.add(LoopbackAddress.add(SITE_HOST));
        onLo.add(LoopbackAddress.add(V6_HOST));
        openDeniedPort();
        ordinaryHttp = TextHttpServer.start(new InetSocketAddress(0), "ordinary", TextHttpServer.Threads.VIRTUAL);
        ordinaryUdp = startEcho(new InetSocketAddress(0));

        state = Files.createTempDirectory("loomstack-own-services");
        dev = NetNs.uniqueDeviceName("lsown");
        ctx = SpringApplication.run(LoomstackApplication.class,
                "--loomstack.tun.name=" + dev, "--server.port=0", "--management.server.port=0",
                "--loomstack.state-dir=" + state, "--loomstack.admin.token=" + TOKEN,
                "--loomstack.shutdown.drain=1s", "--loomstack.dns.upstreams=127.0.0.1:9",
                "--loomstack.deny-host-ports=" + deniedTcp.getLocalPort());
        apiPort = ((WebServerApplicationContext) ctx).getWebServer().getPort();
        managementPort = Integer.parseInt(ctx.getEnvironment().getProperty("local.management.port"));
        client = NetNs.create();
        client.adoptAsTailnetClient(dev);
        client.exec("ip", "-6", "route", "add", V6_ROUTE, "dev", dev).check();
    }

    /** A port free for both TCP and UDP on the wildcard address. */
    private void openDeniedPort() throws IOException {
        for (int i = 0; i < BIND_ATTEMPTS && deniedUdp == null; i++) {
            ServerSocket tcp = new ServerSocket(0, 64);
            try {
                deniedUdp = startEcho(new InetSocketAddress(tcp.getLocalPort()));
                deniedTcp = tcp;
            } catch (IOException busy) {
                tcp.close();
            }
        }
        assertTrue(deniedTcp != null, "a port free for TCP and UDP");
        Thread.ofVirtual().start(() -> {
            while (!deniedTcp.isClosed()) {
                try (Socket s = deniedTcp.accept()) {
                    deniedAccepts.incrementAndGet();
                    s.getOutputStream().write("HTTP/1.0 200 OK\r\n\r\nreached".getBytes(StandardCharsets.US_ASCII));
                } catch (IOException e) {
                    return;
                }
            }
        });
    }

    private static UdpEchoServer startEcho(InetSocketAddress address) throws IOException {
        return UdpEchoServer.start(address, text -> "echo:" + text.strip());
    }

    @AfterAll
    void stop() throws Exception {
        Teardown.closeAll(ctx, client, deniedTcp, deniedUdp, ordinaryUdp, ordinaryHttp,
                () -> Teardown.closeAll(onLo.reversed()));
        if (state != null) {
            FileSystemUtils.deleteRecursively(state);
        }
    }

    private void applyNetmap(String... allowedIps) throws Exception {
        String allowed = String.join(",", Arrays.stream(allowedIps).map(p -> "\"" + p + "\"").toList());
        HttpResponse<String> put = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + apiPort + "/api/v1/netmap"))
                .header("Authorization", "Bearer " + TOKEN).header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString("""
                        {"selfNode":{"name":"router-1","addresses":["100.64.0.1/32","fd7a:115c:a1e0::1/128"],
                         "allowedIPs":["100.64.0.1/32","fd7a:115c:a1e0::1/128",%s]},
                         "peers":[{"name":"laptop","addresses":["100.64.0.2/32"]}],"domain":"tail.example"}"""
                        .formatted(allowed))).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, put.statusCode(), put.body());
    }

    private long counter(String key) {
        try {
            String json = http.send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + managementPort + "/actuator/netstack")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            Matcher m = Pattern.compile("\"" + key + "\":(\\d+)").matcher(json);
            assertTrue(m.find(), key + " in " + json);
            return Long.parseLong(m.group(1));
        } catch (IOException e) {
            throw new AssertionError(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private Cmd.Result curl(String host, int port) {
        String h = host.contains(":") ? "[" + host + "]" : host;
        return client.exec(30, "curl", "-sS", "-g", "--max-time", "15", "--connect-timeout", "10",
                "http://" + h + ":" + port + "/");
    }

    /** One datagram from the client; what came back within two seconds. */
    private Cmd.Result udp(String host, int port) {
        String target = host.contains(":") ? "UDP6:[" + host + "]:" + port : "UDP:" + host + ":" + port;
        return client.exec(20, "sh", "-c", "echo x | socat -T 2 - " + target);
    }

    @Test
    void theServicePortsAndDeniedPortsAreRefusedByEveryPathWhileOrdinaryPortsWork() throws Exception {
        applyNetmap("198.18.0.0/16", "fd7a:115c:a1e0:b1a:0:1::/96");
        int[] refusedPorts = {apiPort, managementPort, deniedTcp.getLocalPort()};
        for (String host : new String[] {SITE_HOST, "100.64.0.1", SITE_VIA}) {
            Cmd.Result ok = curl(host, ordinaryHttp.port());
            assertEquals("ordinary", ok.output(), "an ordinary host service via " + host + ": " + ok.output());
            for (int port : refusedPorts) {
                long before = counter(REFUSED_KEY);
                Cmd.Result r = curl(host, port);
                // curl's 7: the connection was refused (our RST), not timed out (28) nor answered.
                assertEquals(7, r.exitCode(), host + ":" + port + " must be refused: " + r.output());
                Await.until(Duration.ofSeconds(5), "the refusal of " + host + ":" + port + " is counted",
                        () -> counter(REFUSED_KEY) > before);
            }
        }
        assertEquals(0, deniedAccepts.get(), "nothing was dialled to the denied port");
        String prometheus = http.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + managementPort + "/actuator/prometheus")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        assertTrue(prometheus.contains("netstack_host_port_refused_total"), "exported as a meter too");
    }

    @Test
    void udpToADeniedHostPortIsDroppedAndCounted() throws Exception {
        applyNetmap("198.18.0.0/16", "fd7a:115c:a1e0:b1a:0:1::/96");
        Cmd.Result ok = udp(SITE_HOST, ordinaryUdp.port());
        assertEquals("echo:x", ok.output().strip(), "an ordinary UDP service answers: " + ok.output());
        for (String host : new String[] {SITE_HOST, "100.64.0.1", SITE_VIA}) {
            long before = counter(REFUSED_KEY);
            Cmd.Result r = udp(host, deniedUdp.port());
            assertEquals("", r.output().strip(), "UDP to " + host + " on the denied port gets no answer");
            Await.until(Duration.ofSeconds(5), "the drop via " + host + " is counted",
                    () -> counter(REFUSED_KEY) > before);
        }
        assertEquals(0, deniedUdp.received(), "no datagram reached the denied port");
    }

    @Test
    void anAddressTheHostGainsWhileRunningIsRefusedAtOnce() throws Exception {
        applyNetmap("198.18.0.0/16");
        onLo.add(LoopbackAddress.add(LATE_HOST));
        long before = counter(REFUSED_KEY);
        Cmd.Result r = curl(LATE_HOST, apiPort);
        assertEquals(7, r.exitCode(), "the API on the new address is refused: " + r.output());
        Await.until(Duration.ofSeconds(5), "the refusal is counted", () -> counter(REFUSED_KEY) > before);
        Cmd.Result ok = curl(LATE_HOST, ordinaryHttp.port());
        assertEquals("ordinary", ok.output(), ok.output());
    }

    @Test
    void anIpv6DefaultRouteReachesPlainIpv6HostsAndOpensNoViaSite() throws Exception {
        applyNetmap("::/0");
        int port = ordinaryHttp.port();
        Cmd.Result v6 = curl(V6_HOST, port);
        assertEquals("ordinary", v6.output(), "the plain IPv6 host answers: " + v6.output());

        long before = counter(REFUSED_KEY);
        Cmd.Result api = curl(V6_HOST, apiPort);
        assertEquals(7, api.exitCode(), "the API on the host's IPv6 address is refused: " + api.output());
        Await.until(Duration.ofSeconds(5), "the refusal is counted", () -> counter(REFUSED_KEY) > before);

        long dropped = counter("counter_dropped_packets");
        Cmd.Result site = client.exec(30, "curl", "-sS", "-g", "--max-time", "4",
                "http://[" + UNADVERTISED_VIA + "]:" + port + "/");
        assertFalse(site.ok(), "an unadvertised 4via6 site is not reached: " + site.output());
        assertFalse(site.output().contains("ordinary"), site.output());
        assertTrue(counter("counter_dropped_packets") > dropped, "its packets are dropped and counted");
    }
}
