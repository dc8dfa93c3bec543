package dev.loomstack.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.management.UnixOperatingSystemMXBean;
import dev.loomstack.link.TunLink;
import dev.loomstack.packet.IpPrefix;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.testing.Cmd;
import dev.loomstack.testing.LoopbackAddress;
import dev.loomstack.testing.NetNs;
import dev.loomstack.testing.Privileges;
import dev.loomstack.testing.Teardown;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Many concurrent UDP flows from a kernel client (a namespace behind the TUN) to a subnet echo
 * service ({@code 198.18.1.2}, an address on this process's loopback): 20,000 are forwarded and
 * answered; with a low limit the flows beyond it are dropped and counted on their own, and the
 * gauge reports the open ones.
 *
 * <p>Every forwarded flow holds one host socket, so this process needs a descriptor per flow:
 * where its hard limit is lower (a sandbox's 20,000, say) the flood is as large as the limit
 * allows, and says so; {@code -Dloomstack.e2e.udp-flows=N} sets the size by hand.
 */
class UdpFlowsEndToEndTest {
    static final String SITE_HOST = "198.18.1.2";
    static final List<IpPrefix> SELF = List.of(IpPrefix.parse("100.64.0.1/32"), IpPrefix.parse("fd7a:115c:a1e0::1/128"));
    static final int FLOWS = Integer.getInteger("loomstack.e2e.udp-flows", 20_000);
    /** Descriptors left for the JVM, the test's own sockets and the namespace commands. */
    static final int FD_RESERVE = 512;
    /** Below this the flood would prove little: far past the old hidden cap of 4,096. */
    static final int MIN_FLOOD = 8_192;

    private NetNs client;
    private Netstack netstack;
    private LoopbackAddress siteAddress;
    private DatagramChannel echo;
    private Thread echoThread;

    @BeforeEach
    void start() throws Exception {
        Privileges.assumeRootAndTun();
        siteAddress = LoopbackAddress.add(SITE_HOST);
        String dev = NetNs.uniqueDeviceName("lsuf");
        client = NetNs.create();
        // A deeper link pool: the flood's datagrams arrive in bursts.
        TunLink link = TunLink.open(dev, 1280, PacketBufferPool.forMtu(1280, 256));
        netstack = Netstack.create(link, Netstack.Options.defaults(SELF).withDnsUpstreams(List.of()));
        netstack.start();
        List<IpPrefix> allowed = new java.util.ArrayList<>(SELF);
        allowed.add(IpPrefix.parse("198.18.0.0/16"));
        netstack.applyNetmap(new NetworkMap(new Node("router-1", SELF, allowed), List.of(), "tail.example"));
        client.adoptAsTailnetClient(dev);

        echo = DatagramChannel.open();
        echo.bind(new InetSocketAddress(InetAddress.getByName(SITE_HOST), 0));
        echo.setOption(java.net.StandardSocketOptions.SO_RCVBUF, 4 << 20);
        echoThread = Thread.ofPlatform().daemon().name("udp-echo").start(() -> {
            ByteBuffer buf = ByteBuffer.allocate(2048);
            while (echo.isOpen()) {
                try {
                    buf.clear();
                    var from = echo.receive(buf);
                    buf.flip();
                    echo.send(buf, from);
                } catch (IOException e) {
                    return;
                }
            }
        });
    }

    @AfterEach
    void stop() throws Exception {
        if (echo != null) {
            echo.close();
            echoThread.join(Duration.ofSeconds(5));
        }
        Teardown.closeAll(netstack, client, siteAddress);
    }

    private Cmd.Result flood(int flows, int seconds) throws Exception {
        Path script = Path.of(getClass().getResource("/e2e/udp_flows.py").toURI());
        return client.exec(seconds + 60, "python3", script.toString(), SITE_HOST,
                String.valueOf(((InetSocketAddress) echo.getLocalAddress()).getPort()), String.valueOf(flows),
                String.valueOf(seconds));
    }

    private long expvar(String key) {
        return netstack.expvar().get(key);
    }

    @Test
    void twentyThousandConcurrentFlowsAreAllForwardedAndAnswered() throws Exception {
        var os = (UnixOperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        long spare = os.getMaxFileDescriptorCount() - os.getOpenFileDescriptorCount() - FD_RESERVE;
        // One backend socket a flow: where the process may not open FLOWS more descriptors (a hard
        // limit only CAP_SYS_RESOURCE could raise), the flood is as large as the limit allows.
        int flows = (int) Math.min(FLOWS, spare);
        assumeTrue(flows >= MIN_FLOOD, () -> "this process may open only " + os.getMaxFileDescriptorCount()
                + " file descriptors; a UDP flood of " + MIN_FLOOD + " flows needs more");
        if (flows < FLOWS) {
            System.out.printf("UDP flood: %d flows, not %d: the process may open %d file descriptors%n",
                    flows, FLOWS, os.getMaxFileDescriptorCount());
        }
        if (netstack.limits().maxUdpFlows() < flows) {
            // The default keeps half the descriptors for TCP flows and the service itself.
            netstack.updateLimits(netstack.limits().withMaxUdpFlows(flows));
        }

        Cmd.Result r = flood(flows, 90);
        assertTrue(r.ok(), r.output());
        assertEquals("answered=" + flows + " flows=" + flows, r.output().strip());
        // Flows idle out after two minutes: all of them are open together now.
        assertEquals(flows, expvar("gauge_udp_forward_flows"), "every flow open at once");
        assertEquals(0, expvar("counter_udp_forward_max_flows_drop"));
        assertEquals(0, expvar("counter_udp_receive_buffer_errors"), "no flow went missing as a buffer error");
    }

    @Test
    void beyondALowLimitFlowsAreDroppedAndCountedAndTheGaugeReportsTheOpenOnes() throws Exception {
        int limit = 100;
        int flows = 150;
        netstack.updateLimits(netstack.limits().withMaxUdpFlows(limit));
        assertEquals(limit, expvar("gauge_udp_forward_flows_limit"));

        Cmd.Result r = flood(flows, 6);
        assertEquals("answered=" + limit + " flows=" + flows, r.output().strip(),
                "exactly the flows within the limit are answered");
        assertEquals(limit, expvar("gauge_udp_forward_flows"));
        // 50 first datagrams, then their resends (every 2 s for 6 s): each one is a refused new flow.
        long drops = expvar("counter_udp_forward_max_flows_drop");
        assertTrue(drops >= flows - limit, drops + " drops counted");
        assertEquals(0, expvar("counter_udp_receive_buffer_errors"), "not counted as receive-buffer errors");

        // Raised live: a second round of new flows is taken in full.
        netstack.updateLimits(netstack.limits().withMaxUdpFlows(limit + flows));
        Cmd.Result again = flood(flows, 10);
        assertEquals("answered=" + flows + " flows=" + flows, again.output().strip());
        // A client port the kernel hands out again joins the first round's flow of that port, so
        // the second round adds at most its own number of flows.
        long open = expvar("gauge_udp_forward_flows");
        assertTrue(open > limit && open <= limit + flows, open + " flows open after raising the limit");
        assertEquals(drops, expvar("counter_udp_forward_max_flows_drop"), "no drop once raised");
    }
}
