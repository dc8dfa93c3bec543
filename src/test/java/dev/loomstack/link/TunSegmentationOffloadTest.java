package dev.loomstack.link;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.packet.Bytes;
import dev.loomstack.packet.Checksum;
import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.Ipv4Header;
import dev.loomstack.packet.Ipv6Header;
import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.packet.TcpHeader;
import dev.loomstack.packet.UdpHeader;
import dev.loomstack.testing.Await;
import dev.loomstack.testing.Cmd;
import dev.loomstack.testing.NetNs;
import dev.loomstack.testing.Privileges;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Super-segments written to a TUN with offload, taken by the Linux kernel: cut by it when it
 * forwards them (each segment read back from a second TUN without offload, whose kernel had to
 * complete every checksum in software from the partial one we wrote), and taken by a local socket.
 *
 * <pre>
 *   link "gso" (offload) ──▶ namespace: forwards ──▶ link "plain" (no offload)
 *   100.64.0.1                100.64.0.2             100.64.9.0/24, fd7a:115c:a1e0:9::/64
 * </pre>
 */
class TunSegmentationOffloadTest {
    private static final int HEADROOM = PacketBufferPool.DEFAULT_HEADROOM;
    private static final IpAddress LOOMSTACK_V4 = IpAddress.parse("100.64.0.1");
    private static final IpAddress CLIENT_V4 = IpAddress.parse("100.64.0.2");
    private static final IpAddress FAR_V4 = IpAddress.parse("100.64.9.2");
    private static final IpAddress LOOMSTACK_V6 = IpAddress.parse("fd7a:115c:a1e0::1");
    private static final IpAddress FAR_V6 = IpAddress.parse("fd7a:115c:a1e0:9::2");
    private static final int SEGMENT = 1000;
    /** Ten full segments and a short one. */
    private static final int PAYLOAD = 10 * SEGMENT + 345;

    private final PacketBufferPool pool = PacketBufferPool.forMtu(1280, 64);
    private final LinkedBlockingQueue<byte[]> forwarded = new LinkedBlockingQueue<>();
    private NetNs ns;
    private TunLink gso;
    private TunLink plain;

    @BeforeEach
    void twoDevicesAndARouterBetweenThem() {
        Privileges.assumeRootAndTun();
        ns = NetNs.create();
        String gsoDev = NetNs.uniqueDeviceName("lsgso");
        String plainDev = NetNs.uniqueDeviceName("lsplain");
        gso = TunLink.open(gsoDev, 1280, pool, true);
        plain = TunLink.open(plainDev, 1280, pool, false);
        gso.start(p -> {});
        plain.start(p -> forwarded.add(p.toByteArray()));
        ns.adopt(gsoDev);
        ns.adopt(plainDev);
        ns.exec("sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1",
                "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0").check();
        for (String dev : List.of(gsoDev, plainDev)) {
            ns.exec("ip", "link", "set", dev, "up").check();
        }
        ns.exec("ip", "addr", "add", "100.64.0.2/32", "dev", gsoDev).check();
        ns.exec("ip", "route", "add", "100.64.0.0/24", "dev", gsoDev).check();
        ns.exec("ip", "route", "add", "100.64.9.0/24", "dev", plainDev).check();
        ns.exec("ip", "-6", "addr", "add", "fd7a:115c:a1e0::2/128", "dev", gsoDev, "nodad").check();
        ns.exec("ip", "-6", "route", "add", "fd7a:115c:a1e0::/64", "dev", gsoDev).check();
        ns.exec("ip", "-6", "route", "add", "fd7a:115c:a1e0:9::/64", "dev", plainDev).check();
    }

    @AfterEach
    void cleanUp() {
        if (gso != null) {
            gso.close();
        }
        if (plain != null) {
            plain.close();
        }
        if (ns != null) {
            ns.close();
        }
    }

    private static byte[] pattern(int n, int seed) {
        byte[] p = new byte[n];
        for (int i = 0; i < n; i++) {
            p[i] = (byte) (i * 31 + seed);
        }
        return p;
    }

    /**
     * A TCP super-segment as the stack would hand it to the link: IP header for the whole packet,
     * checksum field = pseudo-header sum over the whole TCP length, not complemented.
     */
    private static PacketBuffer tcpSuperSegment(IpAddress src, IpAddress dst, int seq, byte[] payload) {
        boolean v6 = dst.isV6();
        int ip = v6 ? Ipv6Header.LENGTH : Ipv4Header.MIN_LENGTH;
        int tcpLength = TcpHeader.MIN_LENGTH + payload.length;
        PacketBuffer p = PacketBuffer.unpooled(HEADROOM + ip + tcpLength).reset(HEADROOM);
        int at = p.append(ip + tcpLength);
        byte[] b = p.array();
        if (v6) {
            Ipv6Header.write(b, at, tcpLength, TcpHeader.PROTOCOL, 64, src, dst);
        } else {
            Ipv4Header.write(b, at, ip + tcpLength, 7, Ipv4Header.FLAG_DONT_FRAGMENT, 64, TcpHeader.PROTOCOL, src, dst);
        }
        TcpHeader.write(b, at + ip, 40000, 5001, seq, 1, TcpHeader.MIN_LENGTH, TcpHeader.ACK | TcpHeader.PSH, 512);
        System.arraycopy(payload, 0, b, at + ip + TcpHeader.MIN_LENGTH, payload.length);
        Bytes.put16(b, at + ip + 16, Checksum.fold(Checksum.pseudoHeader(src, dst, TcpHeader.PROTOCOL, tcpLength)));
        return p.segmentSize(SEGMENT).checksumPartial(true);
    }

