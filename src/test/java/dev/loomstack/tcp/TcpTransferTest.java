package dev.loomstack.tcp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.net.TcpConn;
import dev.loomstack.packet.IpAddress;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Two Loomstack TCPs moving data byte-exactly over a simulated, impaired link. */
class TcpTransferTest {
    static final int MIB = 1 << 20;

    /** Sends {@code size} pseudo-random bytes from B to A and compares digests. */
    static void transfer(SimNetwork net, int size, boolean v6) throws Exception {
        IpAddress a = v6 ? SimNetwork.A6 : SimNetwork.A4;
        IpAddress b = v6 ? SimNetwork.B6 : SimNetwork.B4;
        TcpListener listener = net.tcpA.listen(a, 5001, 16);
        AtomicReference<byte[]> sentDigest = new AtomicReference<>();
        AtomicReference<byte[]> receivedDigest = new AtomicReference<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        long[] received = new long[1];
        Thread server = Thread.ofVirtual().start(() -> {
            try (TcpConn c = new TcpConn(listener.accept(0))) {
                MessageDigest md = MessageDigest.getInstance("SHA-256");
                InputStream in = c.getInputStream();
                byte[] buf = new byte[64 * 1024];
                int n;
                while ((n = in.read(buf)) > 0) {
                    md.update(buf, 0, n);
                    received[0] += n;
                }
                receivedDigest.set(md.digest());
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        Thread client = Thread.ofVirtual().start(() -> {
            try {
                TcpEndpoint ep = net.tcpB.connect(b, a, 5001, Duration.ofSeconds(60).toNanos());
                try (TcpConn c = new TcpConn(ep)) {
                    MessageDigest md = MessageDigest.getInstance("SHA-256");
                    OutputStream out = c.getOutputStream();
                    Random r = new Random(size);
                    byte[] buf = new byte[50_000];
                    int left = size;
                    while (left > 0) {
                        int n = Math.min(left, buf.length);
                        r.nextBytes(buf);
                        md.update(buf, 0, n);
                        out.write(buf, 0, n);
                        left -= n;
                    }
                    sentDigest.set(md.digest());
                    c.shutdownOutput();
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        net.runUntil(() -> failure.get() != null || (receivedDigest.get() != null && sentDigest.get() != null),
                Duration.ofHours(2), Duration.ofSeconds(240));
        if (failure.get() != null) {
            throw new AssertionError("transfer failed after " + received[0] + " bytes", failure.get());
        }
        server.join();
        client.join();
        assertEquals(size, received[0]);
        assertArrayEquals(sentDigest.get(), receivedDigest.get());
        System.out.printf("transfer %d bytes v6=%s: %.1f s simulated, retransmits %d, timeouts %d, sack %d, fast %d%n",
                size, v6, net.timers.clock().nanoTime() / 1e9, net.statsB.tcp.retransmits.value(),
                net.statsB.tcp.timeouts.value(), net.statsB.tcp.sackRecovery.value(), net.statsB.tcp.fastRecovery.value());
        listener.close();
    }

    @Test
    void cleanLinkV4() throws Exception {
        try (SimNetwork net = new SimNetwork(SimNetwork.Impair.NONE, 1)) {
            transfer(net, 64 * MIB, false);
            assertEquals(0, net.statsB.tcp.retransmits.value());
        }
    }

    @Test
    void cleanLinkV6() throws Exception {
        try (SimNetwork net = new SimNetwork(SimNetwork.Impair.NONE, 2)) {
            transfer(net, 64 * MIB, true);
        }
    }

    @Test
    void tenPercentLoss() throws Exception {
        try (SimNetwork net = new SimNetwork(new SimNetwork.Impair(0.10, 0, 0, 0), 4)) {
            transfer(net, 64 * MIB, false);
            assertTrue(net.statsB.tcp.retransmits.value() > 0);
            assertTrue(net.statsB.tcp.timeouts.value() > 0, "some retransmissions are lost too: timeouts");
        }
    }

    @Test
    void duplicationReorderingAndCorruption() throws Exception {
        try (SimNetwork net = new SimNetwork(new SimNetwork.Impair(0, 0.01, 0.01, 0.001), 5)) {
            transfer(net, 64 * MIB, true);
            assertTrue(net.linkB.duplicated.sum() > 0 && net.linkB.reordered.sum() > 0 && net.linkB.corrupted.sum() > 0);
            assertTrue(net.statsA.tcp.checksumErrors.value() + net.statsA.ip.malformedPacketsReceived.value() > 0,
                    "corrupted segments are caught by checksums");
        }
    }

    @Test
    void twoPercentLoss() throws Exception {
        try (SimNetwork net = new SimNetwork(new SimNetwork.Impair(0.02, 0, 0, 0), 3)) {
            transfer(net, 64 * MIB, false);
            assertTrue(net.statsB.tcp.retransmits.value() > 0);
            assertTrue(net.statsB.tcp.sackRecovery.value() > 0, "SACK recovery used");
        }
    }
}
