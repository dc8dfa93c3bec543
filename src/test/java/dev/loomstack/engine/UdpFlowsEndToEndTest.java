package dev.loomstack.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.management.UnixOperatingSystemMXBean;
import dev.loomstack.link.TunLink;
import dev.loomstack.packet.IpPrefix;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.testing.Cmd;
import dev.loomstack.testing.NetNs;
import dev.loomstack.testing.Privileges;
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
 * service ({@code 198.18.1.2}, an address on this process's loopback): with the default limit all
 * 20,000 are forwarded and answered; with a low limit the flows beyond it are dropped and counted
 * on their own, and the gauge reports the open ones.
 *
 * <p>Every forwarded flow holds one host socket, so this process needs a descriptor per flow: the
 * flood runs only where the descriptor limit allows it ({@code -Dloomstack.e2e.udp-flows=N}
 * runs it with fewer flows on a machine whose hard limit is lower).
 */
class UdpFlowsEndToEndTest {
    static final String SITE_HOST = "198.18.1.2";
    static final List<IpPrefix> SELF = List.of(IpPrefix.parse("100.64.0.1/32"), IpPrefix.parse("fd7a:115c:a1e0::1/128"));
    static final int FLOWS = Integer.getInteger("loomstack.e2e.udp-flows", 20_000);

    private NetNs client;
    private Netstack netstack;
    private boolean siteAddressAdded;
    private DatagramChannel echo;
    private Thread echoThread;

    @BeforeEach
    void start() throws Exception {
        Privileges.assumeRootAndTun();
        Cmd.run("ip", "addr", "add", SITE_HOST + "/32", "dev", "lo").check();
        siteAddressAdded = true;
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
        if (netstack != null) {
            netstack.close();
        }
        if (client != null) {
            client.close();
        }
        if (siteAddressAdded) {
            Cmd.run("ip", "addr", "del", SITE_HOST + "/32", "dev", "lo");
        }
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
        long maxFds = ((UnixOperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getMaxFileDescriptorCount();
        long openFds = ((UnixOperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getOpenFileDescriptorCount();
        // The default limit leaves half the descriptors to everything else; one backend socket a flow.
        assumeTrue(maxFds / 2 >= FLOWS && maxFds - openFds > FLOWS + 256, () -> "forwarding " + FLOWS
                + " UDP flows needs twice as many file descriptors; this process may open " + maxFds
                + " (run with -Dloomstack.e2e.udp-flows=" + Math.min(maxFds / 2, maxFds - openFds - 256) + ")");
        assertTrue(netstack.limits().maxUdpFlows() >= FLOWS,
                "the default limit (" + netstack.limits().maxUdpFlows() + ") lets " + FLOWS + " flows through");

        Cmd.Result r = flood(FLOWS, 90);
        assertTrue(r.ok(), r.output());
        assertEquals("answered=" + FLOWS + " flows=" + FLOWS, r.output().strip());
        // Flows idle out after two minutes: all of them are open together now.
        assertEquals(FLOWS, expvar("gauge_udp_forward_flows"), "every flow open at once");
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