    private static PacketBuffer udpSuperDatagram(IpAddress src, IpAddress dst, int port, byte[] payload) {
        int udpLength = UdpHeader.LENGTH + payload.length;
        int ip = Ipv4Header.MIN_LENGTH;
        PacketBuffer p = PacketBuffer.unpooled(HEADROOM + ip + udpLength).reset(HEADROOM);
        int at = p.append(ip + udpLength);
        byte[] b = p.array();
        Ipv4Header.write(b, at, ip + udpLength, 9, 0, 64, UdpHeader.PROTOCOL, src, dst);
        Bytes.put16(b, at + ip, 40001);
        Bytes.put16(b, at + ip + 2, port);
        Bytes.put16(b, at + ip + 4, udpLength);
        System.arraycopy(payload, 0, b, at + ip + UdpHeader.LENGTH, payload.length);
        Bytes.put16(b, at + ip + 6, Checksum.fold(Checksum.pseudoHeader(src, dst, UdpHeader.PROTOCOL, udpLength)));
        return p.segmentSize(SEGMENT).checksumPartial(true);
    }

    /** The packets the far link reads until {@code n} have come, in order. */
    private List<byte[]> forwardedPackets(int n) throws InterruptedException {
        List<byte[]> got = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (got.size() < n) {
            byte[] p = forwarded.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            assertNotNull(p, "only " + got.size() + " of " + n + " segments came out of the router");
            // Router solicitations and the like of the namespace's own making are not ours.
            int proto = (p[0] >>> 4) == 4 ? p[9] : p[6];
            if (proto == TcpHeader.PROTOCOL || proto == UdpHeader.PROTOCOL) {
                got.add(p);
            }
        }
        return got;
    }

    private void assertTcpSegmentsCutFrom(IpAddress src, IpAddress dst) throws InterruptedException {
        byte[] payload = pattern(PAYLOAD, dst.isV6() ? 6 : 4);
        int seq = 0x10000000;
        assertTrue(gso.writePacket(tcpSuperSegment(src, dst, seq, payload)));
        int segments = (PAYLOAD + SEGMENT - 1) / SEGMENT;
        List<byte[]> got = forwardedPackets(segments);
        for (int k = 0; k < segments; k++) {
            byte[] p = got.get(k);
            boolean v6 = (p[0] >>> 4) == 6;
            int ip = v6 ? Ipv6Header.LENGTH : (p[0] & 0x0f) * 4;
            int chunk = Math.min(SEGMENT, PAYLOAD - k * SEGMENT);
            assertEquals(ip + TcpHeader.MIN_LENGTH + chunk, p.length, "segment " + k);
            if (v6) {
                assertEquals(TcpHeader.MIN_LENGTH + chunk, Bytes.u16(p, 4), "IPv6 payload length of segment " + k);
            } else {
                assertEquals(p.length, Bytes.u16(p, 2), "IPv4 total length of segment " + k);
                assertEquals(0, Checksum.compute(p, 0, ip), "IPv4 header checksum of segment " + k);
            }
            int tcpLength = p.length - ip;
            long pseudo = v6 ? Checksum.pseudoHeader(p, 8, 24, 16, TcpHeader.PROTOCOL, tcpLength)
                    : Checksum.pseudoHeader(p, 12, 16, 4, TcpHeader.PROTOCOL, tcpLength);
            assertTrue(Checksum.verifies(Checksum.add(pseudo, p, ip, tcpLength)),
                    "TCP checksum the kernel completed from ours, segment " + k);
            assertEquals(seq + k * SEGMENT, TcpHeader.sequence(p, ip), "sequence number of segment " + k);
            byte[] data = java.util.Arrays.copyOfRange(p, ip + TcpHeader.MIN_LENGTH, p.length);
            assertArrayEquals(java.util.Arrays.copyOfRange(payload, k * SEGMENT, k * SEGMENT + chunk), data,
                    "payload of segment " + k);
        }
        // Counted once the write returns, which may be after the forwarded segments were read.
        Await.until(Duration.ofSeconds(5), "the super-segment counted", () -> gso.stats().gsoSegmentsWritten.sum() == 1);
        assertEquals(0, gso.stats().writeErrors.sum());
    }

