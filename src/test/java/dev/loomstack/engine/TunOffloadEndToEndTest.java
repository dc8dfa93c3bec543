package dev.loomstack.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.link.LinkEndpoint;
import dev.loomstack.link.LinkStats;
import dev.loomstack.link.NetworkDispatcher;
import dev.loomstack.link.TunLink;
import dev.loomstack.link.TunOffloads;
import dev.loomstack.packet.Bytes;
import dev.loomstack.packet.Checksum;
import dev.loomstack.packet.IpPrefix;
import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.packet.TcpHeader;
import dev.loomstack.testing.Cmd;
import dev.loomstack.testing.NetNs;
import dev.loomstack.testing.Privileges;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * TCP between the kernel and Loomstack over a TUN with offload on and off: a kernel client in a
 * namespace uploads to and downloads from a server behind Loomstack, over IPv4 and IPv6, and
 * every byte arrives. With offload on, the kernel's super-segments (GSO) are taken whole: the
 * counter moves, and each one's IP header (lengths, IPv4 header checksum) describes the whole
 * packet, its TCP checksum field the pseudo-header sum over the whole TCP length. With offload off
 * no super-segment is ever read.
 */
class TunOffloadEndToEndTest {
    private static final int SIZE = 64 << 20;

    @ParameterizedTest(name = "offload {0}")
    @ValueSource(booleans = {true, false})
    void kernelTransfersBothWaysAreByteExactWithAndWithoutOffload(boolean offload) throws Exception {
        Privileges.assumeRootAndTun();
        String dev = NetNs.uniqueDeviceName("lsoff");
        try (NetNs client = NetNs.create();
             TunLink tun = TunLink.open(dev, 1280, PacketBufferPool.forMtu(1280, 64), offload);
             SuperSegmentCheck check = new SuperSegmentCheck(tun);
             Netstack netstack = Netstack.create(check, Netstack.Options.defaults(
                     List.of(IpPrefix.parse("100.64.0.1/32"), IpPrefix.parse("fd7a:115c:a1e0::1/128"))));
             ServerSocket server = new ServerSocket(0, 16, InetAddress.getLoopbackAddress())) {
            netstack.start();
            client.adoptAsTailnetClient(dev);
            assertEquals(offload, tun.offloads().tcpSegmentation(), tun.offloads().toString());
            if (!offload) {
                assertEquals(TunOffloads.NONE, tun.offloads());
            }
            Thread.ofVirtual().start(() -> serve(server));
            sentDigest.set(null);
            for (String host : List.of("100.64.0.1", "fd7a:115c:a1e0::1")) {
                String up = transfer(client, host, server.getLocalPort(), "up");
                assertEquals(up.split(" ")[0], up.split(" ")[1], "upload over " + host + ": sent vs received digest");
                String down = transfer(client, host, server.getLocalPort(), "down");
                assertEquals(sentDigest.get(), down, "download over " + host + ": sent vs received digest");
            }
            LinkStats stats = tun.stats();
            System.out.printf("offload %s (%s): %d packets read, %d of them super-segments; %d written%n", offload,
                    tun.offloads(), stats.packetsRead.sum(), stats.gsoSegmentsRead.sum(), stats.packetsWritten.sum());
            assertNull(check.firstProblem.get());
            if (offload) {
                assertTrue(stats.gsoSegmentsRead.sum() > 0, "the kernel sent super-segments");
                assertEquals(stats.gsoSegmentsRead.sum(), check.superSegments.get());
                assertTrue(stats.gsoSegmentsWritten.sum() > 0, "Loomstack sent super-segments for the kernel to take");
            } else {
                assertEquals(0, stats.gsoSegmentsRead.sum());
                assertEquals(0, check.superSegments.get());
                assertEquals(0, stats.gsoSegmentsWritten.sum());
            }
            assertEquals(0, stats.readErrors.sum());
            assertEquals(0, netstack.stats().tcp.checksumErrors.value());
        }
    }

