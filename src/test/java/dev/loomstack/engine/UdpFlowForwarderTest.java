package dev.loomstack.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.packet.Bytes;
import dev.loomstack.packet.IpAddress;
import dev.loomstack.udp.UdpForwarder;
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

/** The seed's forwardUDP against a real loopback echo server. */
class UdpFlowForwarderTest {
    static final IpAddress CLIENT = IpAddress.parse("100.64.0.2");
    static final IpAddress SELF = IpAddress.parse("100.64.0.1");

    final UdpHarness h = new UdpHarness();
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
    }

    private void forwardOwnAddressFlows(Duration idle, CountDownLatch ended) {
        h.udp.setForwarder(new UdpForwarder(req -> {
            InetSocketAddress dial = new InetSocketAddress(InetAddress.getLoopbackAddress(), echo.getLocalPort());
            UdpFlowForwarder.run(req.id(), req.createEndpoint(), dial, true, idle,
                    new HostPortGuard(new HostAddresses()), FlowObserver.NONE);
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
}
