package dev.loomstack.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.testing.Cmd;
import dev.loomstack.testing.PatternHttpServer;
import dev.loomstack.testing.Privileges;
import dev.loomstack.testing.Progress;
import dev.loomstack.testing.TestResolver;
import dev.loomstack.testing.WireGuardGoPeer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Traffic through Loomstack's WireGuard link from an implementation nobody here wrote: Debian's
 * wireguard-go and {@code wg} in a client namespace (see {@link WireGuardRouter}) ping, fetch and
 * upload, resolve and measure through the tunnel, as a tailnet client of a Loomstack router would.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WireGuardEndToEndTest {
    /** The third octet of this class's veth pair (198.19.14.0/24) and subnet (198.18.14.0/24). */
    static final int OCTET = 14;
    static final int BIG = 256 << 20;
    /** A transfer of BIG bytes at a few MB/s on a loaded box still ends well within this. */
    static final int TRANSFER_SECONDS = 150;

    private WireGuardRouter router;
    private Path upload;
    private String uploadDigest;

    @BeforeAll
    void start() throws Exception {
        Privileges.assumeRootAndTun();
        router = WireGuardRouter.start(OCTET);
        upload = Files.createTempFile("lswg-upload", ".bin");
        uploadDigest = PatternHttpServer.randomFile(upload, BIG);
    }

    @AfterAll
    void stop() throws Exception {
        if (upload != null) {
            Files.deleteIfExists(upload);
        }
        if (router != null) {
            router.close();
        }
    }

    @Test
    void pingReachesTheRouterOverV4AndV6AndFragmented() {
        for (String address : new String[] {WireGuardRouter.ROUTER_V4, WireGuardRouter.ROUTER_V6}) {
            Cmd.Result plain = router.ping(address);
            assertTrue(plain.ok(), () -> plain.output() + "\n" + router.diagnostics());
            // 3,000 bytes of payload: the client's kernel fragments the request to the tunnel's
            // 1,280 bytes, Loomstack reassembles it and fragments its reply.
            Cmd.Result fragmented = router.ping(address, "-s", "3000");
            assertTrue(fragmented.ok(), () -> fragmented.output() + "\n" + router.diagnostics());
            assertTrue(fragmented.output().contains("3008 bytes from"), fragmented.output());
        }
        assertTrue(router.clientStatus().orElseThrow().latestHandshake().isPresent(), router::diagnostics);
        assertTrue(router.client.latestHandshake().isPresent(), "wireguard-go completed a handshake");
    }

    @Test
    void curlMovesBigFilesByteExactlyToAndFromASubnetHost() {
        String base = "http://" + router.siteHost() + ":" + router.siteHttp.port();
        download(router.siteHttp, "subnet host", base);
        upload(router.siteHttp, "subnet host", base);
    }

    @Test
    void curlMovesBigFilesByteExactlyToAndFromAnOwnAddressService() {
        String base = "http://" + WireGuardRouter.ROUTER_V4 + ":" + router.loopbackHttp.port();
        download(router.loopbackHttp, "own address", base);
        upload(router.loopbackHttp, "own address", base);
    }

    private void download(PatternHttpServer server, String what, String base) {
        Cmd.Result r;
        try (Progress p = progress(server, what + ", download")) {
            r = router.client.exec(TRANSFER_SECONDS + 10, "sh", "-c", "curl -sS -g --max-time " + TRANSFER_SECONDS
                    + " '" + base + "/data?size=" + BIG + "' | sha256sum");
        }
        assertTrue(r.ok(), r.output());
        assertEquals(PatternHttpServer.patternDigest(BIG), r.output().split(" ")[0],
                () -> r.output() + "\n" + router.diagnostics());
    }

    private void upload(PatternHttpServer server, String what, String base) {
        Cmd.Result r;
        try (Progress p = progress(server, what + ", upload")) {
            // -T streams the file (PUT) instead of reading all of it into memory first.
            r = router.curl(TRANSFER_SECONDS, base + "/upload", "-T", upload.toString());
        }
        assertTrue(r.ok(), () -> r.output() + "\n" + router.diagnostics());
        assertEquals(uploadDigest, r.output().strip(), () -> r.output() + "\n" + router.diagnostics());
    }

    private Progress progress(PatternHttpServer server, String what) {
        long before = server.bytes();
        return Progress.ofBytes(getClass().getSimpleName() + ": " + what, BIG, () -> server.bytes() - before);
    }

    @Test
    void magicDnsAnswersThroughTheTunnel() {
        Cmd.Result peer = router.client.exec(20, "dig", "+short", "+time=3", "+tries=2", "@100.100.100.100",
                WireGuardRouter.CLIENT_NAME + "." + WireGuardRouter.DOMAIN);
        assertEquals(WireGuardGoPeer.CLIENT_V4, peer.output().strip(), () -> peer.output() + "\n" + router.diagnostics());
        Cmd.Result self6 = router.client.exec(20, "dig", "+short", "+time=3", "+tries=2", "@fd7a:115c:a1e0::53",
                WireGuardRouter.ROUTER_NAME + "." + WireGuardRouter.DOMAIN, "AAAA");
        assertEquals(WireGuardRouter.ROUTER_V6, self6.output().strip(), self6.output());
        Cmd.Result overTcp = router.client.exec(20, "dig", "+tcp", "+short", "+time=3", "+tries=2", "@100.100.100.100",
                WireGuardRouter.ROUTER_NAME + "." + WireGuardRouter.DOMAIN);
        assertEquals(WireGuardRouter.ROUTER_V4, overTcp.output().strip(), overTcp.output());
        Cmd.Result upstream = router.client.exec(20, "dig", "+short", "+time=3", "+tries=2", "@100.100.100.100",
                TestResolver.NAME);
        assertEquals(TestResolver.ADDRESS, upstream.output().strip(), upstream.output());
    }

    @Test
    void fourViaSixReachesTheSiteHost() {
        int size = 1 << 20;
        Cmd.Result r = router.client.exec(40, "sh", "-c", "curl -sS -g --max-time 30 'http://[" + router.viaSiteHost()
                + "]:" + router.siteHttp.port() + "/data?size=" + size + "' | sha256sum");
        assertEquals(PatternHttpServer.patternDigest(size), r.output().split(" ")[0],
                () -> r.output() + "\n" + router.diagnostics());
        Cmd.Result ping = router.ping(router.viaSiteHost(), "-6");
        assertTrue(ping.ok(), "4via6 pings the IPv4 site host: " + ping.output());
    }

    @Test
    void iperf3RunsBothWays() {
        for (String direction : new String[] {"up", "down"}) {
            Cmd.Result r = direction.equals("up") ? iperf3() : iperf3("-R");
            assertTrue(r.ok(), () -> direction + ": " + r.output() + "\n" + router.diagnostics());
            double bitsPerSecond = receivedBitsPerSecond(r.output());
            assertTrue(bitsPerSecond > 0, () -> direction + ": " + r.output());
            System.out.printf("%s: iperf3 %s through wireguard-go -> Loomstack: %.2f Gbit/s%n",
                    getClass().getSimpleName(), direction, bitsPerSecond / 1e9);
        }
    }

    private Cmd.Result iperf3(String... extra) {
        String[] cmd = {"iperf3", "-c", WireGuardRouter.ROUTER_V4, "-p", Integer.toString(router.iperfPort),
                "-t", "2", "-J"};
        String[] all = new String[cmd.length + extra.length];
        System.arraycopy(cmd, 0, all, 0, cmd.length);
        System.arraycopy(extra, 0, all, cmd.length, extra.length);
        return router.client.exec(40, all);
    }

    /** {@code end.sum_received.bits_per_second} of iperf3's JSON report. */
    static double receivedBitsPerSecond(String json) {
        int at = json.indexOf("\"sum_received\"");
        assertTrue(at >= 0, json);
        Matcher m = Pattern.compile("\"bits_per_second\"\\s*:\\s*([0-9.eE+]+)").matcher(json);
        assertTrue(m.find(at), json);
        return Double.parseDouble(m.group(1));
    }
}
