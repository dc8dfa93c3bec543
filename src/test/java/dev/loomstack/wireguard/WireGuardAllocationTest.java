package dev.loomstack.wireguard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.packet.IpPrefix;
import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.testing.Await;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import org.junit.jupiter.api.Test;

/**
 * What the data path allocates per packet once warm, over real UDP sockets on loopback: A sends
 * datagrams to B, whose dispatcher echoes each back from its delivery thread; the JVM's per-thread
 * allocation counters are read on every thread that carries a packet (both links' readers,
 * deliverers, senders, crypto workers and timer threads, and the writing test thread).
 *
 * <p>The JDK's ChaCha20-Poly1305 allocates inside every {@code Cipher.init} (a new engine, a fresh
 * Poly1305 and copies of key and nonce) and {@code doFinal}; no public API avoids that. The test
 * measures that cost on its own thread first, and asserts the link adds at most a few bytes per
 * packet to it: everything else on the path is preallocated.
 */
class WireGuardAllocationTest {
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    private static final int PAYLOAD = 1000;
    private static final int ROUND = 20_000;
    private static final int IN_FLIGHT = 32;
    /** What the link may add per round trip beyond the JDK cipher: a stray object now and then, far below one copied packet (over 1 KB). */
    private static final double MAX_EXTRA_BYTES_PER_ROUND_TRIP = 256;

    @Test
    void theDataPathAllocatesNothingPerPacketBeyondTheJdkCipher() throws Exception {
        PacketBufferPool poolA = PacketBufferPool.forMtu(1280, 512);
        PacketBufferPool poolB = PacketBufferPool.forMtu(1280, 512);
        StaticIdentity idA = StaticIdentity.generate();
        StaticIdentity idB = StaticIdentity.generate();
        InetAddress lo = InetAddress.getLoopbackAddress();
        try (WireGuardLink a = WireGuardLink.open(new WireGuardSettings(idA.privateKey(), new InetSocketAddress(lo, 0), 1280), poolA);
                WireGuardLink b = WireGuardLink.open(new WireGuardSettings(idB.privateKey(), new InetSocketAddress(lo, 0), 1280), poolB)) {
            AtomicLong echoes = new AtomicLong();
            WireGuardLink[] bSelf = {b};
            a.start(p -> echoes.incrementAndGet());
            b.start(p -> {
                // Echo: the same datagram with the addresses swapped (the IPv4 header sum is unchanged).
                PacketBuffer r = poolB.acquire();
                int len = p.length();
                int at = r.append(len);
                byte[] out = r.array();
                System.arraycopy(p.array(), p.start(), out, at, len);
                System.arraycopy(p.array(), p.start() + 16, out, at + 12, 4);
                System.arraycopy(p.array(), p.start() + 12, out, at + 16, 4);
                bSelf[0].writePacket(r);
            });
            a.configure(List.of(new WireGuardPeerConfig(idB.publicKey(), Optional.empty(),
                    Optional.of(new InetSocketAddress(lo, b.listenPort())), List.of(IpPrefix.host(WireGuardPair.B4)), Duration.ZERO)));
            b.configure(List.of(new WireGuardPeerConfig(idA.publicKey(), Optional.empty(),
                    Optional.of(new InetSocketAddress(lo, a.listenPort())), List.of(IpPrefix.host(WireGuardPair.A4)), Duration.ZERO)));
            byte[] packet = WireGuardPair.udp4(WireGuardPair.A4, WireGuardPair.B4, WireGuardPair.payload(PAYLOAD, 1));
            List<Thread> threads = new ArrayList<>();
            threads.addAll(a.packetThreads());
            threads.addAll(b.packetThreads());
            for (Thread t : Thread.getAllStackTraces().keySet()) {
                if (t.getName().equals("wireguard-" + a.listenPort() + "-timers")
                        || t.getName().equals("wireguard-" + b.listenPort() + "-timers")) {
                    threads.add(t);
                }
            }
            long[] ids = threads.stream().mapToLong(Thread::threadId).toArray();
            double cipherPerRoundTrip = 2 * cipherCostPerPacket(PAYLOAD + 28);
            double[] perRoundTrip = new double[4];
            for (int round = 0; round < perRoundTrip.length; round++) {
                long threadsBefore = sum(THREADS.getThreadAllocatedBytes(ids));
                long selfBefore = THREADS.getCurrentThreadAllocatedBytes();
                long start = echoes.get();
                pump(a, poolA, packet, echoes, ROUND);
                long selfAllocated = THREADS.getCurrentThreadAllocatedBytes() - selfBefore;
                long threadsAllocated = sum(THREADS.getThreadAllocatedBytes(ids)) - threadsBefore;
                long trips = echoes.get() - start;
                perRoundTrip[round] = (double) (threadsAllocated + selfAllocated) / trips;
                System.out.printf("round %d: %d round trips of a %d-byte packet, %d bytes allocated on the link threads and"
                        + " %d on the writer: %.1f bytes per round trip (2 encryptions, 2 decryptions); the JDK cipher alone"
                        + " allocates %.1f for those; pool allocations A %d B %d%n", round, trips, packet.length,
                        threadsAllocated, selfAllocated, perRoundTrip[round], cipherPerRoundTrip, poolA.allocations(),
                        poolB.allocations());
            }
            double last = perRoundTrip[perRoundTrip.length - 1];
            assertTrue(last <= cipherPerRoundTrip + MAX_EXTRA_BYTES_PER_ROUND_TRIP,
                    last + " bytes per round trip; the JDK cipher accounts for " + cipherPerRoundTrip);
            assertEquals(0, a.wireGuardStats().packetsInvalid.value() + b.wireGuardStats().packetsInvalid.value());
        }
    }

