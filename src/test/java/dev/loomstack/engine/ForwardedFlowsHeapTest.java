package dev.loomstack.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.link.TunLink;
import dev.loomstack.packet.IpPrefix;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.testing.Await;
import dev.loomstack.testing.Cmd;
import dev.loomstack.testing.FlowLoadProcess;
import dev.loomstack.testing.NetNs;
import dev.loomstack.testing.Privileges;
import dev.loomstack.testing.Teardown;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import javax.management.ObjectName;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Forwarded flows held idle in a 256 MiB heap (this class runs in a JVM of its own with
 * {@code -Xmx256m}: the pom's {@code heap-256m} surefire execution). A client namespace behind the
 * TUN opens real TCP connections with {@link dev.loomstack.testing.FlowLoad} (a process of its own):
 * half to the router's own address, forwarded to an echo server on this host's loopback, half to
 * a subnet host in a "site" namespace on a veth, forwarded there. Each connection echoes once when
 * opened and once when all are open. The heap per idle forwarded flow is the heap in use after
 * collections with the flows held, minus before, over the flows.
 *
 * <p>Then past the heap-pressure mark (ballast filling the heap), new flows are refused with a RST
 * and counted while the flows already held still echo, and once the heap is back below the low
 * mark new flows are taken again.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ForwardedFlowsHeapTest {
    /** Flows held at once, half on each path; {@code -Dheap.test.flows} runs fewer (measuring older code). */
    static final int FLOWS = Integer.getInteger("heap.test.flows", 10_000);
    /**
     * What one idle forwarded flow may cost: its TCP endpoint, upstream socket, two parked virtual
     * threads (their stacks, about 3 KiB each, are half of it), the flow-list and proxy-map entries
     * and a 512-byte first-read array. 12.3 to 12.9 KiB is measured; the older design, with two
     * 64 KiB copy buffers per flow, measured 145 KiB (at 1,000 flows: 10,000 ran the heap out).
     */
    static final long MAX_BYTES_PER_FLOW = 16 << 10;
    static final String SELF = "100.64.0.1";
    static final String SITE_ROUTE = "198.18.2.0/24";
    static final String SITE_HOST = "198.18.2.2";
    static final String SITE_GATEWAY = "198.18.2.1";
    static final Duration HOLD_LIMIT = Duration.ofMinutes(3);
    static final int BALLAST_PIECE = 64 << 10;

    private NetNs site;
    private AutoCloseable hostSideVeth;
    private FlowLoadProcess loopbackEcho;
    private FlowLoadProcess siteEcho;
    private String loopbackTarget;
    private String siteTarget;

    /** The heap this class is written for; run elsewhere (a -Dtest run in another execution), it skips. */
    static final long HEAP_BYTES = 256L << 20;

    @BeforeAll
    void servers() {
        Assumptions.assumeTrue(Runtime.getRuntime().maxMemory() <= HEAP_BYTES,
                "runs in the heap-256m surefire execution (-Xmx256m)");
        Privileges.assumeRootAndTun();
        site = NetNs.create();
        String hostSide = NetNs.uniqueDeviceName("lsheap");
        Cmd.run("ip", "link", "add", hostSide, "type", "veth", "peer", "name", "tohost", "netns", site.name()).check();
        hostSideVeth = () -> Cmd.run("ip", "link", "del", hostSide);
        Cmd.run("ip", "addr", "add", SITE_GATEWAY + "/24", "dev", hostSide).check();
        Cmd.run("ip", "link", "set", hostSide, "up").check();
        site.exec("ip", "addr", "add", SITE_HOST + "/24", "dev", "tohost").check();
        site.exec("ip", "link", "set", "tohost", "up").check();
        site.exec("ip", "route", "add", "default", "via", SITE_GATEWAY).check();
        loopbackEcho = FlowLoadProcess.start(null, "serve-echo", "127.0.0.1:0");
        siteEcho = FlowLoadProcess.start(site, "serve-echo", SITE_HOST + ":0");
        int loopbackPort = port(loopbackEcho.awaitLine("listening on", Duration.ofSeconds(30)));
        int sitePort = port(siteEcho.awaitLine("listening on", Duration.ofSeconds(30)));
        loopbackTarget = SELF + ":" + loopbackPort;
        siteTarget = SITE_HOST + ":" + sitePort;
    }

    @AfterAll
    void stop() throws Exception {
        // Deleting the veth (either end) deletes the pair, and the host side's address with it.
        Teardown.closeAll(loopbackEcho, siteEcho, hostSideVeth, site);
    }

    private static int port(String listening) {
        return Integer.parseInt(listening.substring(listening.lastIndexOf(':') + 1));
    }

    /** A router engine on a fresh TUN, its client namespace adopting the device. */
    private record Router(Netstack netstack, NetNs client) implements AutoCloseable {
        static Router start(int heapPressurePercent) {
            String dev = NetNs.uniqueDeviceName("lsheap");
            NetNs client = NetNs.create();
            try {
                TunLink link = TunLink.open(dev, 1280, PacketBufferPool.forMtu(1280, 64));
                Netstack ns = Netstack.create(link, Netstack.Options.defaults(List.of(IpPrefix.parse(SELF + "/32")))
                        .withDnsUpstreams(List.of())
                        .withLimits(new InFlightLimits(512, 512))
                        .withHeapPressurePercent(heapPressurePercent));
                ns.start();
                ns.applyNetmap(new NetworkMap(
                        new Node("router-1", List.of(IpPrefix.parse(SELF + "/32")),
                                List.of(IpPrefix.parse(SELF + "/32"), IpPrefix.parse(SITE_ROUTE))),
                        List.of(new Node("laptop", List.of(IpPrefix.parse("100.64.0.2/32")), List.of())),
                        "tail.example"));
                client.adoptAsTailnetClient(dev);
                return new Router(ns, client);
            } catch (RuntimeException | Error e) {
                client.close();
                throw e;
            }
        }

        FlowLoadProcess hold(String target, int n) {
            return FlowLoadProcess.start(client, "hold", target, Integer.toString(n),
                    Long.toString(HOLD_LIMIT.toSeconds()), "--pause");
        }

        long counter(String key) {
            return netstack.expvar().get(key);
        }

        @Override
        public void close() throws Exception {
            Teardown.closeAll(netstack, client);
        }
    }

    private static long usedHeapAfterGc() {
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    /** What the held flows are made of: the JVM's class histogram, top entries (-Dheap.test.histogram=true). */
    private static void printHistogram() throws Exception {
        Object text = ManagementFactory.getPlatformMBeanServer().invoke(
                new ObjectName("com.sun.management:type=DiagnosticCommand"), "gcClassHistogram",
                new Object[] {null}, new String[] {String[].class.getName()});
        text.toString().lines().limit(45).forEach(System.out::println);
    }

    @Test
    void tenThousandIdleForwardedFlowsFitIn256MiB() throws Exception {
        int half = FLOWS / 2;
        List<FlowLoadProcess> holds = new ArrayList<>();
        try (Router router = Router.start(HeapPressure.DEFAULT_PERCENT)) {
            // A few flows first, so classes, pools and caches the flows use are there before measuring.
            try (FlowLoadProcess warm = router.hold(loopbackTarget, 100);
                 FlowLoadProcess warmSite = router.hold(siteTarget, 100)) {
                assertTrue(warm.awaitLine("opened", HOLD_LIMIT).startsWith("opened 100 "), warm.output());
                assertTrue(warmSite.awaitLine("opened", HOLD_LIMIT).startsWith("opened 100 "), warmSite.output());
                warm.proceed();
                warmSite.proceed();
                warm.awaitLine("held 100", HOLD_LIMIT);
                warmSite.awaitLine("held 100", HOLD_LIMIT);
                warm.proceed();
                warmSite.proceed();
                assertEquals(0, warm.awaitExit(Duration.ofSeconds(30)));
                assertEquals(0, warmSite.awaitExit(Duration.ofSeconds(30)));
            }
            Await.until(Duration.ofSeconds(60), "the warm-up flows are closed", () -> router.netstack().flows.size() == 0);
            long before = usedHeapAfterGc();
            long start = System.nanoTime();

            FlowLoadProcess own = router.hold(loopbackTarget, half);
            holds.add(own);
            FlowLoadProcess subnet = router.hold(siteTarget, FLOWS - half);
            holds.add(subnet);
            String ownOpened = own.awaitLine("opened", HOLD_LIMIT);
            String subnetOpened = subnet.awaitLine("opened", HOLD_LIMIT);
            assertTrue(ownOpened.startsWith("opened " + half + " "), ownOpened + "\n" + own.output());
            assertTrue(subnetOpened.startsWith("opened " + (FLOWS - half) + " "), subnetOpened + "\n" + subnet.output());
            assertEquals(FLOWS, router.netstack().flows.size(), "every connection is a forwarded flow");

            long held = usedHeapAfterGc();
            if (Boolean.getBoolean("heap.test.histogram")) {
                printHistogram();
            }
            long perFlow = (held - before) / FLOWS;
            System.out.printf("%d idle forwarded flows (own address and subnet): %d bytes of heap each; heap in use "
                    + "%d MiB of %d MiB (opened in %.1f s)%n", FLOWS, perFlow, held >> 20,
                    Runtime.getRuntime().maxMemory() >> 20, (System.nanoTime() - start) / 1e9);

            // The second echo, now that all are open.
            own.proceed();
            subnet.proceed();
            String ownHeld = own.awaitLine("held", HOLD_LIMIT);
            String subnetHeld = subnet.awaitLine("held", HOLD_LIMIT);
            assertTrue(ownHeld.startsWith("held " + half + " in"), ownHeld);
            assertTrue(subnetHeld.startsWith("held " + (FLOWS - half) + " in"), subnetHeld);
            System.out.printf("second echo: own address %s, subnet %s%n", ownHeld, subnetHeld);
            assertEquals(0, router.counter("counter_forward_refused_memory_pressure"));
            // Idle again after the echo: no flow holds a copy buffer.
            Await.until(Duration.ofSeconds(10), "every copy buffer is back in the pool",
                    () -> router.counter("gauge_tcp_forward_copy_buffers") == 0);
            assertTrue(perFlow < MAX_BYTES_PER_FLOW, perFlow + " bytes per idle forwarded flow, above "
                    + MAX_BYTES_PER_FLOW);

            own.proceed();
            subnet.proceed();
            assertEquals(0, own.awaitExit(Duration.ofSeconds(60)));
            assertEquals(0, subnet.awaitExit(Duration.ofSeconds(60)));
            Await.until(Duration.ofSeconds(120), "every flow is closed", () -> router.netstack().flows.size() == 0);
        } finally {
            Teardown.closeAll(holds);
        }
    }

    @Test
    void pastTheHeapPressureMarkNewFlowsAreResetWhileHeldFlowsEcho() throws Exception {
        int percent = HeapPressure.MIN_PERCENT;
        List<byte[]> ballast = new ArrayList<>();
        List<FlowLoadProcess> holds = new ArrayList<>();
        try (Router router = Router.start(percent)) {
            FlowLoadProcess own = router.hold(loopbackTarget, 50);
            FlowLoadProcess subnet = router.hold(siteTarget, 50);
            holds.add(own);
            holds.add(subnet);
            assertTrue(own.awaitLine("opened", HOLD_LIMIT).startsWith("opened 50 "), own.output());
            assertTrue(subnet.awaitLine("opened", HOLD_LIMIT).startsWith("opened 50 "), subnet.output());
            HeapPressure pressure = router.netstack().heapPressure;
            assertFalse(pressure.high(), "no pressure before the ballast");

            // Fill the heap past the mark with live ballast, in pieces well below a G1 region (an
            // object over half a region takes whole regions of its own and would waste the heap).
            long max = Runtime.getRuntime().maxMemory();
            long target = max / 100 * (percent + 8);
            long need = target - usedHeapAfterGc();
            for (long have = 0; have < need; have += BALLAST_PIECE) {
                ballast.add(new byte[BALLAST_PIECE]);
            }
            usedHeapAfterGc();
            Await.until(Duration.ofSeconds(30), "heap pressure is raised", pressure::high);
            assertEquals(1, router.counter("gauge_heap_pressure"));

            try (FlowLoadProcess refused = router.hold(loopbackTarget, 10);
                 FlowLoadProcess refusedSite = router.hold(siteTarget, 10)) {
                assertTrue(refused.awaitLine("opened", HOLD_LIMIT).startsWith("opened 0 "), refused.output());
                assertTrue(refusedSite.awaitLine("opened", HOLD_LIMIT).startsWith("opened 0 "), refusedSite.output());
                refused.proceed();
                refusedSite.proceed();
                String r = refused.awaitLine("held", HOLD_LIMIT);
                assertTrue(r.contains("Connection refused"), "refused with a RST: " + r);
                refused.proceed();
                refusedSite.proceed();
            }
            assertEquals(20, router.counter("counter_forward_refused_memory_pressure"));
            // A new UDP flow is refused too: its datagram is dropped and counted.
            router.client().exec("sh", "-c", "echo x | socat -T 1 - UDP:" + SITE_HOST + ":9");
            Await.until(Duration.ofSeconds(10), "the UDP flow is refused and counted",
                    () -> router.counter("counter_forward_refused_memory_pressure") == 21);

            // The flows held before still echo.
            own.proceed();
            subnet.proceed();
            assertTrue(own.awaitLine("held", HOLD_LIMIT).startsWith("held 50 in"), own.output());
            assertTrue(subnet.awaitLine("held", HOLD_LIMIT).startsWith("held 50 in"), subnet.output());

            // Below the low mark again, new flows are taken.
            ballast.clear();
            usedHeapAfterGc();
            Await.until(Duration.ofSeconds(30), "heap pressure is lowered", () -> !pressure.high());
            try (FlowLoadProcess again = router.hold(loopbackTarget, 10)) {
                assertTrue(again.awaitLine("opened", HOLD_LIMIT).startsWith("opened 10 "), again.output());
                again.proceed();
                again.awaitLine("held 10 in", HOLD_LIMIT);
                again.proceed();
            }
            assertEquals(21, router.counter("counter_forward_refused_memory_pressure"));
            own.proceed();
            subnet.proceed();
        } finally {
            ballast.clear();
            Teardown.closeAll(holds);
        }
    }
}
