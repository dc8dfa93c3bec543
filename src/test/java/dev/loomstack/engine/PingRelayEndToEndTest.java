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
import dev.loomstack.testing.TextHttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Echo requests relayed to a host that never answers must not stall anything else: each relayed
 * ping waits {@link PingRelay#TIMEOUT} for the real host, and while more of them wait than the
 * machine has cores, a fetch through another forwarded flow still completes promptly.
 *
 * <p>The relay uses the unprivileged ICMP datagram socket, so the test opens
 * {@code net.ipv4.ping_group_range} to root's group (restored afterwards). The silent host is an
 * address on loopback whose echo requests an nft table of the test drops on input: the send
 * succeeds and no reply ever comes (a blackhole route would fail the send at once with EINVAL,
 * which never leaves a ping pending).
 */
class PingRelayEndToEndTest {
    static final String SITE_HOST = "198.18.6.2";
    static final String SILENT_HOST = "198.18.6.3";
    static final String SITE_ROUTE = "198.18.6.0/24";
    static final Path PING_GROUP_RANGE = Path.of("/proc/sys/net/ipv4/ping_group_range");
    /** More than the cores of any machine this runs on, so pinned carriers would stall everything. */
    static final int PENDING_PINGS = Math.min(PingRelay.MAX_CONCURRENT,
            Math.max(8, 2 * Runtime.getRuntime().availableProcessors()));
    /** Generous for a loaded 2-core box: unaffected, the fetch takes tens of milliseconds. */
    static final double FETCH_BOUND_SECONDS = 1.0;

    @Test
    void pingsPendingToASilentHostDoNotDelayAForwardedFetch() throws Exception {
        Privileges.assumeRootAndTun();
        String table = "lsping" + ThreadLocalRandom.current().nextInt(100_000, 1_000_000);
        String savedRange = Files.readString(PING_GROUP_RANGE).strip().replace('\t', ' ');
        TextHttpServer site = null;
        Netstack netstack = null;
        Process pings = null;
        try (LoopbackAddress siteAddress = LoopbackAddress.add(SITE_HOST);
             LoopbackAddress silentAddress = LoopbackAddress.add(SILENT_HOST);
             NetNs client = NetNs.create()) {
            Files.writeString(PING_GROUP_RANGE, "0 0");
            Cmd.run("nft", "add", "table", "ip", table).check();
            Cmd.run("nft", "add chain ip " + table + " in { type filter hook input priority 0 ; }").check();
            Cmd.run("nft", "add rule ip " + table + " in ip daddr " + SILENT_HOST + " icmp type echo-request drop")
                    .check();
            Cmd.Result silent = Cmd.run(10, List.of("ping", "-c", "1", "-W", "1", SILENT_HOST));
            assertFalse(silent.ok(), "the silent host must not answer: " + silent.output());

            // The site's server runs on platform threads: only the router's own threads are measured.
            site = TextHttpServer.start(new InetSocketAddress(InetAddress.getByName(SITE_HOST), 0), "site",
                    TextHttpServer.Threads.PLATFORM);

            String dev = NetNs.uniqueDeviceName("lsping");
            TunLink link = TunLink.open(dev, 1280, PacketBufferPool.forMtu(1280, 16));
            List<IpPrefix> self = List.of(IpPrefix.parse("100.64.0.1/32"), IpPrefix.parse("fd7a:115c:a1e0::1/128"));
            netstack = Netstack.create(link, Netstack.Options.defaults(self).withDnsUpstreams(List.of()));
            netstack.start();
            netstack.applyNetmap(new NetworkMap(
                    new Node("router-1", self, List.of(self.get(0), self.get(1), IpPrefix.parse(SITE_ROUTE))),
                    List.of(), "tail.example"));
            client.adoptAsTailnetClient(dev);
            String url = "http://" + SITE_HOST + ":" + site.port() + "/";
            Cmd.Result warm = client.exec(20, "curl", "-sS", "--max-time", "10", url);
            assertEquals("site", warm.output(), "the site answers through the router");

            PingRelay relay = netstack.pingRelay();
            long unansweredBefore = relay.unanswered.sum();
            pings = new ProcessBuilder("ip", "netns", "exec", client.name(), "ping", "-c",
                    Integer.toString(PENDING_PINGS), "-i", "0.01", "-W", "8", SILENT_HOST)
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            Await.until(Duration.ofSeconds(5), PENDING_PINGS + " relayed pings pending",
                    () -> relay.running() >= PENDING_PINGS);

            Cmd.Result fetch = client.exec(30, "curl", "-sS", "--max-time", "20", "-o", "/dev/null",
                    "-w", "%{http_code} %{time_total}", url);
            int pendingAfterFetch = relay.running();
            assertTrue(fetch.ok(), fetch.output());
            String[] result = fetch.output().strip().split(" ");
            assertEquals("200", result[0], fetch.output());
            double seconds = Double.parseDouble(result[1]);
            assertTrue(seconds < FETCH_BOUND_SECONDS, "the fetch took " + seconds + " s while "
                    + PENDING_PINGS + " pings were pending");
            assertTrue(pendingAfterFetch > 0, "the fetch ran while pings were still pending");

            Await.until(Duration.ofSeconds(15), "every relayed ping timed out unanswered",
                    () -> relay.unanswered.sum() - unansweredBefore >= PENDING_PINGS);
            assertTrue(pings.waitFor(15, TimeUnit.SECONDS), "the client's ping ends");
            assertEquals(1, pings.exitValue(), "no reply reached the client for a silent host");
            assertEquals(0, relay.running());
        } finally {
            if (pings != null) {
                pings.destroyForcibly();
            }
            Teardown.closeAll(netstack, site, () -> Cmd.run("nft", "delete", "table", "ip", table),
                    () -> Files.writeString(PING_GROUP_RANGE, savedRange));
        }
    }
}
