package dev.loomstack.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.loomstack.link.TunLink;
import dev.loomstack.packet.IpPrefix;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.testing.Await;
import dev.loomstack.testing.Cmd;
import dev.loomstack.testing.NetNs;
import dev.loomstack.testing.Privileges;
import dev.loomstack.testing.Progress;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Loomstack's TCP against the Linux kernel through a real TUN: curl in a client namespace talks to
 * 100.64.0.1, the engine forwards each flow to a server on 127.0.0.1. The TUN runs with its
 * offloads (super-segments both ways, receive coalescing); {@link TcpEndToEndWithoutOffloadTest}
 * runs every case again on a plain device.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TcpEndToEndTest {
    static final int BIG = 256 << 20;
    private NetNs client;
    private Netstack netstack;
    private String dev;
    private HttpServer http;
    private int httpPort;
    /** Bytes the HTTP server has written or read: a transfer's progress. */
    private final LongAdder httpBytes = new LongAdder();

    /** Whether the TUN is opened with its offloads ({@code loomstack.tun.offload}). */
    boolean offload() {
        return true;
    }

    @BeforeAll
    void start() throws IOException {
        Privileges.assumeRootAndTun();
        dev = NetNs.uniqueDeviceName("lstcp");
        client = NetNs.create();
        TunLink link = TunLink.open(dev, 1280, PacketBufferPool.forMtu(1280, 16), offload());
        assertEquals(offload(), link.maxOffloadSize() > 0, link.toString());
        netstack = Netstack.create(link, Netstack.Options.defaults(
                List.of(IpPrefix.parse("100.64.0.1/32"), IpPrefix.parse("fd7a:115c:a1e0::1/128"))));
        netstack.start();
        client.adoptAsTailnetClient(dev);

        http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        http.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        http.createContext("/data", ex -> {
            int size = Integer.parseInt(ex.getRequestURI().getQuery().substring("size=".length()));
            ex.sendResponseHeaders(200, size);
            try (OutputStream out = counted(ex.getResponseBody())) {
                writePattern(out, size);
            }
        });
        http.createContext("/upload", ex -> {
            String hex;
            try (InputStream in = ex.getRequestBody()) {
                MessageDigest md = sha256();
                byte[] buf = new byte[64 << 10];
                int n;
                while ((n = in.read(buf)) > 0) {
                    md.update(buf, 0, n);
                    httpBytes.add(n);
                }
                hex = HexFormat.of().formatHex(md.digest());
            }
            byte[] body = hex.getBytes(StandardCharsets.US_ASCII);
            ex.sendResponseHeaders(200, body.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        });
        http.start();
        httpPort = http.getAddress().getPort();
    }

    @AfterAll
    void stop() {
        if (http != null) {
            http.stop(0);
        }
        if (netstack != null) {
            netstack.close();
        }
        if (client != null) {
            client.close();
        }
    }

    private OutputStream counted(OutputStream out) {
        return new FilterOutputStream(out) {
            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                out.write(b, off, len);
                httpBytes.add(len);
            }
        };
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Deterministic bytes: the same size gives the same content on both sides. */
    static void writePattern(OutputStream out, int size) throws IOException {
        Random r = new Random(size);
        byte[] buf = new byte[64 << 10];
        for (int left = size; left > 0; ) {
            int n = Math.min(left, buf.length);
            r.nextBytes(buf);
            out.write(buf, 0, n);
            left -= n;
        }
    }

    static String patternDigest(int size) throws IOException {
        MessageDigest md = sha256();
        writePattern(new OutputStream() {
            @Override
            public void write(int b) {
                md.update((byte) b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                md.update(b, off, len);
            }
        }, size);
        return HexFormat.of().formatHex(md.digest());
    }

    private String host(boolean v6) {
        return v6 ? "[fd7a:115c:a1e0::1]" : "100.64.0.1";
    }

    private void download(NetNs from, String test, boolean v6, int size) throws IOException {
        Cmd.Result r;
        try (Progress p = transferProgress(test + ", download over " + (v6 ? "IPv6" : "IPv4"), size)) {
            r = from.exec(300, "sh", "-c", "curl -sS -g --max-time 280 'http://" + host(v6) + ":" + httpPort
                    + "/data?size=" + size + "' | sha256sum");
        }
        assertTrue(r.ok(), r.output());
        assertEquals(patternDigest(size), r.output().split(" ")[0], r.output());
    }

    private void upload(NetNs from, String test, boolean v6, Path file, String digest) throws IOException {
        Cmd.Result r;
        try (Progress p = transferProgress(test + ", upload over " + (v6 ? "IPv6" : "IPv4"), Files.size(file))) {
            r = from.exec(300, "curl", "-sS", "-g", "--max-time", "280", "--data-binary", "@" + file,
                    "http://" + host(v6) + ":" + httpPort + "/upload");
        }
        assertTrue(r.ok(), r.output());
        assertEquals(digest, r.output().strip());
    }

    private Progress transferProgress(String what, long size) {
        long before = httpBytes.sum();
        return Progress.ofBytes(getClass().getSimpleName() + ": " + what, size, () -> httpBytes.sum() - before);
    }

    /**
     * A namespace's TCP counters: {@code Tcp:} of /proc/net/snmp and {@code TcpExt:} of
     * /proc/net/netstat (both count IPv4 and IPv6).
     */
    private static Map<String, Long> kernelTcpCounters(NetNs ns) {
        Map<String, Long> counters = new HashMap<>();
        for (String file : List.of("/proc/net/snmp", "/proc/net/netstat")) {
            List<String> lines = ns.exec("cat", file).check().output().lines().toList();
            // Each group is a line of names followed by a line of values, both starting "Group:".
            for (int i = 0; i + 1 < lines.size(); i += 2) {
                String[] names = lines.get(i).split("\\s+");
                String[] values = lines.get(i + 1).split("\\s+");
                if (names[0].equals("Tcp:") || names[0].equals("TcpExt:")) {
                    for (int k = 1; k < Math.min(names.length, values.length); k++) {
                        counters.put(names[k], Long.parseLong(values[k]));
                    }
                }
            }
        }
        return counters;
    }

    private static String randomFile(Path f, int size) throws IOException {
        MessageDigest md = sha256();
        Random r = new Random(42);
        byte[] buf = new byte[1 << 20];
        try (OutputStream out = Files.newOutputStream(f)) {
            for (int left = size; left > 0; left -= buf.length) {
                r.nextBytes(buf);
                int n = Math.min(left, buf.length);
                out.write(buf, 0, n);
                md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    @Test
    void curlDownloadsAndUploadsByteExactlyOverV4AndV6(@TempDir Path tmp) throws IOException {
        download(client, "clean link", false, BIG);
        download(client, "clean link", true, BIG);
        Path file = tmp.resolve("upload.bin");
        String digest = randomFile(file, BIG);
        upload(client, "clean link", false, file, digest);
        upload(client, "clean link", true, file, digest);
    }

    /**
     * 2 % of the TCP packets each way are lost on the path: curl runs in a namespace behind the
     * client, which routes between it and the TUN and drops at random what it forwards. A router's
     * drop is a loss neither end learns of except through TCP itself; a drop in the sender's own
     * output chain would not do (its TCP is told, and sends again without a retransmission).
     */
    @Test
    void curlSurvivesTwoPercentRandomLossBothWays(@TempDir Path tmp) throws IOException {
        try (NetNs far = NetNs.create()) {
            routeThroughClient(far);
            client.exec("nft", "add table inet lsloss").check();
            try {
                client.exec("nft", "add chain inet lsloss drops { type filter hook forward priority 0 ; }").check();
                client.exec("nft", "add rule inet lsloss drops meta l4proto tcp numgen random mod 100 < 2 drop").check();
                // Download: Loomstack sends the data and must recover what the router dropped.
                var loomstack = netstack.stats().tcp;
                long retransmits = loomstack.retransmits.value();
                long sackRecovery = loomstack.sackRecovery.value();
                download(far, "2 % loss", false, BIG);
                download(far, "2 % loss", true, BIG);
                long retransmitted = loomstack.retransmits.value() - retransmits;
                long sackRecovered = loomstack.sackRecovery.value() - sackRecovery;
                // Upload: the far kernel sends the data and recovers from what Loomstack acknowledges.
                Map<String, Long> kernel = kernelTcpCounters(far);
                Path file = tmp.resolve("upload.bin");
                String digest = randomFile(file, BIG);
                upload(far, "2 % loss", false, file, digest);
                upload(far, "2 % loss", true, file, digest);
                Map<String, Long> kernelAfter = kernelTcpCounters(far);
                long kernelRetransmitted = kernelAfter.get("RetransSegs") - kernel.get("RetransSegs");
                long kernelSackRecovered = kernelAfter.get("TCPSackRecovery") - kernel.get("TCPSackRecovery");
                System.out.printf("2 %% loss, offload %s, %d MiB each way over v4 and v6: Loomstack retransmitted %d segments (%d SACK"
                        + " recoveries), the kernel %d (%d SACK recoveries)%n", offload(), BIG >> 20, retransmitted,
                        sackRecovered, kernelRetransmitted, kernelSackRecovered);
                assertTrue(retransmitted > 0, "Loomstack retransmitted what the router dropped");
                assertTrue(sackRecovered > 0, "Loomstack recovered from the kernel's SACK blocks");
                assertTrue(kernelRetransmitted > 0, "the kernel retransmitted what the router dropped");
                assertTrue(kernelSackRecovered > 0, "the kernel recovered from Loomstack's SACK blocks");
            } finally {
                client.exec("nft", "delete table inet lsloss");
            }
        }
    }

    /**
     * Puts {@code far} behind the client namespace on a veth: 100.64.7.2 and fd7a:115c:a1e0:7::2,
     * routed by the client to and from the TUN. The MTU matches the TUN's, so nothing needs path MTU
     * discovery. Deleting {@code far} deletes the veth pair.
     */
    private void routeThroughClient(NetNs far) {
        client.exec("ip", "link", "add", "tofar", "type", "veth", "peer", "name", "toclient", "netns", far.name())
                .check();
        client.exec("ip", "addr", "add", "100.64.7.1/24", "dev", "tofar").check();
        client.exec("ip", "-6", "addr", "add", "fd7a:115c:a1e0:7::1/64", "dev", "tofar", "nodad").check();
        client.exec("ip", "link", "set", "tofar", "mtu", "1280", "up").check();
        client.exec("sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1").check();
        far.exec("ip", "link", "set", "lo", "up").check();
        far.exec("ip", "addr", "add", "100.64.7.2/24", "dev", "toclient").check();
        far.exec("ip", "-6", "addr", "add", "fd7a:115c:a1e0:7::2/64", "dev", "toclient", "nodad").check();
        far.exec("ip", "link", "set", "toclient", "mtu", "1280", "up").check();
        far.exec("ip", "route", "add", "default", "via", "100.64.7.1").check();
        far.exec("ip", "-6", "route", "add", "default", "via", "fd7a:115c:a1e0:7::1").check();
    }

    @Test
    void twoThousandConcurrentConnectionsEcho() throws Exception {
        int n = 2000;
        try (ServerSocket echo = new ServerSocket(0, 4096, InetAddress.getLoopbackAddress())) {
            Thread acceptor = Thread.ofVirtual().start(() -> {
                while (!echo.isClosed()) {
                    try {
                        Socket s = echo.accept();
                        Thread.ofVirtual().start(() -> {
                            try (s) {
                                s.getInputStream().transferTo(s.getOutputStream());
                            } catch (IOException ignored) {
                                // The client went away.
                            }
                        });
                    } catch (IOException e) {
                        return;
                    }
                }
            });
            String script = """
                    import socket, sys, time
                    n = %d
                    socks = []
                    for i in range(n):
                        s = socket.create_connection(("100.64.0.1", %d), timeout=30)
                        socks.append(s)
                    for i, s in enumerate(socks):
                        s.sendall(b"ping %%d\\n" %% i)
                    ok = 0
                    for i, s in enumerate(socks):
                        want = b"ping %%d\\n" %% i
                        got = b""
                        while len(got) < len(want):
                            chunk = s.recv(64)
                            if not chunk: break
                            got += chunk
                        ok += got == want
                    print(ok, flush=True)
                    sys.stdin.readline()
                    for s in socks: s.close()
                    """.formatted(n, echo.getLocalPort());
            Process p = new ProcessBuilder("ip", "netns", "exec", client.name(), "sh", "-c",
                    "ulimit -n 8192; exec python3 -c '" + script.replace("'", "'\\''") + "'")
                    .redirectErrorStream(true).start();
            try {
                var reader = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream()));
                String line = reader.readLine();
                assertEquals(String.valueOf(n), line, "every connection echoed");
                // All of them are open at once on Loomstack's side.
                assertTrue(netstack.stats().tcp.currentEstablished.value() >= n,
                        "established: " + netstack.stats().tcp.currentEstablished.value());
                p.getOutputStream().write('\n');
                p.getOutputStream().flush();
                assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS));
            } finally {
                p.destroyForcibly();
            }
            Await.until(Duration.ofSeconds(30), "connections closed",
                    () -> netstack.stats().tcp.currentEstablished.value() == 0);
            acceptor.interrupt();
        }
    }

    /** The upstream sees what the kernel client did: a half-close arrives as EOF, a RST as a reset. */
    @Test
    void kernelHalfCloseAndResetReachTheApplicationSide() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 16, InetAddress.getLoopbackAddress())) {
            ConcurrentLinkedQueue<String> seen = new ConcurrentLinkedQueue<>();
            AtomicInteger accepted = new AtomicInteger();
            Thread t = Thread.ofVirtual().start(() -> {
                for (int i = 0; i < 2; i++) {
                    try {
                        Socket s = server.accept();
                        accepted.incrementAndGet();
                        Thread.ofVirtual().start(() -> {
                            try (s) {
                                byte[] all = s.getInputStream().readAllBytes();
                                seen.add("eof:" + new String(all, StandardCharsets.US_ASCII));
                                // Half-closed, the client still reads what comes back.
                                s.getOutputStream().write(("got " + all.length).getBytes(StandardCharsets.US_ASCII));
                            } catch (IOException e) {
                                seen.add("error:" + e.getMessage());
                            }
                        });
                    } catch (IOException e) {
                        return;
                    }
                }
            });
            int port = server.getLocalPort();
            String halfClose = """
                    import socket
                    s = socket.create_connection(("100.64.0.1", %d), timeout=10)
                    s.sendall(b"hello")
                    s.shutdown(socket.SHUT_WR)
                    print(s.recv(100).decode(), flush=True)
                    """.formatted(port);
            Cmd.Result r = client.exec(30, "python3", "-c", halfClose);
            assertEquals("got 5", r.output().strip(), r.output());
            Await.until(Duration.ofSeconds(10), "half-close seen", () -> seen.contains("eof:hello"));

            String reset = """
                    import socket, struct, time
                    s = socket.create_connection(("100.64.0.1", %d), timeout=10)
                    s.sendall(b"partial")
                    time.sleep(0.5)
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    s.close()
                    """.formatted(port);
            long resetsBefore = netstack.stats().tcp.resetsReceived.value();
            assertTrue(client.exec(30, "python3", "-c", reset).ok());
            Await.until(Duration.ofSeconds(10), "reset seen upstream",
                    () -> seen.stream().anyMatch(x -> x.startsWith("error:")));
            assertTrue(netstack.stats().tcp.resetsReceived.value() > resetsBefore);
            t.interrupt();
        }
    }

    @Test
    void synToAPortWithoutAServerIsAnsweredWithReset() throws IOException {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        long resets = netstack.stats().tcp.resetsSent.value();
        Cmd.Result r = client.exec(30, "curl", "-sS", "--max-time", "10", "http://100.64.0.1:" + closedPort + "/");
        // curl's exit code 7: the connection was refused (a RST), not timed out (28).
        assertEquals(7, r.exitCode(), r.output());
        assertTrue(netstack.stats().tcp.resetsSent.value() > resets, "resets " + resets + " -> " + netstack.stats().expvar());
    }
}
