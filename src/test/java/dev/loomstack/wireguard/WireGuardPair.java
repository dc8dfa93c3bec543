package dev.loomstack.wireguard;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.loomstack.link.NetworkDispatcher;
import dev.loomstack.packet.Checksum;
import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.IpPrefix;
import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.stack.ManualClock;
import dev.loomstack.stack.ManualTimerService;
import dev.loomstack.stack.TimerService;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Two WireGuard links A and B on an in-memory UDP network, each peer of the other, with a shared
 * manual clock (timers fire only when a test advances it) and capture dispatchers that keep a copy
 * of every packet delivered. A is 100.64.0.1 / fd7a:115c:a1e0::1, B .2 / ::2.
 */
final class WireGuardPair implements AutoCloseable {
    static final int MTU = 1280;
    static final IpAddress A4 = IpAddress.parse("100.64.0.1");
    static final IpAddress B4 = IpAddress.parse("100.64.0.2");
    static final IpAddress A6 = IpAddress.parse("fd7a:115c:a1e0::1");
    static final IpAddress B6 = IpAddress.parse("fd7a:115c:a1e0::2");
    static final InetSocketAddress A_UDP = udp("198.18.0.1", 51820);
    static final InetSocketAddress B_UDP = udp("198.18.0.2", 51820);
    static final Duration WAIT = Duration.ofSeconds(10);

    final MemoryUdpNetwork net = new MemoryUdpNetwork();
    final ManualTimerService timers = new ManualTimerService(new ManualClock(TimeUnit.SECONDS.toNanos(1000)));
    final java.time.Clock wall = new ManualWallClock(timers.clock());
    final StaticIdentity idA = StaticIdentity.generate();
    final StaticIdentity idB = StaticIdentity.generate();
    final MemoryUdpNetwork.Socket sockA = net.bind(A_UDP);
    final MemoryUdpNetwork.Socket sockB = net.bind(B_UDP);
    final WireGuardLink a;
    final WireGuardLink b;
    final LinkedBlockingQueue<byte[]> atA = new LinkedBlockingQueue<>();
    final LinkedBlockingQueue<byte[]> atB = new LinkedBlockingQueue<>();

    WireGuardPair() {
        this(Duration.ZERO);
    }

    /** A's peer B has {@code keepaliveOfB} as persistent keepalive. */
    WireGuardPair(Duration keepaliveOfB) {
        a = WireGuardLink.open(settings(idA), sockA, timers, wall);
        b = WireGuardLink.open(settings(idB), sockB, timers, wall);
        a.start(capture(atA));
        b.start(capture(atB));
        // B first: A may start a handshake at once (a persistent keepalive), and B must know A by then.
        b.configure(List.of(peerA()));
        a.configure(List.of(peerB(keepaliveOfB)));
    }

    static WireGuardSettings settings(StaticIdentity id) {
        return new WireGuardSettings(id.privateKey(), new InetSocketAddress(0), MTU);
    }

    WireGuardPeerConfig peerB(Duration keepalive) {
        return new WireGuardPeerConfig(idB.publicKey(), Optional.empty(), Optional.of(B_UDP),
                List.of(IpPrefix.host(B4), IpPrefix.host(B6)), keepalive);
    }

    WireGuardPeerConfig peerA() {
        return new WireGuardPeerConfig(idA.publicKey(), Optional.empty(), Optional.of(A_UDP),
                List.of(IpPrefix.host(A4), IpPrefix.host(A6)), Duration.ZERO);
    }

    static NetworkDispatcher capture(LinkedBlockingQueue<byte[]> into) {
        return p -> into.add(p.toByteArray());
    }

    static InetSocketAddress udp(String host, int port) {
        try {
            return new InetSocketAddress(InetAddress.getByName(host), port);
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    /** The next packet delivered to {@code q}, within {@link #WAIT}. */
    static byte[] next(LinkedBlockingQueue<byte[]> q) {
        try {
            byte[] p = q.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            assertNotNull(p, "no packet delivered within " + WAIT);
            return p;
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    void advance(Duration d) {
        timers.advance(d);
    }

    /** Sends {@code packet} through {@code from} and returns what the other side delivered. */
    static void write(WireGuardLink from, byte[] packet) {
        from.writePacket(PacketBuffer.copyOf(packet, PacketBufferPool.DEFAULT_HEADROOM));
    }

    /** An IPv4 UDP datagram (header checksum right, UDP checksum 0) carrying {@code payload}. */
    static byte[] udp4(IpAddress src, IpAddress dst, byte[] payload) {
        int len = 28 + payload.length;
        byte[] p = new byte[len];
        p[0] = 0x45;
        p[2] = (byte) (len >>> 8);
        p[3] = (byte) len;
        p[8] = 64;
        p[9] = 17;
        System.arraycopy(src.toBytes(), 0, p, 12, 4);
        System.arraycopy(dst.toBytes(), 0, p, 16, 4);
        int sum = Checksum.compute(p, 0, 20);
        p[10] = (byte) (sum >>> 8);
        p[11] = (byte) sum;
        p[20] = 0x30;
        p[21] = 0x39;
        p[22] = 0x00;
        p[23] = 0x35;
        p[24] = (byte) ((8 + payload.length) >>> 8);
        p[25] = (byte) (8 + payload.length);
        System.arraycopy(payload, 0, p, 28, payload.length);
        return p;
    }

    /** An IPv6 UDP datagram carrying {@code payload} (checksum left 0: the capture does not look). */
    static byte[] udp6(IpAddress src, IpAddress dst, byte[] payload) {
        int udpLen = 8 + payload.length;
        byte[] p = new byte[40 + udpLen];
        p[0] = 0x60;
        p[4] = (byte) (udpLen >>> 8);
        p[5] = (byte) udpLen;
        p[6] = 17;
        p[7] = 64;
        System.arraycopy(src.toBytes(), 0, p, 8, 16);
        System.arraycopy(dst.toBytes(), 0, p, 24, 16);
        p[40] = 0x30;
        p[41] = 0x39;
        p[43] = 0x35;
        p[44] = (byte) (udpLen >>> 8);
        p[45] = (byte) udpLen;
        System.arraycopy(payload, 0, p, 48, payload.length);
        return p;
    }

    static byte[] payload(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 31 + seed);
        }
        return b;
    }

    /** Brings the session up (A initiates) and checks one packet each way. */
    void establish() {
        byte[] p = udp4(A4, B4, payload(100, 1));
        write(a, p);
        org.junit.jupiter.api.Assertions.assertArrayEquals(p, next(atB));
        byte[] q = udp4(B4, A4, payload(100, 2));
        write(b, q);
        org.junit.jupiter.api.Assertions.assertArrayEquals(q, next(atA));
    }

    Peer peerOfA() {
        return a.peer(idB.publicKey());
    }

    Peer peerOfB() {
        return b.peer(idA.publicKey());
    }

    @Override
    public void close() {
        a.close();
        b.close();
    }

    /** Wall time that moves with the manual monotonic clock (handshake timestamps must grow with it). */
    static final class ManualWallClock extends java.time.Clock {
        private static final Instant BASE = Instant.parse("2026-01-01T00:00:00Z");
        private final ManualClock clock;

        ManualWallClock(ManualClock clock) {
            this.clock = clock;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public java.time.Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return BASE.plusNanos(clock.nanoTime());
        }
    }

}
