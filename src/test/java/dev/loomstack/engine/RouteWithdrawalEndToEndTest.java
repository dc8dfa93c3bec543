package dev.loomstack.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.link.TunLink;
import dev.loomstack.packet.IpPrefix;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.testing.Await;
import dev.loomstack.testing.Cmd;
import dev.loomstack.testing.LoopbackAddress;
import dev.loomstack.testing.NetNs;
import dev.loomstack.testing.Privileges;
import dev.loomstack.testing.Teardown;
import dev.loomstack.testing.UdpEchoServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A netmap update that withdraws a route decides only new flows (as Tailscale's netstack): a TCP
 * connection and a UDP flow to {@code 198.18.1.2} opened while {@code 198.18.0.0/16} was advertised
 * keep echoing after the update removes it, while new flows to the host are refused. The client is
 * a kernel in its own namespace behind the TUN; the site host is an address on this process's
 * loopback.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RouteWithdrawalEndToEndTest {
    static final String SITE_HOST = "198.18.1.2";
    static final IpPrefix ROUTE = IpPrefix.parse("198.18.0.0/16");
    static final List<IpPrefix> SELF = List.of(IpPrefix.parse("100.64.0.1/32"), IpPrefix.parse("fd7a:115c:a1e0::1/128"));

    private NetNs client;
    private Netstack netstack;
    private LoopbackAddress siteAddress;
    private ServerSocket tcpEcho;
    private UdpEchoServer udpEcho;
    private Path workDir;

    @BeforeAll
    void start() throws Exception {
        Privileges.assumeRootAndTun();
        siteAddress = LoopbackAddress.add(SITE_HOST);
        workDir = Files.createTempDirectory("route-withdrawal");

        String dev = NetNs.uniqueDeviceName("lsrw");
        client = NetNs.create();
        TunLink link = TunLink.open(dev, 1280, PacketBufferPool.forMtu(1280, 16));
        netstack = Netstack.create(link, Netstack.Options.defaults(SELF).withDnsUpstreams(List.of()));
        netstack.start();
        netstack.applyNetmap(map(List.of(ROUTE)));
        client.adoptAsTailnetClient(dev);

        tcpEcho = new ServerSocket(0, 16, InetAddress.getByName(SITE_HOST));
        Thread.ofVirtual().start(() -> {
            while (!tcpEcho.isClosed()) {
                try {
                    Socket s = tcpEcho.accept();
                    Thread.ofVirtual().start(() -> echo(s));
                } catch (IOException e) {
                    return;
                }
            }
        });
        udpEcho = UdpEchoServer.start(new InetSocketAddress(InetAddress.getByName(SITE_HOST), 0));
    }

    private static void echo(Socket s) {
        try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
            in.transferTo(out);
        } catch (IOException ignored) {
            // the client went away
        }
    }

    static NetworkMap map(List<IpPrefix> routes) {
        List<IpPrefix> allowed = new java.util.ArrayList<>(SELF);
        allowed.addAll(routes);
        return new NetworkMap(new Node("router-1", SELF, allowed),
                List.of(new Node("laptop", List.of(IpPrefix.parse("100.64.0.2/32")), List.of())), "tail.example");
    }

    @AfterAll
    void stop() throws Exception {
        Teardown.closeAll(tcpEcho, udpEcho, netstack, client, siteAddress);
        if (workDir != null) {
            Files.deleteIfExists(workDir.resolve("go"));
            Files.deleteIfExists(workDir);
        }
    }

    @Test
    void flowsOpenAcrossAnUpdateThatWithdrawsTheirRouteKeepWorkingAndNewOnesAreRefused() throws Exception {
        Path script = Path.of(getClass().getResource("/e2e/open_flows_across_update.py").toURI());
        Path go = workDir.resolve("go");
        CompletableFuture<Cmd.Result> run = CompletableFuture.supplyAsync(() -> client.exec(60, "python3", "-u",
                script.toString(), SITE_HOST, String.valueOf(tcpEcho.getLocalPort()),
                String.valueOf(udpEcho.port()), go.toString()));
        Await.until(Duration.ofSeconds(20), "both flows are open",
                () -> run.isDone() || netstack.flows().stream().filter(f -> f.state().equals("open")).count() == 2);
        assertFalse(run.isDone(), () -> "the client ended early: " + run.join().output());

        NetmapChange change = netstack.applyNetmap(map(List.of()));
        assertEquals(List.of(ROUTE), change.removed());
        long notForwardedBefore = netstack.expvar().get("counter_udp_not_forwarded");
        Files.createFile(go);

        Cmd.Result r = run.get(60, TimeUnit.SECONDS);
        String out = r.output();
        assertTrue(out.contains("tcp-before:ok") && out.contains("udp-before:ok"), out);
        assertTrue(out.contains("tcp-after:ok"), "the open TCP connection still echoes:\n" + out);
        assertTrue(out.contains("udp-after:ok"), "the open UDP flow still echoes:\n" + out);
        assertTrue(out.contains("tcp-new:refused"), "a new TCP connection gets a RST:\n" + out);
        assertTrue(out.contains("udp-new:unanswered"), "a new UDP flow is not forwarded:\n" + out);
        assertTrue(r.ok(), out);
        assertTrue(netstack.expvar().get("counter_udp_not_forwarded") > notForwardedBefore,
                "the refused UDP flow is counted");

        Await.until(Duration.ofSeconds(10), "the closed TCP connection leaves the flow list",
                () -> netstack.flows().stream().noneMatch(f -> f.protocol() == FlowInfo.Protocol.TCP));
    }
}