    @Test
    void tcpSuperSegmentOverIpv4IsCutByTheKernelWithItsChecksumsCompleted() throws InterruptedException {
        assertTrue(gso.maxOffloadSize() >= 65535, gso.offloads().toString());
        assertEquals(0, plain.maxOffloadSize());
        assertTcpSegmentsCutFrom(LOOMSTACK_V4, FAR_V4);
    }

    @Test
    void tcpSuperSegmentOverIpv6IsCutByTheKernelWithItsChecksumsCompleted() throws InterruptedException {
        assertTcpSegmentsCutFrom(LOOMSTACK_V6, FAR_V6);
    }

    @Test
    void udpSuperDatagramIsCutIntoDatagramsWithTheirChecksums() throws InterruptedException {
        Assumptions.assumeTrue(gso.offloads().udpSegmentation(), "the kernel refused USO: " + gso.offloads());
        byte[] payload = pattern(PAYLOAD, 17);
        assertTrue(gso.writePacket(udpSuperDatagram(LOOMSTACK_V4, FAR_V4, 5002, payload)));
        int datagrams = (PAYLOAD + SEGMENT - 1) / SEGMENT;
        List<byte[]> got = forwardedPackets(datagrams);
        for (int k = 0; k < datagrams; k++) {
            byte[] p = got.get(k);
            int chunk = Math.min(SEGMENT, PAYLOAD - k * SEGMENT);
            int udpLength = UdpHeader.LENGTH + chunk;
            assertEquals(Ipv4Header.MIN_LENGTH + udpLength, p.length, "datagram " + k);
            assertEquals(udpLength, UdpHeader.length(p, Ipv4Header.MIN_LENGTH));
            long pseudo = Checksum.pseudoHeader(p, 12, 16, 4, UdpHeader.PROTOCOL, udpLength);
            assertTrue(Checksum.verifies(Checksum.add(pseudo, p, Ipv4Header.MIN_LENGTH, udpLength)),
                    "UDP checksum of datagram " + k);
            assertArrayEquals(java.util.Arrays.copyOfRange(payload, k * SEGMENT, k * SEGMENT + chunk),
                    java.util.Arrays.copyOfRange(p, Ipv4Header.MIN_LENGTH + UdpHeader.LENGTH, p.length));
        }
    }

    /** A local UDP socket of the kernel gets the datagrams a super-datagram stands for, intact. */
    @Test
    void udpSuperDatagramReachesAKernelSocketAsItsDatagrams() throws Exception {
        Assumptions.assumeTrue(gso.offloads().udpSegmentation(), "the kernel refused USO: " + gso.offloads());
        int datagrams = (PAYLOAD + SEGMENT - 1) / SEGMENT;
        String script = """
                import socket, hashlib, sys
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.bind(("100.64.0.2", 5003))
                s.settimeout(10)
                print("bound", flush=True)
                h = hashlib.sha256(); sizes = []
                for _ in range(%d):
                    d = s.recv(65535)
                    sizes.append(len(d)); h.update(d)
                print(",".join(map(str, sizes)), h.hexdigest(), flush=True)
                """.formatted(datagrams);
        Process p = new ProcessBuilder("ip", "netns", "exec", ns.name(), "python3", "-c", script)
                .redirectErrorStream(true).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            assertEquals("bound", out.readLine());
            byte[] payload = pattern(PAYLOAD, 23);
            assertTrue(gso.writePacket(udpSuperDatagram(LOOMSTACK_V4, CLIENT_V4, 5003, payload)));
            String line = out.readLine();
            assertNotNull(line);
            List<String> sizes = new ArrayList<>();
            for (int k = 0; k < datagrams; k++) {
                sizes.add(String.valueOf(Math.min(SEGMENT, PAYLOAD - k * SEGMENT)));
            }
            String digest = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(payload));
            assertEquals(String.join(",", sizes) + " " + digest, line.strip());
            assertTrue(p.waitFor(10, TimeUnit.SECONDS));
        } finally {
            p.destroyForcibly();
        }
        Await.until(Duration.ofSeconds(5), "written", () -> gso.stats().gsoSegmentsWritten.sum() == 1);
    }

    /** Without offload the link refuses what it cannot describe: counted, never written half-done. */
    @Test
    void aLinkWithoutOffloadDropsSuperSegmentsCounted() {
        assertEquals(TunOffloads.NONE, plain.offloads());
        long dropped = plain.stats().dropped.sum();
        long written = plain.stats().packetsWritten.sum();
        assertTrue(plain.writePacket(tcpSuperSegment(LOOMSTACK_V4, CLIENT_V4, 1, pattern(3000, 1))));
        Await.until(Duration.ofSeconds(5), "dropped", () -> plain.stats().dropped.sum() == dropped + 1);
        assertEquals(written, plain.stats().packetsWritten.sum());
        assertEquals(0, plain.stats().writeErrors.sum());
    }
}