    /**
     * A peer that cuts its segments itself (here the client kernel with segmentation turned off on
     * its side of the device, as a forwarded or non-offloading sender would be): its MTU-sized
     * segments are merged per flow within each read burst before TCP (receive coalescing), and the
     * upload still arrives byte-exact.
     */
    @Test
    void plainSegmentsOfAPeerThatCutsThemselvesAreCoalescedBeforeTcp() throws Exception {
        Privileges.assumeRootAndTun();
        String dev = NetNs.uniqueDeviceName("lsgro");
        try (NetNs client = NetNs.create();
             TunLink tun = TunLink.open(dev, 1280, PacketBufferPool.forMtu(1280, 64), true);
             Netstack netstack = Netstack.create(tun, Netstack.Options.defaults(
                     List.of(IpPrefix.parse("100.64.0.1/32"), IpPrefix.parse("fd7a:115c:a1e0::1/128"))));
             ServerSocket server = new ServerSocket(0, 16, InetAddress.getLoopbackAddress())) {
            netstack.start();
            client.adoptAsTailnetClient(dev);
            client.exec("ethtool", "-K", dev, "tso", "off", "gso", "off").check();
            Thread.ofVirtual().start(() -> serve(server));
            for (String host : List.of("100.64.0.1", "fd7a:115c:a1e0::1")) {
                String up = transfer(client, host, server.getLocalPort(), "up");
                assertEquals(up.split(" ")[0], up.split(" ")[1], "upload over " + host + ": sent vs received digest");
            }
            LinkStats stats = tun.stats();
            System.out.printf("peer cutting itself: %d packets read, %d merged into another, %d super-segments%n",
                    stats.packetsRead.sum(), stats.packetsCoalesced.sum(), stats.gsoSegmentsRead.sum());
            assertEquals(0, stats.gsoSegmentsRead.sum(), "the peer sent no super-segment");
            assertTrue(stats.packetsCoalesced.sum() > 0, "segments were merged before TCP");
            assertEquals(0, stats.readErrors.sum());
            assertEquals(0, netstack.stats().tcp.checksumErrors.value());
        }
    }

    /**
     * One transfer from the client namespace: "up" sends {@link #SIZE} bytes and prints its digest
     * and the server's; "down" asks for them and prints the digest of what it received.
     */
    private static String transfer(NetNs client, String host, int port, String direction) {
        String script = """
                import socket, hashlib, random
                s = socket.create_connection(("%s", %d), timeout=60)
                size = %d
                if "%s" == "up":
                    s.sendall(b"U")
                    h = hashlib.sha256(); r = random.Random(7); left = size
                    while left > 0:
                        b = r.randbytes(min(left, 1 << 20)); s.sendall(b); h.update(b); left -= len(b)
                    s.shutdown(socket.SHUT_WR)
                    got = b""
                    while True:
                        c = s.recv(100)
                        if not c: break
                        got += c
                    print(h.hexdigest(), got.decode())
                else:
                    s.sendall(b"D")
                    h = hashlib.sha256(); n = 0
                    while True:
                        c = s.recv(1 << 20)
                        if not c: break
                        h.update(c); n += len(c)
                    print(h.hexdigest() if n == size else "short:%%d" %% n)
                """.formatted(host, port, SIZE, direction);
        Cmd.Result r = client.exec(200, "python3", "-c", script);
        assertTrue(r.ok(), r.output());
        return r.output().strip();
    }

    /** The digest of what the server sent for the last "D". */
    private final AtomicReference<String> sentDigest = new AtomicReference<>();

