package dev.loomstack.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.IpPrefix;
import dev.loomstack.testing.Await;
import dev.loomstack.testing.CaptureLink;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * What the process-wide forwarding counters count, as Tailscale's netstack:
 * {@code netstack_tcp_forward_dropped_attempts} sums the forwarder's global in-flight limit drops
 * ({@code forward_max_in_flight_drop}) over every engine in the process, and
 * {@code netstack_tcp_forward_dropped_attempts_per_client} the per-client limit drops; neither
 * counts the other's, and neither goes down when an engine closes.
 */
class ForwardDropCountersTest {
    static final IpAddress C = IpAddress.parse("100.64.0.4");
    static final Duration WAIT = Duration.ofSeconds(10);

    /** An engine whose forwarded flows stay in flight until {@code release} opens. */
    private static Netstack engine(CaptureLink link, InFlightLimits limits, CountDownLatch release) {
        Netstack ns = Netstack.create(link, Netstack.Options.defaults(List.of(IpPrefix.parse("100.64.0.1/32")))
                .withDnsUpstreams(List.of()).withLimits(limits));
        ns.handlers().setTcpDecider((from, to) -> {
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return new FlowDecision.Reject<>();
        });
        ns.start();
        return ns;
    }

    private static long global(Netstack ns) {
        return ns.expvar().get("netstack_tcp_forward_dropped_attempts");
    }

    private static long perClient(Netstack ns) {
        return ns.expvar().get("netstack_tcp_forward_dropped_attempts_per_client");
    }

    @Test
    void droppedAttemptsCountGlobalLimitDropsOnlyOverEveryEngine() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        CaptureLink link = new CaptureLink(1280);
        CaptureLink link2 = new CaptureLink(1280);
        Netstack ns = engine(link, new InFlightLimits(2, 1), release);
        Netstack ns2 = engine(link2, new InFlightLimits(1, 1), release);
        try {
            long globalBefore = global(ns);
            long perClientBefore = perClient(ns);

            link.deliver(InFlightAccountingTest.syn(InFlightAccountingTest.A, 1001));
            Await.until(WAIT, "A's first attempt is in flight", () -> ns.tcpForwarder().inFlight() == 1);
            // Two more attempts of A: past its per-client limit of 1.
            link.deliver(InFlightAccountingTest.syn(InFlightAccountingTest.A, 1002));
            link.deliver(InFlightAccountingTest.syn(InFlightAccountingTest.A, 1003));
            Await.until(WAIT, "A's excess attempts are dropped", () -> perClient(ns) == perClientBefore + 2);
            link.deliver(InFlightAccountingTest.syn(InFlightAccountingTest.B, 2001));
            Await.until(WAIT, "B's attempt fills the global limit of 2", () -> ns.tcpForwarder().inFlight() == 2);
            // C is within its own budget, but the forwarder's global limit is reached.
            link.deliver(InFlightAccountingTest.syn(C, 3001));
            Await.until(WAIT, "C's attempt is dropped by the global limit",
                    () -> ns.expvar().get("counter_tcp_forward_max_in_flight_drop") == 1);

            assertEquals(globalBefore + 1, global(ns), "only the global-limit drop counts");
            assertEquals(perClientBefore + 2, perClient(ns), "the per-client drops have their own counter");
            assertEquals(2, ns.expvar().get("counter_tcp_forward_max_in_flight_per_client_drop"));

            // A second engine's global drop adds to the same process-wide figure.
            link2.deliver(InFlightAccountingTest.syn(InFlightAccountingTest.A, 1001));
            Await.until(WAIT, "the second engine's only slot is taken", () -> ns2.tcpForwarder().inFlight() == 1);
            link2.deliver(InFlightAccountingTest.syn(InFlightAccountingTest.B, 2001));
            Await.until(WAIT, "the second engine drops at its global limit",
                    () -> ns2.expvar().get("counter_tcp_forward_max_in_flight_drop") == 1);
            assertEquals(globalBefore + 2, global(ns), "summed over the engines of the process");
            assertEquals(globalBefore + 2, global(ns2));

            release.countDown();
            ns2.close();
            assertEquals(globalBefore + 2, global(ns), "a closed engine's drops still count: the counter never goes down");
            assertEquals(perClientBefore + 2, perClient(ns));
        } finally {
            release.countDown();
            ns.close();
            ns2.close();
        }
    }
}
