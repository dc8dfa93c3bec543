package dev.loomstack.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.packet.IpPrefix;
import dev.loomstack.packet.TcpHeader;
import dev.loomstack.testing.Await;
import dev.loomstack.testing.CaptureLink;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The first half of a graceful stop: new flows refused, open ones given their time. */
class DrainTest {
    @Test
    void drainingRefusesNewFlowsWithAReset() throws Exception {
        CaptureLink link = new CaptureLink(1280);
        Netstack ns = Netstack.create(link, Netstack.Options.defaults(List.of(IpPrefix.parse("100.64.0.1/32")))
                .withDnsUpstreams(List.of()));
        ns.start();
        try {
            assertEquals(0, ns.drain(Duration.ofMillis(10)), "nothing open: the drain ends at once");
            assertTrue(ns.isDraining());
            link.take();
            link.deliver(InFlightAccountingTest.syn(InFlightAccountingTest.A, 4000));
            Await.until(Duration.ofSeconds(5), "the SYN is answered", () -> ns.expvar().get("counter_refused_while_draining") == 1);
            Await.until(Duration.ofSeconds(5), "with a reset", () -> link.take().stream()
                    .anyMatch(b -> (TcpHeader.flags(b, 20) & TcpHeader.RST) != 0));
        } finally {
            ns.close();
        }
    }

    @Test
    void awaitEmptyReturnsWhenTheLastFlowCloses() throws Exception {
        FlowRegistry flows = new FlowRegistry(Clock.systemUTC());
        FlowRegistry.Entry e = flows.open(FlowInfo.Protocol.TCP, new InetSocketAddress("100.64.0.2", 1),
                new InetSocketAddress("127.0.0.1", 2));
        assertEquals(1, flows.awaitEmpty(Duration.ofMillis(20)), "still open when the time is up");
        Thread closer = Thread.ofVirtual().start(() -> {
            try {
                Thread.sleep(50);
            } catch (InterruptedException ignored) {
                // The test ends anyway.
            }
            e.close();
        });
        assertEquals(0, flows.awaitEmpty(Duration.ofSeconds(10)));
        closer.join();
    }
}