    /** Takes "U" + bytes (answers their digest) or "D" (sends {@link #SIZE} bytes, keeping their digest). */
    private void serve(ServerSocket server) {
        while (!server.isClosed()) {
            Socket s;
            try {
                s = server.accept();
            } catch (IOException e) {
                return;
            }
            Thread.ofVirtual().start(() -> {
                try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
                    int kind = in.read();
                    if (kind == 'U') {
                        MessageDigest md = MessageDigest.getInstance("SHA-256");
                        byte[] buf = new byte[1 << 16];
                        int n;
                        while ((n = in.read(buf)) > 0) {
                            md.update(buf, 0, n);
                        }
                        out.write(HexFormat.of().formatHex(md.digest()).getBytes(StandardCharsets.US_ASCII));
                    } else {
                        MessageDigest md = MessageDigest.getInstance("SHA-256");
                        Random r = new Random(SIZE);
                        byte[] buf = new byte[1 << 16];
                        for (int left = SIZE; left > 0; left -= buf.length) {
                            r.nextBytes(buf);
                            out.write(buf);
                            md.update(buf);
                        }
                        sentDigest.set(HexFormat.of().formatHex(md.digest()));
                    }
                } catch (Exception e) {
                    // The client sees a short transfer and fails the test.
                }
            });
        }
    }

    /**
     * The link between the TUN and the stack, checking each super-segment on its way up: what the
     * kernel puts in it must be what the IP and TCP layers take.
     */
    /**
     * Checks what goes up from the link: the kernel's super-segments (counted) and segments the
     * link's receive coalescing merged (a complete checksum; not counted).
     */
    private static final class SuperSegmentCheck implements LinkEndpoint {
        private static final String COALESCED = "coalesced by the link";
        private final TunLink link;
        final AtomicLong superSegments = new AtomicLong();
        final AtomicReference<String> firstProblem = new AtomicReference<>();

        SuperSegmentCheck(TunLink link) {
            this.link = link;
        }

        @Override
        public void start(NetworkDispatcher dispatcher) {
            link.start(p -> {
                if (p.segmentSize() > 0) {
                    String problem = problem(p);
                    if (problem == null) {
                        superSegments.incrementAndGet();
                    } else if (problem != COALESCED) {
                        firstProblem.compareAndSet(null, problem);
                    }
                }
                dispatcher.deliverNetworkPacket(p);
            });
        }

        private static String problem(PacketBuffer p) {
            byte[] b = p.array();
            int o = p.start();
            int len = p.length();
            boolean v6 = (b[o] & 0xf0) == 0x60;
            int ip = v6 ? 40 : (b[o] & 0x0f) * 4;
            if (!v6 && Bytes.u16(b, o + 2) != len) {
                return "IPv4 total length " + Bytes.u16(b, o + 2) + " for a packet of " + len;
            }
            if (!v6 && Checksum.compute(b, o, ip) != 0) {
                return "IPv4 header checksum invalid on a super-segment";
            }
            if (v6 && Bytes.u16(b, o + 4) != len - 40) {
                return "IPv6 payload length " + Bytes.u16(b, o + 4) + " for a packet of " + len;
            }
            int tcpLength = len - ip;
            if (len <= ip + TcpHeader.headerLength(b, o + ip) + p.segmentSize()) {
                return "a super-segment of one segment: " + len + " bytes, segment size " + p.segmentSize();
            }
            long pseudo = v6 ? Checksum.pseudoHeader(b, o + 8, o + 24, 16, TcpHeader.PROTOCOL, tcpLength)
                    : Checksum.pseudoHeader(b, o + 12, o + 16, 4, TcpHeader.PROTOCOL, tcpLength);
            if (TcpHeader.checksum(b, o + ip) == Checksum.fold(pseudo)) {
                return null;
            }
            // Not the kernel's partial sum: then it is segments the link coalesced, checksum complete.
            if (Checksum.verifies(Checksum.add(pseudo, b, o + ip, tcpLength))) {
                return COALESCED;
            }
            return "TCP checksum field 0x" + Integer.toHexString(TcpHeader.checksum(b, o + ip))
                    + " is neither the pseudo-header sum over the whole length 0x"
                    + Integer.toHexString(Checksum.fold(pseudo)) + " nor a complete checksum";
        }

        @Override
        public int mtu() {
            return link.mtu();
        }

        @Override
        public String name() {
            return link.name();
        }

        @Override
        public boolean writePacket(PacketBuffer packet) {
            return link.writePacket(packet);
        }

        @Override
        public int maxOffloadSize() {
            return link.maxOffloadSize();
        }

        @Override
        public LinkStats stats() {
            return link.stats();
        }

        @Override
        public void onLoss(LossListener listener) {
            link.onLoss(listener);
        }

        @Override
        public boolean isLost() {
            return link.isLost();
        }

        @Override
        public void close() {
            link.close();
        }
    }
}
