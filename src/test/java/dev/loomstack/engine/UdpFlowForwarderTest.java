package dev.loomstack.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.packet.Bytes;
import dev.loomstack.packet.IpAddress;
import dev.loomstack.udp.UdpForwarder;
import dev.loomstack.testing.Await;
import dev.loomstack.udp.UdpHarness;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Tailscale's forwardUDP against a real loopback echo server. */
class UdpFlowForwarderTest {
    static final IpAddress CLIENT = IpAddress.parse("100.64.0.2");
    static final IpAddress SELF = IpAddress.parse("100.64.0.1");

    final UdpHarness h = new UdpHarness();
    final UdpFlowForwarder forwarder = new UdpFlowForwarder(new HostPortGuard(new HostAddresses()));
    DatagramSocket echo;
    Thread echoThread;
    final ArrayBlockingQueue<InetSocketAddress> echoSenders = new ArrayBlockingQueue<>(16);

    @BeforeEach
    void startEcho() throws Exception {
        echo = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        echoThread = Thread.ofVirtual().start(() -> {
            byte[] buf = new byte[2048];
            DatagramPacket p = new DatagramPacket(buf, buf.length);
            try {
                while (true) {
                    p.setLength(buf.length);
                    echo.receive(p);
                    echoSenders.add((InetSocketAddress) p.getSocketAddress());
                    echo.send(new DatagramPacket(buf, p.getLength(), p.getSocketAddress()));
                }
            } catch (Exception closed) {
                // the test closed the socket
            }
        });
    }

    @AfterEach
    void stopEcho() throws Exception {
        echo.close();
        echoThread.join(Duration.ofSeconds(5));
        h.udp.close();
        forwarder.close();
    }

    private void runFlow(dev.loomstack.stack.TransportEndpointId id, dev.loomstack.udp.UdpEndpoint client,
                         InetSocketAddress dial, boolean local, Duration idle, FlowObserver observer) {
        forwarder.run(id, client, dial, local, idle, observer);
    }

    private void awaitBackendError(CountDownLatch ended) {
        Await.until(Duration.ofSeconds(5), "the ICMP error reaches the backend socket",
                () -> forwarder.destinationErrors() > 0 || ended.getCount() == 0);
    }

    private void forwardOwnAddressFlows(Duration idle, CountDownLatch ended) {
        h.udp.setForwarder(new UdpForwarder(req -> {
            InetSocketAddress dial = new InetSocketAddress(InetAddress.getLoopbackAddress(), echo.getLocalPort());
            forwarder.run(req.id(), req.createEndpoint(), dial, true, idle, FlowObserver.NONE);
            ended.countDown();
        }));
    }

    @Test
    void ownAddressFlowReachesLoopbackFromTheClientsSourcePortAndRepliesReturn() throws Exception {
        CountDownLatch ended = new CountDownLatch(1);
        forwardOwnAddressFlows(Duration.ofSeconds(30), ended);
        int clientPort = freeLoopbackPort();
        byte[] payload = "ping over udp".getBytes(StandardCharsets.UTF_8);
        h.deliver(CLIENT, SELF, UdpHarness.datagram(CLIENT, clientPort, SELF, echo.getLocalPort(), payload));

        InetSocketAddress seen = echoSenders.poll(5, TimeUnit.SECONDS);
        assertNotNull(seen, "echo server got nothing");
        assertEquals(clientPort, seen.getPort(), "backend should bind the client's source port when free");
        assertTrue(seen.getAddress().isLoopbackAddress());

        UdpHarness.Sent reply = h.sent.poll(5, TimeUnit.SECONDS);
        assertNotNull(reply, "no reply went back to the client");
        assertEquals(SELF, reply.source());
        assertEquals(CLIENT, reply.destination());
        byte[] u = reply.transport();
        assertEquals(echo.getLocalPort(), Bytes.u16(u, 0));
        assertEquals(clientPort, Bytes.u16(u, 2));
        assertEquals("ping over udp", new String(u, 8, u.length - 8, StandardCharsets.UTF_8));
    }

    @Test
    void busySourcePortFallsBackToARandomOne() throws Exception {
        try (DatagramSocket squatter = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            CountDownLatch ended = new CountDownLatch(1);
            forwardOwnAddressFlows(Duration.ofSeconds(30), ended);
            h.deliver(CLIENT, SELF, UdpHarness.datagram(CLIENT, squatter.getLocalPort(), SELF, echo.getLocalPort(), new byte[] {1}));
            InetSocketAddress seen = echoSenders.poll(5, TimeUnit.SECONDS);
            assertNotNull(seen);
            assertTrue(seen.getPort() != squatter.getLocalPort());
        }
    }