    /** Sends {@code count} packets with at most {@link #IN_FLIGHT} unanswered, and waits for every echo. */
    private static void pump(WireGuardLink a, PacketBufferPool pool, byte[] packet, AtomicLong echoes, int count) {
        long base = echoes.get();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        for (int sent = 0; sent < count; sent++) {
            while (sent - (echoes.get() - base) >= IN_FLIGHT) {
                if (System.nanoTime() - deadline > 0) {
                    throw new AssertionError("echoes stalled at " + (echoes.get() - base) + " of " + sent);
                }
                LockSupport.parkNanos(20_000);
            }
            PacketBuffer p = pool.acquire();
            int at = p.append(packet.length);
            System.arraycopy(packet, 0, p.array(), at, packet.length);
            a.writePacket(p);
        }
        Await.until(Duration.ofSeconds(30), "every echo back", () -> echoes.get() - base >= count);
    }

    /** Bytes the JDK's ChaCha20-Poly1305 allocates for one encryption plus one decryption of {@code len} bytes. */
    private static double cipherCostPerPacket(int len) throws Exception {
        Cipher enc = Cipher.getInstance("ChaCha20-Poly1305");
        Cipher dec = Cipher.getInstance("ChaCha20-Poly1305");
        TransportKey key = new TransportKey(new byte[32]);
        byte[] nonce = new byte[12];
        byte[] buf = new byte[len + 64];
        byte[] out = new byte[len + 64];
        int n = 20_000;
        long before = 0;
        for (int i = 0; i < 2 * n; i++) {
            if (i == n) {
                before = THREADS.getCurrentThreadAllocatedBytes();
            }
            MessageLayout.nonce(nonce, i);
            enc.init(Cipher.ENCRYPT_MODE, key, new IvParameterSpec(nonce));
            int c = enc.doFinal(buf, 16, len, buf, 16);
            dec.init(Cipher.DECRYPT_MODE, key, new IvParameterSpec(nonce));
            dec.doFinal(buf, 16, c, out, 0);
        }
        return (double) (THREADS.getCurrentThreadAllocatedBytes() - before) / n;
    }

    private static long sum(long[] values) {
        long s = 0;
        for (long v : values) {
            s += v;
        }
        return s;
    }

}
