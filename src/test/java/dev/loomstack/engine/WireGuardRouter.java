package dev.loomstack.engine;

import dev.loomstack.packet.IpPrefix;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.testing.Cmd;
import dev.loomstack.testing.LoopbackAddress;
import dev.loomstack.testing.PatternHttpServer;
import dev.loomstack.testing.Teardown;
import dev.loomstack.testing.TestResolver;
import dev.loomstack.testing.WireGuardGoPeer;
import dev.loomstack.wireguard.StaticIdentity;
import dev.loomstack.wireguard.WireGuardLink;
import dev.loomstack.wireguard.WireGuardPeerConfig;
import dev.loomstack.wireguard.WireGuardSettings;
import dev.loomstack.wireguard.WireGuardStats;
import dev.loomstack.wireguard.WireGuardStatus;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The engine on a {@link WireGuardLink}, with Debian's wireguard-go as its one tailnet client (see
 * {@link WireGuardGoPeer}): the link listens on {@code 198.19.<octet>.1}, the root namespace's end
 * of the client's veth pair. The router is {@code 100.64.0.1} / {@code fd7a:115c:a1e0::1}; it
 * advertises the subnet {@code 198.18.<octet>.0/24}, whose host {@code 198.18.<octet>.2} is an
 * address on this host's loopback, and the 4via6 site 7. Services: a {@link PatternHttpServer} on
 * the site host and one on {@code 127.0.0.1} (the own-address path), MagicDNS with a
 * {@link TestResolver} upstream, an iperf3 server on {@code 127.0.0.1}.
 */
final class WireGuardRouter implements AutoCloseable {
    static final String ROUTER_V4 = "100.64.0.1";
    static final String ROUTER_V6 = "fd7a:115c:a1e0::1";
    static final String DOMAIN = "tail.example";
    static final String CLIENT_NAME = "laptop";
    static final String ROUTER_NAME = "router-1";
    /** 4via6 site 7 covering every IPv4 address (Tailscale's fd7a:115c:a1e0:b1a::/64 scheme). */
    static final String VIA_ROUTE = "fd7a:115c:a1e0:b1a:0:7::/96";
    static final int CLIENT_PORT = 51820;
    /** As the service opens the link: its crypto workers hold buffers while packets are in flight. */
    static final int LINK_POOL = 1024;

    final int octet;
    final WireGuardGoPeer client;
    final WireGuardLink link;
    final Netstack netstack;
    final PatternHttpServer siteHttp;
    final PatternHttpServer loopbackHttp;
    final TestResolver resolver;
    final int iperfPort;
    private final List<AutoCloseable> opened;

    private WireGuardRouter(int octet, WireGuardGoPeer client, WireGuardLink link, Netstack netstack,
            PatternHttpServer siteHttp, PatternHttpServer loopbackHttp, TestResolver resolver, int iperfPort,
            List<AutoCloseable> opened) {
        this.octet = octet;
        this.client = client;
        this.link = link;
        this.netstack = netstack;
        this.siteHttp = siteHttp;
        this.loopbackHttp = loopbackHttp;
        this.resolver = resolver;
        this.iperfPort = iperfPort;
        this.opened = opened;
    }

