package dev.loomstack.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.loomstack.ip.IpStack;
import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.IpPrefix;
import dev.loomstack.packet.Ipv4Header;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.packet.TcpHeader;
import dev.loomstack.stack.ManualTimerService;
import dev.loomstack.stack.Stack;
import dev.loomstack.stack.StatCounter;
import dev.loomstack.stack.Stats;
import dev.loomstack.tcp.TcpForwarder;
import dev.loomstack.tcp.TcpProtocol;
import dev.loomstack.testing.Await;
import dev.loomstack.testing.CaptureLink;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Tailscale's {@code wrapTCPProtocolHandler} accounting, with the forwarder's global limit and the
 * engine's per-client limit working together on hand-made SYNs.
 */
class InFlightAccountingTest {
    static final IpAddress ROUTER = IpAddress.parse("100.64.0.1");
    static final IpAddress A = IpAddress.parse("100.64.0.2");
    static final IpAddress B = IpAddress.parse("100.64.0.3");

    static byte[] syn(IpAddress src, int srcPort) {
        byte[] b = new byte[40];
        Ipv4Header.write(b, 0, 40, 1, 0, 64, TcpHeader.PROTOCOL, src, ROUTER);
        TcpHeader.write(b, 20, srcPort, 80, 1000, 0, 20, TcpHeader.SYN, 65535);
        TcpHeader.fillChecksum(b, 20, 20, src, ROUTER);
        return b;
    }

    @Test
    void retransmittedSynsCountOnceAndUnhandledSynsGiveTheirSlotBack() throws Exception {
        CaptureLink link = new CaptureLink(1280);
        Stats stats = new Stats();
        Stack stack = IpStack.create(link, PacketBufferPool.forMtu(1280, 64), stats, new ManualTimerService());
        TcpProtocol tcp = new TcpProtocol(stack);
        stack.registerTransport(tcp);
        stack.addAddress(IpPrefix.host(ROUTER));
        stack.start();
        StatCounter perClientDrops = new StatCounter();
        InFlightLimiter limiter = new InFlightLimiter(2, perClientDrops);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger dispatched = new AtomicInteger();
        TcpForwarder forwarder = new TcpForwarder(tcp, 0, 3, r -> {
            dispatched.incrementAndGet();
            try {
                release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            r.complete(true);
        });
        forwarder.setGate(limiter);

        link.deliver(syn(A, 1001));
        link.deliver(syn(A, 1001));
        assertEquals(1, limiter.inFlight(A), "a retransmitted SYN does not count twice");
        link.deliver(syn(A, 1002));
        link.deliver(syn(A, 1003));
        assertEquals(2, limiter.inFlight(A));
        assertEquals(1, perClientDrops.value(), "A's third attempt is past the per-client limit");

        link.deliver(syn(B, 2001));
        assertEquals(1, limiter.inFlight(B), "another client still gets in");
        link.deliver(syn(B, 2002));
        assertEquals(1, stats.tcp.forwardMaxInFlightDrop.value(), "the global limit (3) is reached");
        assertEquals(1, limiter.inFlight(B), "the SYN the forwarder did not take gave its slot back");

        forwarder.setMaxInFlight(4);
        link.deliver(syn(B, 2003));
        assertEquals(2, limiter.inFlight(B), "a raised global limit applies at once");

        release.countDown();
        Await.until(Duration.ofSeconds(10), "all attempts complete", () -> forwarder.inFlight() == 0);
        Await.until(Duration.ofSeconds(10), "all slots released", () -> limiter.snapshot().isEmpty());
        assertEquals(4, dispatched.get());
        tcp.close();
    }
}
