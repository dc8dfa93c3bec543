package dev.loomstack.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.link.TunLink;
import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.IpPrefix;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.testing.Await;
import dev.loomstack.testing.Cmd;
import dev.loomstack.testing.LoopbackAddress;
import dev.loomstack.testing.NetNs;
import dev.loomstack.testing.Privileges;
import dev.loomstack.testing.Teardown;
import dev.loomstack.testing.TestResolver;
import dev.loomstack.testing.TextHttpServer;
import dev.loomstack.testing.UdpEchoServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The engine against the Linux kernel: a client namespace holds the TUN; the router side is this
 * process, whose "site" host {@code 198.18.1.2} is an address on the test's loopback (removed
 * afterwards, with the blackhole route that makes {@code 198.18.1.3} a dead host).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EngineEndToEndTest {
    static final String SITE_HOST = "198.18.1.2";
    static final String DEAD_HOST = "198.18.1.3";
    static final String SITE_ROUTE = "198.18.1.0/24";
    /** 4via6 site 7 covering every IPv4 address. */
    static final String VIA_ROUTE = "fd7a:115c:a1e0:b1a:0:7::/96";
    static final String VIA_SITE_HOST = "fd7a:115c:a1e0:b1a:0:7:c612:102";
    static final String VIA_LOOPBACK = "fd7a:115c:a1e0:b1a:0:7:7f00:1";
    static final String VIA_METADATA = "fd7a:115c:a1e0:b1a:0:7:a9fe:a9fe";
    static final int PER_CLIENT = 4;

    private NetNs client;
    private Netstack netstack;
    private LoopbackAddress siteAddress;
    /** Removes the blackhole route once it was added. */
    private AutoCloseable blackhole;
    private TextHttpServer siteHttp;
    private TextHttpServer loopbackHttp;
    private final AtomicInteger loopbackHits = new AtomicInteger();
    private final AtomicReference<Optional<Whois>> seenWhois = new AtomicReference<>(Optional.empty());
    private UdpEchoServer siteUdp;
    private TestResolver resolver;

    @BeforeAll
    void start() throws Exception {
        Privileges.assumeRootAndTun();
        siteAddress = LoopbackAddress.add(SITE_HOST);
        Cmd.run("ip", "route", "add", "blackhole", SITE_ROUTE).check();
        blackhole = () -> Cmd.run("ip", "route", "del", "blackhole", SITE_ROUTE);

        resolver = new TestResolver();
        String dev = NetNs.uniqueDeviceName("lseng");
        client = NetNs.create();
        TunLink link = TunLink.open(dev, 1280, PacketBufferPool.forMtu(1280, 16));
        netstack = Netstack.create(link, Netstack.Options.defaults(
                        List.of(IpPrefix.parse("100.64.0.1/32"), IpPrefix.parse("fd7a:115c:a1e0::1/128")))
                .withLimits(new InFlightLimits(64, PER_CLIENT))
                // Dials to the never-accepting listener below give up soon, so A's attempts drain.
                .withDialTimeout(Duration.ofSeconds(5))
                .withDnsUpstreams(List.of(resolver.address())));
        netstack.start();
        netstack.applyNetmap(new NetworkMap(
                new Node("router-1", List.of(IpPrefix.parse("100.64.0.1/32"), IpPrefix.parse("fd7a:115c:a1e0::1/128")),
                        List.of(IpPrefix.parse("100.64.0.1/32"), IpPrefix.parse("fd7a:115c:a1e0::1/128"),
                                IpPrefix.parse(SITE_ROUTE), IpPrefix.parse(VIA_ROUTE))),
                List.of(new Node("laptop", List.of(IpPrefix.parse("100.64.0.2/32"), IpPrefix.parse("fd7a:115c:a1e0::2/128")),
                        List.of())),
                "tail.example"));
        client.adoptAsTailnetClient(dev);
        client.exec("ip", "addr", "add", "100.64.0.3/32", "dev", dev).check();

        siteHttp = TextHttpServer.start(new InetSocketAddress(InetAddress.getByName(SITE_HOST), 0), "/hello",
                "hello from the site", TextHttpServer.Threads.VIRTUAL,
                // The router's upstream socket is what this server sees: the ProxyMap names the peer.
                ex -> seenWhois.set(netstack.whois(ex.getRemoteAddress())));
        loopbackHttp = TextHttpServer.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), "/",
                "loopback", TextHttpServer.Threads.VIRTUAL, ex -> loopbackHits.incrementAndGet());
        siteUdp = UdpEchoServer.start(new InetSocketAddress(InetAddress.getByName(SITE_HOST), 0), text -> "site:" + text);
    }

    @AfterAll
    void stop() throws Exception {
        Teardown.closeAll(siteHttp, loopbackHttp, siteUdp, netstack, client, resolver, blackhole, siteAddress);
    }

    private Cmd.Result curl(String url, String... extra) {
        List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "-g", "--max-time", "20"));
        cmd.addAll(List.of(extra));
        cmd.add(url);
        return client.exec(30, cmd.toArray(String[]::new));
    }

    @Test
    void subnetTcpAndUdpReachTheSiteHost() {
        int port = siteHttp.port();
        Cmd.Result r = curl("http://" + SITE_HOST + ":" + port + "/hello");
        assertTrue(r.ok(), r.output());
        assertEquals("hello from the site", r.output());
        Optional<Whois> who = seenWhois.get();
        assertTrue(who.isPresent(), "the backend connection is in the ProxyMap while open");
        assertEquals(IpAddress.parse("100.64.0.2"), who.get().peerAddress());
        assertEquals("laptop", who.get().peerName());
        Await.until(Duration.ofSeconds(10), "the flow ends and leaves the ProxyMap",
                () -> netstack.proxyMap().size() == 0 && netstack.flows().isEmpty());
        assertFalse(netstack.stack().hasAddress(IpAddress.parse(SITE_HOST)),
                "the subnet address goes with its last flow");

        Cmd.Result u = client.exec(20, "sh", "-c", "echo ping | socat -T 5 - UDP:" + SITE_HOST + ":"
                + siteUdp.port());
        assertTrue(u.ok(), u.output());
        assertEquals("site:ping", u.output().strip());
    }

    @Test
    void aRefusedSubnetUpstreamIsAResetAtOnce() throws IOException {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(SITE_HOST))) {
            closedPort = s.getLocalPort();
        }
        Cmd.Result r = curl("http://" + SITE_HOST + ":" + closedPort + "/", "--connect-timeout", "10");
        // 7: "Failed to connect" (a reset), not 28 (a timeout).
        assertEquals(7, r.exitCode(), r.output());
    }

    @Test
    void perClientLimitHoldsWhileAnotherClientConnects() throws Exception {
        try (ServerSocket blackHole = new ServerSocket(0, 1, InetAddress.getByName(SITE_HOST))) {
            // Fill the never-accepting listener's queue: the kernel then drops further SYNs, so
            // dials to it hang until the router's dial timeout.
            List<Socket> fillers = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                Socket s = new Socket();
                s.connect(blackHole.getLocalSocketAddress(), 2000);
                fillers.add(s);
            }
            long droppedBefore = netstack.expvar().get("netstack_tcp_forward_dropped_attempts_per_client");
            String burst = """
                    import socket, time
                    socks = []
                    for i in range(12):
                        s = socket.socket()
                        s.setblocking(False)
                        s.bind(("100.64.0.2", 0))
                        s.connect_ex(("%s", %d))
                        socks.append(s)
                    time.sleep(30)
                    """.formatted(SITE_HOST, blackHole.getLocalPort());
            Process p = new ProcessBuilder("ip", "netns", "exec", client.name(), "python3", "-c", burst)
                    .redirectErrorStream(true).start();
            try {
                IpAddress a = IpAddress.parse("100.64.0.2");
                Await.until(Duration.ofSeconds(10), "client A reaches its limit",
                        () -> netstack.inFlightByClient().getOrDefault(a, 0) == PER_CLIENT);
                Await.until(Duration.ofSeconds(10), "the excess SYNs are dropped and counted",
                        () -> netstack.expvar().get("netstack_tcp_forward_dropped_attempts_per_client") > droppedBefore);
                assertTrue(netstack.inFlightByClient().getOrDefault(a, 0) <= PER_CLIENT);

                // Client B is not held back by A's burst.
                Cmd.Result b = curl("http://100.64.0.1:" + loopbackHttp.port() + "/",
                        "--interface", "100.64.0.3");
                assertTrue(b.ok(), b.output());
                assertEquals("loopback", b.output());
                assertTrue(netstack.inFlightByClient().getOrDefault(a, 0) <= PER_CLIENT);
            } finally {
                p.destroyForcibly().waitFor();
                for (Socket s : fillers) {
                    s.close();
                }
            }
            Await.until(Duration.ofSeconds(30), "A's attempts drain",
                    () -> netstack.inFlightByClient().isEmpty());
        }
    }

    @Test
    void magicDnsAnswersPeersAndForwardsTheRest() {
        Cmd.Result peer = client.exec(20, "dig", "+short", "+time=3", "+tries=1", "@100.100.100.100", "laptop.tail.example");
        assertTrue(peer.ok(), peer.output());
        assertEquals("100.64.0.2", peer.output().strip());
        Cmd.Result peer6 = client.exec(20, "dig", "+short", "+time=3", "+tries=1", "@fd7a:115c:a1e0::53",
                "laptop.tail.example", "AAAA");
        assertEquals("fd7a:115c:a1e0::2", peer6.output().strip(), peer6.output());
        Cmd.Result overTcp = client.exec(20, "dig", "+tcp", "+short", "+time=3", "+tries=1", "@100.100.100.100",
                "router-1.tail.example");
        assertEquals("100.64.0.1", overTcp.output().strip(), overTcp.output());
        Cmd.Result upstream = client.exec(20, "dig", "+short", "+time=3", "+tries=1", "@100.100.100.100",
                TestResolver.NAME);
        assertEquals(TestResolver.ADDRESS, upstream.output().strip(), upstream.output());
        assertTrue(resolver.queries.get() >= 1);
        Cmd.Result other = curl("http://100.100.100.100:80/", "--connect-timeout", "10");
        assertEquals(7, other.exitCode(), "other service-IP ports are refused: " + other.output());
    }

    @Test
    void pingToASubnetHostIsRelayedAndADeadHostStaysSilent() {
        Cmd.Result alive = client.exec(20, "ping", "-c", "1", "-W", "5", SITE_HOST);
        assertTrue(alive.ok(), alive.output());
        Cmd.Result dead = client.exec(20, "ping", "-c", "1", "-W", "5", DEAD_HOST);
        assertFalse(dead.ok(), "no reply for a host that did not answer: " + dead.output());
        Cmd.Result via = client.exec(20, "ping", "-6", "-c", "1", "-W", "5", VIA_SITE_HOST);
        assertTrue(via.ok(), "4via6 pings the IPv4 host: " + via.output());
    }

    @Test
    void fourViaSixReachesTheIpv4HostButNeverHostScopedAddresses() {
        int port = siteHttp.port();
        Cmd.Result r = curl("http://[" + VIA_SITE_HOST + "]:" + port + "/hello");
        assertTrue(r.ok(), r.output());
        assertEquals("hello from the site", r.output());

        int hitsBefore = loopbackHits.get();
        long refusedBefore = netstack.expvar().get("counter_via_refused");
        Cmd.Result lo = curl("http://[" + VIA_LOOPBACK + "]:" + loopbackHttp.port() + "/",
                "--connect-timeout", "10");
        assertEquals(7, lo.exitCode(), "4via6 to 127.0.0.1 is reset: " + lo.output());
        Cmd.Result md = curl("http://[" + VIA_METADATA + "]:80/", "--connect-timeout", "10");
        assertEquals(7, md.exitCode(), "4via6 to the metadata address is reset: " + md.output());
        assertEquals(hitsBefore, loopbackHits.get(), "nothing reached the loopback server");
        assertTrue(netstack.expvar().get("counter_via_refused") >= refusedBefore + 2);

        long udpDropsBefore = netstack.expvar().get("counter_udp_not_forwarded");
        Cmd.Result udp = client.exec(20, "sh", "-c", "echo x | socat -T 2 - UDP6:[" + VIA_LOOPBACK + "]:53");
        assertEquals("", udp.output().strip(), "4via6 UDP to loopback is dropped");
        Await.until(Duration.ofSeconds(5), "the drop is counted",
                () -> netstack.expvar().get("counter_udp_not_forwarded") > udpDropsBefore);
    }

    @Test
    void registeredHandlersComeFirst() {
        netstack.handlers().interceptTcpPort(2222, conn -> {
            try (conn) {
                conn.getOutputStream().write("intercepted\n".getBytes(StandardCharsets.US_ASCII));
            } catch (IOException ignored) {
                // The client went away.
            }
        });
        netstack.handlers().setTcpDecider((from, to) -> switch (to.getPort()) {
            case 7778 -> new FlowDecision.Reject<>();
            case 7779 -> new FlowDecision.Handle<>(conn -> {
                try (conn) {
                    conn.getOutputStream().write(("handled for " + from.getAddress().getHostAddress() + "\n")
                            .getBytes(StandardCharsets.US_ASCII));
                } catch (IOException ignored) {
                    // The client went away.
                }
            });
            default -> FlowDecision.pass();
        });
        try {
            Cmd.Result intercepted = client.exec(20, "socat", "-T", "5", "-", "TCP:100.64.0.1:2222");
            assertEquals("intercepted", intercepted.output().strip(), intercepted.output());
            Cmd.Result handled = client.exec(20, "socat", "-T", "5", "-", "TCP:" + SITE_HOST + ":7779");
            assertEquals("handled for 100.64.0.2", handled.output().strip(), handled.output());
            Cmd.Result rejected = curl("http://100.64.0.1:7778/", "--connect-timeout", "10");
            assertEquals(7, rejected.exitCode(), "a rejected flow is reset: " + rejected.output());
            Cmd.Result passed = curl("http://100.64.0.1:" + loopbackHttp.port() + "/");
            assertEquals("loopback", passed.output(), "a passed flow is forwarded as usual");
        } finally {
            netstack.handlers().setTcpDecider(null);
            netstack.handlers().releaseTcpPort(2222);
        }
    }

    @Test
    void dialsFromTheRouterReachTailnetPeers() throws Exception {
        // A TCP and a UDP service on the client (a tailnet peer), reached from the router's own stack.
        Process tcpServer = new ProcessBuilder("ip", "netns", "exec", client.name(), "socat",
                "TCP-LISTEN:7001,bind=100.64.0.2,reuseaddr", "SYSTEM:echo peer-tcp").start();
        Process udpServer = new ProcessBuilder("ip", "netns", "exec", client.name(), "socat",
                "UDP-RECVFROM:7002,bind=100.64.0.2", "SYSTEM:echo peer-udp").start();
        try {
            Await.until(Duration.ofSeconds(10), "the peer listens",
                    () -> client.exec("ss", "-ltn", "sport = :7001").output().contains("7001")
                            && client.exec("ss", "-lun", "sport = :7002").output().contains("7002"));
            try (var conn = netstack.dialTcp(IpAddress.parse("100.64.0.2"), 7001, Duration.ofSeconds(10))) {
                byte[] got = conn.getInputStream().readAllBytes();
                assertEquals("peer-tcp", new String(got, StandardCharsets.US_ASCII).strip());
            }
            try (var conn = netstack.dialUdp(IpAddress.parse("100.64.0.2"), 7002)) {
                conn.setReadTimeout(Duration.ofSeconds(5));
                byte[] q = "q".getBytes(StandardCharsets.US_ASCII);
                conn.write(q, 0, q.length);
                byte[] buf = new byte[64];
                int n = conn.read(buf, 0, buf.length);
                assertEquals("peer-udp", new String(buf, 0, n, StandardCharsets.US_ASCII).strip());
            }
        } finally {
            tcpServer.destroyForcibly().waitFor();
            udpServer.destroyForcibly().waitFor();
        }
    }
}