    /** Starts the client, the link and engine, and the services; everything opened is closed on failure. */
    static WireGuardRouter start(int octet) throws Exception {
        // Closed in reverse order of opening.
        List<AutoCloseable> opened = new ArrayList<>();
        try {
            WireGuardGoPeer client = WireGuardGoPeer.start(octet, CLIENT_PORT);
            opened.add(client);
            opened.add(LoopbackAddress.add(siteHost(octet)));
            TestResolver resolver = new TestResolver();
            opened.add(resolver);

            WireGuardLink link = WireGuardLink.open(
                    new WireGuardSettings(StaticIdentity.generate().privateKey(),
                            new InetSocketAddress(client.rootInetAddress(), 0), WireGuardGoPeer.MTU),
                    PacketBufferPool.forMtu(WireGuardGoPeer.MTU, LINK_POOL));
            Netstack netstack;
            try {
                netstack = Netstack.create(link, Netstack.Options.defaults(
                                List.of(IpPrefix.parse(ROUTER_V4 + "/32"), IpPrefix.parse(ROUTER_V6 + "/128")))
                        .withDnsUpstreams(List.of(resolver.address())));
            } catch (RuntimeException | Error e) {
                link.close();
                throw e;
            }
            opened.add(netstack);
            netstack.start();
            netstack.applyNetmap(new NetworkMap(
                    new Node(ROUTER_NAME, List.of(IpPrefix.parse(ROUTER_V4 + "/32"), IpPrefix.parse(ROUTER_V6 + "/128")),
                            List.of(IpPrefix.parse(ROUTER_V4 + "/32"), IpPrefix.parse(ROUTER_V6 + "/128"),
                                    IpPrefix.parse(siteRoute(octet)), IpPrefix.parse(VIA_ROUTE))),
                    List.of(new Node(CLIENT_NAME, clientAddresses(), List.of())),
                    DOMAIN));

            PatternHttpServer siteHttp = PatternHttpServer.start(
                    new InetSocketAddress(InetAddress.getByName(siteHost(octet)), 0));
            opened.add(siteHttp);
            PatternHttpServer loopbackHttp = PatternHttpServer.start(
                    new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            opened.add(loopbackHttp);
            int iperfPort = freeLoopbackPort();
            Process iperf = new ProcessBuilder("iperf3", "-s", "-B", "127.0.0.1", "-p", Integer.toString(iperfPort))
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            opened.add(() -> {
                iperf.destroy();
                if (!iperf.waitFor(5, TimeUnit.SECONDS)) {
                    iperf.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            });

            // After the netmap: the link's peers are configured directly (as the service would map the
            // netmap's WireGuard fields), and a later netmap without them is not applied.
            WireGuardRouter router = new WireGuardRouter(octet, client, link, netstack, siteHttp, loopbackHttp,
                    resolver, iperfPort, opened);
            link.configure(List.of(router.clientPeer()));
            client.connect(link.publicKey(), new InetSocketAddress(client.rootInetAddress(), link.listenPort()));
            return router;
        } catch (Exception | Error e) {
            try {
                Teardown.closeAll(opened.reversed());
            } catch (Exception suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    private static int freeLoopbackPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    static List<IpPrefix> clientAddresses() {
        return List.of(IpPrefix.parse(WireGuardGoPeer.CLIENT_V4 + "/32"), IpPrefix.parse(WireGuardGoPeer.CLIENT_V6 + "/128"));
    }

    static String siteHost(int octet) {
        return "198.18." + octet + ".2";
    }

    static String siteRoute(int octet) {
        return "198.18." + octet + ".0/24";
    }

    String siteHost() {
        return siteHost(octet);
    }

    /** The site host through 4via6 site 7: the IPv4 address in the low 32 bits. */
    String viaSiteHost() {
        return String.format("fd7a:115c:a1e0:b1a:0:7:c612:%x", (octet << 8) | 2);
    }

    /** The client as the link knows it: its key, its current endpoint, its tailnet addresses. */
    WireGuardPeerConfig clientPeer() {
        return new WireGuardPeerConfig(client.publicKey(), Optional.empty(), Optional.of(client.endpoint()),
                clientAddresses(), Duration.ZERO);
    }

    WireGuardStats stats() {
        return link.wireGuardStats();
    }

    /** The client as the link's status reports it. */
    Optional<WireGuardStatus.Peer> clientStatus() {
        return link.status().peers().stream().filter(p -> p.publicKey().equals(client.publicKey())).findFirst();
    }

    /** Runs curl in the client namespace (time-limited) with {@code extra} options before the URL. */
    Cmd.Result curl(int maxSeconds, String url, String... extra) {
        List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "-g", "--max-time", Integer.toString(maxSeconds)));
        cmd.addAll(List.of(extra));
        cmd.add(url);
        return client.exec(maxSeconds + 10, cmd.toArray(String[]::new));
    }

    /** One ping round trip from the client (5 s to answer). */
    Cmd.Result ping(String address, String... extra) {
        List<String> cmd = new ArrayList<>(List.of("ping", "-c", "1", "-W", "5"));
        cmd.addAll(List.of(extra));
        cmd.add(address);
        return client.exec(20, cmd.toArray(String[]::new));
    }

    /**
     * For failure messages: the link's counters and status, the client's view ({@code wg show})
     * and the last lines wireguard-go logged.
     */
    String diagnostics() {
        WireGuardStats s = stats();
        return "link counters: handshakes sent " + s.handshakesSent.value() + ", received " + s.handshakesReceived.value()
                + ", failed " + s.handshakesFailed.value() + ", cookie replies sent " + s.cookieRepliesSent.value()
                + ", received " + s.cookieRepliesReceived.value() + ", replayed " + s.packetsReplayed.value()
                + ", invalid " + s.packetsInvalid.value() + ", source mismatch " + s.sourceMismatch.value()
                + ", no peer " + s.noPeer.value() + ", send dropped " + s.sendDropped.value()
                + ", received " + s.receivedPackets.value() + " packets / " + s.receivedBytes.value() + " bytes"
                + ", sent " + s.sentPackets.value() + " packets / " + s.sentBytes.value() + " bytes"
                + "\nlink status: " + link.status()
                + "\nwg show: " + client.exec("wg", "show", client.device()).output()
                + "\nwireguard-go (" + client.log() + "), last lines:\n" + client.logTail();
    }

    @Override
    public void close() throws Exception {
        Teardown.closeAll(opened.reversed());
    }
}
