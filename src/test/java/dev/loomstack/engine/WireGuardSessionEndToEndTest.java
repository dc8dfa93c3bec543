package dev.loomstack.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.packet.IpAddress;
import dev.loomstack.testing.Await;
import dev.loomstack.testing.Cmd;
import dev.loomstack.testing.PatternHttpServer;
import dev.loomstack.testing.Privileges;
import dev.loomstack.testing.WireGuardGoPeer;
import dev.loomstack.wireguard.PeerHandshake;
import dev.loomstack.wireguard.StaticIdentity;
import dev.loomstack.wireguard.WireGuardKey;
import dev.loomstack.wireguard.WireGuardPeerConfig;
import dev.loomstack.wireguard.WireGuardStatus;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Sessions of Loomstack's WireGuard link with Debian's wireguard-go as the peer (see
 * {@link WireGuardRouter}): new handshakes, roaming, cryptokey routing, removal from the
 * configuration, and cookie replies under a flood of initiations.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WireGuardSessionEndToEndTest {
    /** The third octet of this class's veth pair (198.19.15.0/24) and subnet (198.18.15.0/24). */
    static final int OCTET = 15;
    /** The initiator wireguard-go retries after REKEY_TIMEOUT (5 s) plus jitter; a few rounds fit. */
    static final Duration HANDSHAKE_LIMIT = Duration.ofSeconds(20);
    static final int CHECK_SIZE = 8 << 20;
    /** Initiations sent per millisecond in the flood: far more than one core's Diffie-Hellman keeps up with. */
    static final int FLOOD_BURST = 64;
    static final Duration FLOOD_LIMIT = Duration.ofSeconds(90);

    private WireGuardRouter router;

    @BeforeAll
    void start() throws Exception {
        Privileges.assumeRootAndTun();
        router = WireGuardRouter.start(OCTET);
        assertTrue(router.ping(WireGuardRouter.ROUTER_V4).ok(), router::diagnostics);
    }

    @AfterAll
    void stop() throws Exception {
        if (router != null) {
            router.close();
        }
    }

    /** A download from the site host through the tunnel, checked byte for byte. */
    private void assertTrafficFlows(String when) {
        Cmd.Result r = router.client.exec(70, "sh", "-c", "curl -sS -g --max-time 60 'http://" + router.siteHost() + ":"
                + router.siteHttp.port() + "/data?size=" + CHECK_SIZE + "' | sha256sum");
        assertEquals(PatternHttpServer.patternDigest(CHECK_SIZE), r.output().split(" ")[0],
                () -> when + ": " + r.output() + "\n" + router.diagnostics());
    }

    /** Pings the router until one answers: the first may wait for a handshake the client retries. */
    private void awaitPing(String when) {
        long deadline = System.nanoTime() + HANDSHAKE_LIMIT.toNanos();
        Cmd.Result r;
        do {
            r = router.ping(WireGuardRouter.ROUTER_V4);
        } while (!r.ok() && System.nanoTime() - deadline < 0);
        Cmd.Result last = r;
        assertTrue(last.ok(), () -> when + ": " + last.output() + "\n" + router.diagnostics());
    }

    @Test
    void aNewHandshakeFromTheClientIsTakenAndTrafficContinues() {
        long received = router.stats().handshakesReceived.value();
        Instant before = router.clientStatus().orElseThrow().latestHandshake().orElseThrow();
        // wireguard-go wipes its keypairs for the peer; its next packet starts a new handshake.
        router.client.forgetSessions();
        awaitPing("after the client's re-key");
        Await.until(HANDSHAKE_LIMIT, "the link takes the client's new initiation",
                () -> router.stats().handshakesReceived.value() > received);
        Instant after = router.clientStatus().orElseThrow().latestHandshake().orElseThrow();
        assertFalse(after.isBefore(before), () -> before + " then " + after);
        assertTrafficFlows("after the client's re-key");
    }

    @Test
    void aRestartedClientHandshakesAgainWithTheSameKeys() {
        long received = router.stats().handshakesReceived.value();
        router.client.restart();
        awaitPing("after wireguard-go restarted");
        Await.until(Duration.ofSeconds(5), "the link counted the restarted client's initiation",
                () -> router.stats().handshakesReceived.value() > received);
        assertTrafficFlows("after wireguard-go restarted");
    }

    /**
     * Roaming (paper section 2.1): wireguard-go moves to another port and sends its next packet
     * from there on the same session; the link answers to where that packet came from at once,
     * with no new handshake (the client would only start one after 15 s without answers).
     */
    @Test
    void theEndpointFollowsTheClientWhenItsPortChanges() {
        awaitPing("before the client moves");
        int oldPort = router.client.listenPort();
        int newPort = oldPort == WireGuardRouter.CLIENT_PORT ? WireGuardRouter.CLIENT_PORT + 7 : WireGuardRouter.CLIENT_PORT;
        long handshakes = router.stats().handshakesReceived.value();
        router.client.listenPort(newPort);
        assertEquals(newPort, router.client.boundPort());
        Cmd.Result ping = router.ping(WireGuardRouter.ROUTER_V4);
        assertTrue(ping.ok(), () -> "the first ping from port " + newPort + " is answered there: " + ping.output()
                + "\n" + router.diagnostics());
        Await.until(Duration.ofSeconds(5), "the link reports the client's new endpoint",
                () -> router.clientStatus().flatMap(WireGuardStatus.Peer::endpoint)
                        .map(e -> e.getPort() == newPort && e.getAddress().getHostAddress().equals(router.client.address()))
                        .orElse(false));
        assertEquals(handshakes, router.stats().handshakesReceived.value(), "roamed on the same session");
        assertTrafficFlows("after the client moved to port " + newPort);
    }

    /**
     * Loomstack as the initiator: with no session (the peer configured afresh) and a packet of its
     * own for the client (a dial from the router's stack), the link starts the handshake to the
     * configured endpoint and wireguard-go answers it.
     */
    @Test
    void theRouterInitiatesWhenItHasTheFirstPacket() throws Exception {
        router.link.configure(List.of());
        router.link.configure(List.of(router.clientPeer()));
        assertEquals(0, router.link.peersWithSession());
        long sent = router.stats().handshakesSent.value();
        long received = router.stats().handshakesReceived.value();
        Process server = new ProcessBuilder("ip", "netns", "exec", router.client.namespace().name(), "socat",
                "TCP-LISTEN:7001,bind=" + WireGuardGoPeer.CLIENT_V4 + ",reuseaddr", "SYSTEM:echo peer-tcp")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            Await.until(Duration.ofSeconds(10), "the client listens",
                    () -> router.client.exec("ss", "-Hltn", "sport = :7001").output().contains("7001"));
            try (var conn = router.netstack.dialTcp(IpAddress.parse(WireGuardGoPeer.CLIENT_V4), 7001,
                    Duration.ofSeconds(15))) {
                byte[] got = conn.getInputStream().readAllBytes();
                assertEquals("peer-tcp", new String(got, StandardCharsets.US_ASCII).strip(), router::diagnostics);
            }
        } finally {
            server.destroyForcibly().waitFor();
        }
        assertTrue(router.stats().handshakesSent.value() > sent, "the link sent an initiation");
        assertTrue(router.stats().handshakesReceived.value() > received, "and took wireguard-go's response");
        assertTrue(router.clientStatus().orElseThrow().latestHandshake().isPresent(), router::diagnostics);
        assertTrafficFlows("after the router's handshake");
    }

    /**
     * A pre-shared key ({@code wg genpsk}) set on both ends is mixed into the next handshake
     * (Noise's psk2); with different keys on the two ends no session comes up: wireguard-go cannot
     * open the link's response.
     */
    @Test
    void aPresharedKeyOnBothEndsIsMixedIntoTheHandshake() {
        WireGuardKey psk = WireGuardKey.parse(Cmd.run("wg", "genpsk").check().output().strip());
        try {
            router.link.configure(List.of(withPresharedKey(psk)));
            router.client.presharedKey(psk);
            long received = router.stats().handshakesReceived.value();
            router.client.forgetSessions();
            awaitPing("with the same pre-shared key on both ends");
            Await.until(Duration.ofSeconds(5), "the link counted the initiation",
                    () -> router.stats().handshakesReceived.value() > received);
            assertTrue(router.clientStatus().orElseThrow().presharedKey());
            assertTrafficFlows("with a pre-shared key");

            WireGuardKey other = WireGuardKey.parse(Cmd.run("wg", "genpsk").check().output().strip());
            router.link.configure(List.of(withPresharedKey(other)));
            router.client.forgetSessions();
            long sent = router.stats().handshakesSent.value();
            Cmd.Result mismatched = router.client.exec(20, "ping", "-c", "1", "-W", "3", WireGuardRouter.ROUTER_V4);
            assertFalse(mismatched.ok(), "no session with different pre-shared keys: " + mismatched.output());
            // The link answered (the initiation does not depend on the key), wireguard-go could not open it.
            Await.until(Duration.ofSeconds(5), "the link answered the initiation",
                    () -> router.stats().handshakesSent.value() > sent);
            assertTrue(router.client.latestHandshake().isEmpty(), router::diagnostics);
        } finally {
            router.client.presharedKey(null);
            router.link.configure(List.of(router.clientPeer()));
            router.client.forgetSessions();
        }
        awaitPing("without a pre-shared key again");
    }

    private WireGuardPeerConfig withPresharedKey(WireGuardKey psk) {
        WireGuardPeerConfig c = router.clientPeer();
        return new WireGuardPeerConfig(c.publicKey(), Optional.of(psk), c.endpoint(), c.allowedIps(),
                c.persistentKeepalive());
    }

    @Test
    void aSpoofedInnerSourceIsDroppedAndCounted() {
        String device = router.client.device();
        // An address of the client's namespace outside what the link allows the peer (100.64.0.2/32,
        // fd7a:115c:a1e0::2/128); wireguard-go encrypts whatever its routes send through it.
        router.client.exec("ip", "addr", "add", "100.64.0.9/32", "dev", device).check();
        router.client.exec("ip", "-6", "addr", "add", "fd7a:115c:a1e0::9/128", "dev", device, "nodad").check();
        try {
            long before = router.stats().sourceMismatch.value();
            Cmd.Result v4 = router.client.exec(20, "ping", "-c", "3", "-i", "0.2", "-W", "2", "-I", "100.64.0.9",
                    WireGuardRouter.ROUTER_V4);
            assertFalse(v4.ok(), "no answer to a spoofed IPv4 source: " + v4.output());
            Cmd.Result v6 = router.client.exec(20, "ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", "-I",
                    "fd7a:115c:a1e0::9", WireGuardRouter.ROUTER_V6);
            assertFalse(v6.ok(), "no answer to a spoofed IPv6 source: " + v6.output());
            Await.until(Duration.ofSeconds(5), "the six spoofed packets are counted as source mismatches",
                    () -> router.stats().sourceMismatch.value() >= before + 6);
            // The peer's own address still works: only the spoofed packets were dropped.
            assertTrue(router.ping(WireGuardRouter.ROUTER_V4).ok(), router::diagnostics);
        } finally {
            router.client.exec("ip", "addr", "del", "100.64.0.9/32", "dev", device);
            router.client.exec("ip", "-6", "addr", "del", "fd7a:115c:a1e0::9/128", "dev", device);
        }
    }

    @Test
    void aPeerRemovedFromTheConfigurationReachesNothing() {
        awaitPing("before the removal");
        router.link.configure(List.of());
        try {
            assertTrue(router.clientStatus().isEmpty(), () -> router.link.status().toString());
            assertEquals(0, router.link.peersWithSession());
            long invalid = router.stats().packetsInvalid.value();
            // The client still holds its session: its packets reach a link that wiped its end.
            Cmd.Result ping = router.client.exec(20, "ping", "-c", "2", "-i", "0.2", "-W", "2", WireGuardRouter.ROUTER_V4);
            assertFalse(ping.ok(), "a removed peer's ping is not answered: " + ping.output());
            Cmd.Result curl = router.curl(5, "http://" + router.siteHost() + ":" + router.siteHttp.port()
                    + "/data?size=1", "--connect-timeout", "4");
            assertFalse(curl.ok(), "a removed peer's curl does not connect: " + curl.output());
            Await.until(Duration.ofSeconds(5), "its transport packets are dropped as invalid",
                    () -> router.stats().packetsInvalid.value() > invalid);

            // A new handshake from it is refused: no response, counted as a failed handshake.
            long failed = router.stats().handshakesFailed.value();
            long sent = router.stats().handshakesSent.value();
            router.client.forgetSessions();
            Cmd.Result again = router.client.exec(20, "ping", "-c", "1", "-W", "3", WireGuardRouter.ROUTER_V4);
            assertFalse(again.ok(), again.output());
            Await.until(Duration.ofSeconds(10), "the removed peer's initiation is refused and counted",
                    () -> router.stats().handshakesFailed.value() > failed);
            assertEquals(sent, router.stats().handshakesSent.value(), "no response went to the removed peer");
            assertTrue(router.client.latestHandshake().isEmpty(), "wireguard-go completed no handshake");
        } finally {
            router.link.configure(List.of(router.clientPeer()));
            router.client.forgetSessions();
        }
        awaitPing("after the peer was configured again");
    }

    /**
     * Initiations from keys the link does not know, with a valid mac1 (anyone who knows the link's
     * public key can make those), tens of thousands a second: the link must answer with cookie
     * replies instead of doing Diffie-Hellman for each (paper section 5.4.7), and the client's
     * session, established before, carries a download through the flood.
     */
    @Test
    void aFloodOfInitiationsGetsCookieRepliesWhileTheSessionFlows() throws Exception {
        awaitPing("before the flood");
        List<ByteBuffer> initiations = new ArrayList<>();
        Set<Integer> senderIndexes = new HashSet<>();
        for (int i = 0; i < 32; i++) {
            PeerHandshake stranger = new PeerHandshake(StaticIdentity.generate(), router.link.publicKey(), null,
                    Clock.systemUTC(), dev.loomstack.stack.Clock.system());
            for (int k = 0; k < 8; k++) {
                byte[] msg = new byte[PeerHandshake.INITIATION_LENGTH];
                int index = 0x5eed_0000 + i * 8 + k;
                assertEquals(PeerHandshake.INITIATION_LENGTH, stranger.writeInitiation(msg, index));
                initiations.add(ByteBuffer.wrap(msg));
                senderIndexes.add(index);
            }
        }
        long cookiesBefore = router.stats().cookieRepliesSent.value();
        int size = 64 << 20;
        long served = router.siteHttp.bytes();
        try (var executor = Executors.newVirtualThreadPerTaskExecutor();
                DatagramChannel flood = DatagramChannel.open()) {
            CompletableFuture<Cmd.Result> download = CompletableFuture.supplyAsync(() -> router.client.exec(90, "sh",
                    "-c", "curl -sS -g --max-time 80 'http://" + router.siteHost() + ":" + router.siteHttp.port()
                            + "/data?size=" + size + "' | sha256sum"), executor);
            Await.until(Duration.ofSeconds(30), "the download is under way",
                    () -> router.siteHttp.bytes() - served > (1 << 20) || download.isDone());

            flood.bind(new InetSocketAddress(router.client.rootInetAddress(), 0));
            flood.configureBlocking(false);
            InetSocketAddress target = new InetSocketAddress(router.client.rootInetAddress(), router.link.listenPort());
            ByteBuffer reply = ByteBuffer.allocate(2048).order(ByteOrder.LITTLE_ENDIAN);
            int cookieReplies = 0;
            long sent = 0;
            long deadline = System.nanoTime() + FLOOD_LIMIT.toNanos();
            // For as long as the download runs, and until cookie replies came (bounded by time and
            // count): a burst every millisecond.
            while ((!download.isDone() || cookieReplies == 0) && sent < 10_000_000 && System.nanoTime() - deadline < 0) {
                for (int b = 0; b < FLOOD_BURST; b++) {
                    ByteBuffer m = initiations.get((int) (sent++ % initiations.size()));
                    flood.send(m.rewind(), target);
                }
                reply.clear();
                while (flood.receive(reply) != null) {
                    reply.flip();
                    // Cookie reply: type 3, three reserved bytes, receiver index = our sender index.
                    if (reply.remaining() == PeerHandshake.COOKIE_REPLY_LENGTH && reply.get(0) == 3
                            && senderIndexes.contains(reply.getInt(4))) {
                        cookieReplies++;
                    }
                    reply.clear();
                }
                LockSupport.parkNanos(1_000_000);
            }
            long sentInitiations = sent;
            int replies = cookieReplies;
            assertTrue(replies > 0, () -> "cookie replies came back after " + sentInitiations + " initiations\n"
                    + router.diagnostics());
            assertTrue(router.stats().cookieRepliesSent.value() > cookiesBefore, router::diagnostics);
            System.out.printf("%s: %d initiations sent, %d cookie replies received, %d counted%n",
                    getClass().getSimpleName(), sentInitiations, replies,
                    router.stats().cookieRepliesSent.value() - cookiesBefore);

            Cmd.Result r = download.get();
            assertEquals(PatternHttpServer.patternDigest(size), r.output().split(" ")[0],
                    () -> "the download during the flood: " + r.output() + "\n" + router.diagnostics());
        }
        assertTrafficFlows("after the flood");
    }
}
