package dev.loomstack.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.IpPrefix;
import dev.loomstack.packet.Ipv4Header;
import dev.loomstack.packet.UdpHeader;
import dev.loomstack.testing.Await;
import dev.loomstack.testing.CaptureLink;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What one open UDP flow costs in heap, through the whole engine: the stack's endpoint, the flow's
 * parked virtual thread, its backend socket channel and selector key, its flow-list entry and
 * address hold. The flows go to an own address, so the backends are loopback sockets to a sink
 * that never answers. The README and {@link InFlightLimits#BYTES_PER_UDP_FLOW} quote the figure
 * this test prints: {@code ./mvnw test -Dtest=UdpFlowFootprintTest}.
 */
class UdpFlowFootprintTest {
    static final IpAddress CLIENT = IpAddress.parse("100.64.0.2");
    static final IpAddress SELF = IpAddress.parse("100.64.0.1");
    /** Each flow holds one descriptor: well inside a 20,000-descriptor process limit. */
    static final int FLOWS = 5_000;
    static final int WARM_UP = 200;

    private static long usedHeap(MemoryMXBean memory) {
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return memory.getHeapMemoryUsage().getUsed();
    }

    static byte[] datagram(int srcPort, int dstPort) {
        byte[] b = new byte[20 + UdpHeader.LENGTH + 1];
        Ipv4Header.write(b, 0, b.length, 1, 0, 64, UdpHeader.PROTOCOL, CLIENT, SELF);
        UdpHeader.write(b, 20, srcPort, dstPort, 1, CLIENT, SELF);
        return b;
    }

    @Test
    void anOpenUdpFlowCostsAFewKilobytes() throws Exception {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        CaptureLink link = new CaptureLink(1280);
        try (DatagramSocket sink = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
             Netstack ns = Netstack.create(link, Netstack.Options.defaults(List.of(IpPrefix.host(SELF)))
                     .withDnsUpstreams(List.of())
                     .withLimits(new InFlightLimits(64, 32, FLOWS + WARM_UP)))) {
            ns.start();
            int port = sink.getLocalPort();
            open(ns, link, 20_000, WARM_UP, port, WARM_UP);
            long before = usedHeap(memory);
            open(ns, link, 30_000, FLOWS, port, WARM_UP + FLOWS);
            long after = usedHeap(memory);
            assertEquals(WARM_UP + FLOWS, ns.expvar().get("gauge_udp_forward_flows"));
            long perFlow = (after - before) / FLOWS;
            System.out.printf("open UDP flow: %d bytes of heap each (%d flows)%n", perFlow, FLOWS);
            assertTrue(perFlow < InFlightLimits.BYTES_PER_UDP_FLOW,
                    perFlow + " bytes per open UDP flow, above the " + InFlightLimits.BYTES_PER_UDP_FLOW + " the default limit assumes");
        }
    }

    private static void open(Netstack ns, CaptureLink link, int firstPort, int n, int dstPort, int expectedOpen) {
        for (int i = 0; i < n; i++) {
            link.deliver(datagram(firstPort + i, dstPort));
        }
        Await.until(Duration.ofSeconds(60), expectedOpen + " flows open with their backend sockets",
                () -> ns.flows().stream().filter(f -> f.state().equals("open")).count() == expectedOpen);
    }
}