    @Test
    void idleFlowIsClosedOnBothSides() throws Exception {
        CountDownLatch ended = new CountDownLatch(1);
        forwardOwnAddressFlows(Duration.ofMillis(300), ended);
        h.deliver(CLIENT, SELF, UdpHarness.datagram(CLIENT, freeLoopbackPort(), SELF, echo.getLocalPort(), new byte[] {1}));
        assertNotNull(h.sent.poll(5, TimeUnit.SECONDS));
        assertTrue(ended.await(10, TimeUnit.SECONDS), "flow did not end after its idle timeout");
        assertEquals(0, h.udp.endpointCount());
    }

    @Test
    void dnsFlowsIdleOutSooner() {
        assertEquals(Duration.ofSeconds(30), UdpFlowForwarder.idleTimeoutFor(53));
        assertEquals(Duration.ofMinutes(2), UdpFlowForwarder.idleTimeoutFor(5353));
    }

    private static int freeLoopbackPort() throws Exception {
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            return s.getLocalPort();
        }
    }

    /** Records what the forwarder tells the engine about one flow. */
    static final class RecordingObserver implements FlowObserver {
        final CountDownLatch dialFailed = new CountDownLatch(1);
        final CountDownLatch closed = new CountDownLatch(1);
        volatile InetSocketAddress upstream;

        @Override
        public void upstreamOpen(InetSocketAddress local) {
            upstream = local;
        }

        @Override
        public void dialFailed(boolean cancelled) {
            dialFailed.countDown();
        }

        @Override
        public void closed() {
            closed.countDown();
        }
    }

    @Test
    void aBackendWhoseConnectFailsIsClosedAtOnce() throws Exception {
        // Connecting to the broadcast address needs SO_BROADCAST, which a forwarded flow never gets.
        // No datagram is sent: the client endpoint stays empty.
        InetSocketAddress broadcast = new InetSocketAddress(InetAddress.getByName("255.255.255.255"), 9);
        long before = openFileDescriptors();
        for (int i = 0; i < 50; i++) {
            dev.loomstack.udp.UdpEndpoint client = h.udp.bind(SELF, 40_000 + i);
            RecordingObserver seen = new RecordingObserver();
            runFlow(new dev.loomstack.stack.TransportEndpointId(SELF, 40_000 + i, CLIENT, 50_000 + i), client,
                    broadcast, false, Duration.ofSeconds(1), seen);
            assertEquals(0, seen.dialFailed.getCount(), "the refused connect is reported as a failed dial");
            assertNull(seen.upstream, "no upstream was opened");
            assertTrue(client.isClosed(), "the client side is closed with it");
        }
        assertTrue(openFileDescriptors() - before < 10, "no socket is left open by a failed connect");
    }

    @Test
    void anIcmpErrorFromTheDestinationDoesNotEndTheFlowAndLaterRepliesReachTheClient() throws Exception {
        int closedPort = freeLoopbackPort();
        CountDownLatch ended = new CountDownLatch(1);
        RecordingObserver seen = new RecordingObserver();
        java.util.concurrent.atomic.AtomicInteger flows = new java.util.concurrent.atomic.AtomicInteger();
        h.udp.setForwarder(new UdpForwarder(req -> {
            flows.incrementAndGet();
            runFlow(req.id(), req.createEndpoint(), new InetSocketAddress(InetAddress.getLoopbackAddress(), closedPort),
                    true, Duration.ofSeconds(30), seen);
            ended.countDown();
        }));
        int clientPort = freeLoopbackPort();
        // Nothing listens yet: the kernel answers with ICMP port unreachable, queued on the backend socket.
        h.deliver(CLIENT, SELF, UdpHarness.datagram(CLIENT, clientPort, SELF, closedPort, new byte[] {1}));
        awaitBackendError(ended);
        assertEquals(1, ended.getCount(), "the flow is still open after the ICMP error");

        InetSocketAddress upstream = seen.upstream;
        assertNotNull(upstream);
        try (DatagramSocket late = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), closedPort))) {
            byte[] reply = "late reply".getBytes(StandardCharsets.UTF_8);
            late.send(new DatagramPacket(reply, reply.length, InetAddress.getLoopbackAddress(), upstream.getPort()));
            UdpHarness.Sent back = h.sent.poll(5, TimeUnit.SECONDS);
            assertNotNull(back, "a reply after the ICMP error reaches the client");
            byte[] u = back.transport();
            assertEquals("late reply", new String(u, 8, u.length - 8, StandardCharsets.UTF_8));
        }
        assertEquals(1, flows.get(), "one flow throughout");
    }

    private static long openFileDescriptors() throws java.io.IOException {
        try (var s = java.nio.file.Files.list(java.nio.file.Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }
}
