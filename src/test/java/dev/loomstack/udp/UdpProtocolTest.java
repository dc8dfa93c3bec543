package dev.loomstack.udp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.packet.Bytes;
import dev.loomstack.packet.Checksum;
import dev.loomstack.packet.IpAddress;
import dev.loomstack.stack.TransportProtocolHandler.Delivery;
import java.net.BindException;
import java.net.SocketTimeoutException;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class UdpProtocolTest {
    static final IpAddress CLIENT = IpAddress.parse("100.64.0.2");
    static final IpAddress SELF = IpAddress.parse("100.64.0.1");
    static final IpAddress CLIENT6 = IpAddress.parse("fd7a:115c:a1e0::2");
    static final IpAddress SELF6 = IpAddress.parse("fd7a:115c:a1e0::1");
    static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    final UdpHarness h = new UdpHarness();

    static byte[] text(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void boundEndpointReceivesPayloadAndSender() throws Exception {
        UdpEndpoint ep = h.udp.bind(SELF, 5353);
        assertEquals(Delivery.DELIVERED, h.deliver(CLIENT, SELF, UdpHarness.datagram(CLIENT, 40000, SELF, 5353, text("hello"))));
        byte[] buf = new byte[64];
        UdpEndpoint.Sender from = new UdpEndpoint.Sender();
        int n = ep.receive(buf, 0, buf.length, SECOND, from);
        assertEquals("hello", new String(buf, 0, n, StandardCharsets.UTF_8));
        assertEquals(CLIENT, from.address);
        assertEquals(40000, from.port);
        assertEquals(1, h.stats.udp.packetsReceived.value());
    }

    @Test
    void wildcardBindingServesEveryAddressOfItsFamily() throws Exception {
        UdpEndpoint ep = h.udp.bind(IpAddress.V6_ANY, 7000);
        assertEquals(Delivery.DELIVERED, h.deliver(CLIENT6, SELF6, UdpHarness.datagram(CLIENT6, 1, SELF6, 7000, text("v6"))));
        assertEquals(2, ep.receive(new byte[8], 0, 8, SECOND, null));
        // An IPv4 datagram to the same port does not match an IPv6 wildcard.
        assertEquals(Delivery.PORT_UNREACHABLE, h.deliver(CLIENT, SELF, UdpHarness.datagram(CLIENT, 1, SELF, 7000, text("v4"))));
    }

    @Test
    void unservedPortAsksForPortUnreachable() {
        assertEquals(Delivery.PORT_UNREACHABLE, h.deliver(CLIENT, SELF, UdpHarness.datagram(CLIENT, 1, SELF, 9, text("x"))));
        assertEquals(1, h.stats.udp.unknownPortErrors.value());
    }

    @Test
    void badChecksumIsCountedAndDropped() throws Exception {
        h.udp.bind(SELF, 9);
        byte[] d = UdpHarness.datagram(CLIENT, 1, SELF, 9, text("payload"));
        d[d.length - 1] ^= 0x40;
        assertEquals(Delivery.DROPPED, h.deliver(CLIENT, SELF, d));
        assertEquals(1, h.stats.udp.checksumErrors.value());
    }

    @Test
    void zeroChecksumMeansNoneOverIpv4ButIsInvalidOverIpv6() throws Exception {
        h.udp.bind(SELF, 9);
        h.udp.bind(SELF6, 9);
        byte[] d4 = UdpHarness.datagram(CLIENT, 1, SELF, 9, text("a"));
        Bytes.put16(d4, 6, 0);
        assertEquals(Delivery.DELIVERED, h.deliver(CLIENT, SELF, d4));
        byte[] d6 = UdpHarness.datagram(CLIENT6, 1, SELF6, 9, text("a"));
        Bytes.put16(d6, 6, 0);
        assertEquals(Delivery.DROPPED, h.deliver(CLIENT6, SELF6, d6));
        assertEquals(1, h.stats.udp.checksumErrors.value());
    }

    @Test
    void lengthFieldBeyondPacketOrBelowHeaderIsMalformed() throws Exception {
        h.udp.bind(SELF, 9);
        byte[] d = UdpHarness.datagram(CLIENT, 1, SELF, 9, text("abc"));
        Bytes.put16(d, 4, d.length + 1);
        assertEquals(Delivery.DROPPED, h.deliver(CLIENT, SELF, d));
        Bytes.put16(d, 4, 7);
        assertEquals(Delivery.DROPPED, h.deliver(CLIENT, SELF, d));
        assertEquals(Delivery.DROPPED, h.deliver(CLIENT, SELF, new byte[5]));
        assertEquals(3, h.stats.udp.malformedPacketsReceived.value());
    }

    @Test
    void fullReceiveBufferDropsAndCounts() throws Exception {
        UdpEndpoint ep = h.udp.bind(SELF, 9);
        ep.setReceiveBufferSize(100);
        byte[] d = UdpHarness.datagram(CLIENT, 1, SELF, 9, new byte[60]);
        assertEquals(Delivery.DELIVERED, h.deliver(CLIENT, SELF, d));
        assertEquals(Delivery.DROPPED, h.deliver(CLIENT, SELF, d));
        assertEquals(1, h.stats.udp.receiveBufferErrors.value());
    }

    @Test
    void sentDatagramCarriesAValidChecksum() throws Exception {
        UdpEndpoint ep = h.udp.bind(SELF6, 53);
        byte[] payload = text("answer");
        ep.send(payload, 0, payload.length, CLIENT6, 33000);
        UdpHarness.Sent s = h.sent.poll(1, TimeUnit.SECONDS);
        assertNotNull(s);
        assertEquals(17, s.protocol());
        assertEquals(SELF6, s.source());
        assertEquals(CLIENT6, s.destination());
        byte[] u = s.transport();
        assertEquals(53, Bytes.u16(u, 0));
        assertEquals(33000, Bytes.u16(u, 2));
        assertEquals(8 + payload.length, Bytes.u16(u, 4));
        assertTrue(Checksum.verifies(Checksum.add(Checksum.pseudoHeader(SELF6, CLIENT6, 17, u.length), u, 0, u.length)));
        assertEquals(1, h.stats.udp.packetsSent.value());
    }

    @Test
    void portInUseIsRefused() throws Exception {
        h.udp.bind(SELF, 9);
        assertThrows(BindException.class, () -> h.udp.bind(SELF, 9));
        UdpEndpoint eph = h.udp.bind(SELF, 0);
        assertTrue(eph.localPort() >= 32768 && eph.localPort() <= 60999);
    }

    @Test
    void connectedEndpointIgnoresOtherPeersAndClosedEndpointUnbinds() throws Exception {
        UdpEndpoint ep = h.udp.bind(SELF, 9);
        ep.connect(CLIENT, 1000);
        assertEquals(Delivery.PORT_UNREACHABLE, h.deliver(CLIENT, SELF, UdpHarness.datagram(CLIENT, 1001, SELF, 9, text("x"))));
        assertEquals(Delivery.DELIVERED, h.deliver(CLIENT, SELF, UdpHarness.datagram(CLIENT, 1000, SELF, 9, text("y"))));
        ep.close();
        assertEquals(0, h.udp.endpointCount());
        assertEquals(Delivery.PORT_UNREACHABLE, h.deliver(CLIENT, SELF, UdpHarness.datagram(CLIENT, 1000, SELF, 9, text("z"))));
    }

    @Test
    void receiveTimesOutAndCloseWakesReaders() throws Exception {
        UdpEndpoint ep = h.udp.bind(SELF, 9);
        assertThrows(SocketTimeoutException.class, () -> ep.receive(new byte[4], 0, 4, TimeUnit.MILLISECONDS.toNanos(20), null));
        ArrayBlockingQueue<Throwable> outcome = new ArrayBlockingQueue<>(1);
        CountDownLatch started = new CountDownLatch(1);
        Thread reader = Thread.ofVirtual().start(() -> {
            started.countDown();
            try {
                ep.receive(new byte[4], 0, 4, 0, null);
                outcome.add(new AssertionError("receive returned on a closed endpoint"));
            } catch (Throwable t) {
                outcome.add(t);
            }
        });
        started.await();
        ep.close();
        Throwable t = outcome.poll(5, TimeUnit.SECONDS);
        assertTrue(t instanceof ClosedChannelException, "expected ClosedChannelException, got " + t);
        reader.join(Duration.ofSeconds(5));
    }

    @Test
    void forwarderGetsTheFirstDatagramAndLaterOnesGoToTheSameFlow() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        ArrayBlockingQueue<String> got = new ArrayBlockingQueue<>(4);
        CountDownLatch done = new CountDownLatch(1);
        h.udp.setForwarder(new UdpForwarder(req -> {
            calls.incrementAndGet();
            assertEquals(SELF, req.id().localAddress());
            assertEquals(CLIENT, req.id().remoteAddress());
            try (UdpEndpoint ep = req.createEndpoint()) {
                byte[] buf = new byte[16];
                for (int i = 0; i < 2; i++) {
                    int n = ep.receive(buf, 0, buf.length, 5 * SECOND, null);
                    got.add(new String(buf, 0, n, StandardCharsets.UTF_8));
                }
            } catch (Exception e) {
                got.add("error " + e);
            } finally {
                done.countDown();
            }
        }));
        assertEquals(Delivery.DELIVERED, h.deliver(CLIENT, SELF, UdpHarness.datagram(CLIENT, 4000, SELF, 53, text("first"))));
        assertEquals(Delivery.DELIVERED, h.deliver(CLIENT, SELF, UdpHarness.datagram(CLIENT, 4000, SELF, 53, text("second"))));
        assertTrue(done.await(5, TimeUnit.SECONDS));
        assertEquals("first", got.take());
        assertEquals("second", got.take());
        assertEquals(1, calls.get());
    }

    @Test
    void flowNotTakenByItsHandlerIsClosed() throws Exception {
        CountDownLatch ran = new CountDownLatch(1);
        h.udp.setForwarder(new UdpForwarder(req -> ran.countDown()));
        h.deliver(CLIENT, SELF, UdpHarness.datagram(CLIENT, 4000, SELF, 53, text("q")));
        assertTrue(ran.await(5, TimeUnit.SECONDS));
        long deadline = System.nanoTime() + 5 * SECOND;
        while (h.udp.endpointCount() != 0 && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertEquals(0, h.udp.endpointCount());
    }

    @Test
    void flowsBeyondTheLimitAreDroppedAndCountedOnTheirOwnAndTheLimitChangesLive() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        UdpForwarder f = new UdpForwarder(req -> {
            req.createEndpoint();
            try {
                release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, 2);
        h.udp.setForwarder(f);
        assertEquals(Delivery.DELIVERED, h.deliver(CLIENT, SELF, UdpHarness.datagram(CLIENT, 1, SELF, 53, text("a"))));
        assertEquals(Delivery.DELIVERED, h.deliver(CLIENT, SELF, UdpHarness.datagram(CLIENT, 2, SELF, 53, text("b"))));
        assertEquals(Delivery.DROPPED, h.deliver(CLIENT, SELF, UdpHarness.datagram(CLIENT, 3, SELF, 53, text("c"))));
        assertEquals(1, f.droppedMaxFlows());
        assertEquals(2, f.openFlows());
        assertEquals(0, h.stats.udp.receiveBufferErrors.value(), "a flow over the limit is not a receive-buffer error");
        // Datagrams of flows already open still arrive.
        assertEquals(Delivery.DELIVERED, h.deliver(CLIENT, SELF, UdpHarness.datagram(CLIENT, 1, SELF, 53, text("a2"))));

        f.setMaxFlows(3);
        assertEquals(Delivery.DELIVERED, h.deliver(CLIENT, SELF, UdpHarness.datagram(CLIENT, 3, SELF, 53, text("c"))));
        f.setMaxFlows(1);
        assertEquals(3, f.openFlows(), "lowering the limit ends no open flow");
        assertEquals(Delivery.DROPPED, h.deliver(CLIENT, SELF, UdpHarness.datagram(CLIENT, 4, SELF, 53, text("d"))));
        assertEquals(2, f.droppedMaxFlows());
        release.countDown();
        long deadline = System.nanoTime() + 5 * SECOND;
        while (f.openFlows() != 0 && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertEquals(0, f.openFlows(), "a flow leaves the count when its handler returns");
    }

    @Test
    void receivedDatagramsComeFromAndReturnToThePool() throws Exception {
        UdpEndpoint ep = h.udp.bind(SELF, 9);
        byte[] d = UdpHarness.datagram(CLIENT, 1, SELF, 9, new byte[100]);
        byte[] buf = new byte[200];
        for (int i = 0; i < 50; i++) {
            h.deliver(CLIENT, SELF, d);
            ep.receive(buf, 0, buf.length, SECOND, null);
        }
        assertArrayEquals(new byte[100], java.util.Arrays.copyOf(buf, 100));
        assertTrue(h.pool.allocations() <= 1, "pool allocated " + h.pool.allocations() + " buffers for 50 sequential datagrams");
    }
}
