package dev.loomstack.testing;

import dev.loomstack.wireguard.WireGuardKey;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A WireGuard peer nobody here wrote: Debian's {@code wireguard-go} with its own TUN in a namespace
 * of its own, configured with {@code wg} (wireguard-tools), reaching this host over a veth pair.
 * The root end of the pair is {@code 198.19.<octet>.1/24} (where the Loomstack link listens), the
 * namespace end {@code 198.19.<octet>.2/24}; callers that run two peers in one JVM pick different
 * octets.
 *
 * <p>Inside the namespace the peer is the tailnet client {@code 100.64.0.2} /
 * {@code fd7a:115c:a1e0::2} on its WireGuard device, with the tailnet ranges and the test subnets
 * {@code 198.18.0.0/15} routed through it. wireguard-go logs at debug level to {@link #log()}.
 * Needs root, {@code /dev/net/tun}, {@code wireguard-go} and {@code wg}.
 *
 * <p>{@link #close()} stops wireguard-go and deletes the veth pair and the namespace, whatever
 * state the peer is in.
 */
public final class WireGuardGoPeer implements AutoCloseable {
    /** The client's tailnet addresses, as the engine's netmap names the peer. */
    public static final String CLIENT_V4 = "100.64.0.2";
    public static final String CLIENT_V6 = "fd7a:115c:a1e0::2";
    /** What the client sends through the tunnel: the tailnet (MagicDNS and 4via6 included) and the test subnets. */
    public static final List<String> ROUTED = List.of("100.64.0.0/10", "198.18.0.0/15", "fd7a:115c:a1e0::/48");
    /** Inner MTU of both ends, as the benchmark and Tailscale use. */
    public static final int MTU = 1280;
    private static final Path UAPI_DIR = Path.of("/var/run/wireguard");
    private static final Duration START_LIMIT = Duration.ofSeconds(10);
    private static final Path LOG_DIR = Path.of("target", "wireguard-go");

    private final int octet;
    private final NetNs ns;
    private final String device;
    private final String rootVeth;
    private final Path dir;
    private final Path privateKeyFile;
    private final WireGuardKey publicKey;
    private Process wireguardGo;
    private int listenPort;
    /** The Loomstack end as last given to {@link #connect}. */
    private WireGuardKey remoteKey;
    private InetSocketAddress remoteEndpoint;
    /** The pre-shared key with the Loomstack end, or null for none. */
    private WireGuardKey presharedKey;

    private WireGuardGoPeer(int octet, NetNs ns, String device, String rootVeth, Path dir, Path privateKeyFile,
            WireGuardKey publicKey) {
        this.octet = octet;
        this.ns = ns;
        this.device = device;
        this.rootVeth = rootVeth;
        this.dir = dir;
        this.privateKeyFile = privateKeyFile;
        this.publicKey = publicKey;
    }

    /**
     * Creates the namespace and veth pair, generates the peer's keys with {@code wg genkey} and
     * starts wireguard-go (listening on {@code listenPort}, not yet knowing any peer).
     */
    public static WireGuardGoPeer start(int octet, int listenPort) {
        if (octet < 0 || octet > 255) {
            throw new IllegalArgumentException("octet " + octet);
        }
        // A failure, not a skip: where the tests run as root (CI) they must run.
        for (String tool : List.of("wireguard-go", "wg")) {
            if (!Cmd.run("sh", "-c", "command -v " + tool).ok()) {
                throw new AssertionError(tool + " is not installed: the WireGuard end-to-end tests need Debian's "
                        + "wireguard-go and wireguard-tools (apt-get install wireguard-go wireguard-tools; .ci/run does)");
            }
        }
        NetNs ns = NetNs.create();
        String device = NetNs.uniqueDeviceName("lswg");
        String rootVeth = NetNs.uniqueDeviceName("lswr");
        WireGuardGoPeer peer = null;
        try {
            Path dir = Files.createTempDirectory("lswg-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            Path keyFile = dir.resolve("private.key");
            String privateKey = Cmd.run("wg", "genkey").check().output().strip();
            Files.writeString(keyFile, privateKey + "\n", StandardCharsets.US_ASCII);
            String pub = pipe(privateKey, "wg", "pubkey");
            peer = new WireGuardGoPeer(octet, ns, device, rootVeth, dir, keyFile, WireGuardKey.parse(pub));
            String nsVeth = rootVeth + "n";
            Cmd.run("ip", "link", "add", rootVeth, "type", "veth", "peer", "name", nsVeth, "netns", ns.name()).check();
            Cmd.run("ip", "addr", "add", peer.rootAddress() + "/24", "dev", rootVeth).check();
            Cmd.run("ip", "link", "set", rootVeth, "up").check();
            ns.exec("ip", "addr", "add", peer.address() + "/24", "dev", nsVeth).check();
            ns.exec("ip", "link", "set", nsVeth, "up").check();
            peer.listenPort = listenPort;
            peer.launch();
            return peer;
        } catch (IOException | RuntimeException | Error e) {
            if (peer != null) {
                peer.close();
            } else {
                Cmd.run("ip", "link", "del", rootVeth);
                ns.close();
            }
            switch (e) {
                case IOException io -> throw new UncheckedIOException(io);
                case RuntimeException re -> throw re;
                case Error err -> throw err;
                default -> throw new IllegalStateException(e);
            }
        }
    }

    private static String pipe(String input, String... command) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getOutputStream().write((input + "\n").getBytes(StandardCharsets.US_ASCII));
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).strip();
        try {
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new AssertionError(String.join(" ", command) + " failed: " + out);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
        return out;
    }

    /** Starts wireguard-go in the namespace and gives its fresh TUN the keys, port, addresses and routes. */
    private void launch() throws IOException {
        Files.deleteIfExists(UAPI_DIR.resolve(device + ".sock"));
        Files.createDirectories(LOG_DIR);
        ProcessBuilder pb = new ProcessBuilder("ip", "netns", "exec", ns.name(), "wireguard-go", "-f", device)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log().toFile()));
        pb.environment().put("LOG_LEVEL", "debug");
        wireguardGo = pb.start();
        Await.until(START_LIMIT, "wireguard-go creates " + device + " and its control socket",
                () -> !wireguardGo.isAlive() || Files.exists(UAPI_DIR.resolve(device + ".sock")));
        if (!wireguardGo.isAlive()) {
            throw new AssertionError("wireguard-go exited " + wireguardGo.exitValue() + ":\n" + logTail());
        }
        wg("set", device, "private-key", privateKeyFile.toString(), "listen-port", Integer.toString(listenPort));
        ns.exec("ip", "link", "set", device, "mtu", Integer.toString(MTU), "up").check();
        ns.exec("ip", "addr", "add", CLIENT_V4 + "/32", "dev", device).check();
        ns.exec("ip", "-6", "addr", "add", CLIENT_V6 + "/128", "dev", device, "nodad").check();
        for (String prefix : ROUTED) {
            if (prefix.contains(":")) {
                ns.exec("ip", "-6", "route", "add", prefix, "dev", device).check();
            } else {
                ns.exec("ip", "route", "add", prefix, "dev", device, "src", CLIENT_V4).check();
            }
        }
        if (remoteKey != null) {
            connect(remoteKey, remoteEndpoint);
        }
    }

    /**
     * Names the Loomstack end as wireguard-go's only peer: its public key, its UDP endpoint, and
     * {@link #ROUTED} as its allowed IPs (everything the client routes to it).
     */
    public void connect(WireGuardKey loomstackKey, InetSocketAddress loomstackEndpoint) {
        this.remoteKey = loomstackKey;
        this.remoteEndpoint = loomstackEndpoint;
        wg("set", device, "peer", loomstackKey.toBase64(), "endpoint",
                loomstackEndpoint.getAddress().getHostAddress() + ":" + loomstackEndpoint.getPort(),
                "allowed-ips", String.join(",", ROUTED), "preshared-key", presharedKeyFile());
    }

    /**
     * Sets the pre-shared key with the Loomstack end ({@code wg set ... preshared-key}), or removes
     * it for null; the next handshake uses it.
     */
    public void presharedKey(WireGuardKey key) {
        this.presharedKey = key;
        wg("set", device, "peer", remoteKey.toBase64(), "preshared-key", presharedKeyFile());
    }

    /** A file holding the pre-shared key for wg, or /dev/null (wg's way of saying none). */
    private String presharedKeyFile() {
        if (presharedKey == null) {
            return "/dev/null";
        }
        Path file = dir.resolve("preshared.key");
        try {
            Files.writeString(file, presharedKey.toBase64() + "\n", StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file.toString();
    }

    /**
     * Forgets the Loomstack peer and names it again: wireguard-go wipes the peer's keypairs, so its
     * next packet to it starts a new handshake (with a newer timestamp, as a restart would).
     */
    public void forgetSessions() {
        wg("set", device, "peer", remoteKey.toBase64(), "remove");
        connect(remoteKey, remoteEndpoint);
    }

    /** Stops wireguard-go and starts it again with the same keys and port: a new handshake on the next packet. */
    public void restart() {
        stopWireGuardGo();
        try {
            launch();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Moves wireguard-go to another UDP port (roaming, as far as the other end can tell). */
    public void listenPort(int port) {
        wg("set", device, "listen-port", Integer.toString(port));
        listenPort = port;
    }

    public int listenPort() {
        return listenPort;
    }

    /** The UDP port wireguard-go actually bound (asked for 0: the kernel's pick), as {@code wg show} reports it. */
    public int boundPort() {
        return Integer.parseInt(wg("show", device, "listen-port").strip());
    }

    /** When wireguard-go last completed a handshake with the Loomstack end (empty: never). */
    public Optional<Instant> latestHandshake() {
        String out = wg("show", device, "latest-handshakes").strip();
        if (out.isEmpty()) {
            return Optional.empty();
        }
        long seconds = Long.parseLong(out.split("\\s+")[1]);
        return seconds == 0 ? Optional.empty() : Optional.of(Instant.ofEpochSecond(seconds));
    }

    /** Bytes wireguard-go received from and sent to the Loomstack end ({@code wg show transfer}). */
    public long[] transfer() {
        String out = wg("show", device, "transfer").strip();
        if (out.isEmpty()) {
            return new long[] {0, 0};
        }
        String[] f = out.split("\\s+");
        return new long[] {Long.parseLong(f[1]), Long.parseLong(f[2])};
    }

    private String wg(String... args) {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns.name(), "wg"));
        cmd.addAll(List.of(args));
        return Cmd.run(Cmd.DEFAULT_TIMEOUT_SECONDS, cmd).check().output();
    }

    public Cmd.Result exec(String... command) {
        return ns.exec(command);
    }

    public Cmd.Result exec(long timeoutSeconds, String... command) {
        return ns.exec(timeoutSeconds, command);
    }

    public NetNs namespace() {
        return ns;
    }

    /** wireguard-go's TUN device inside the namespace. */
    public String device() {
        return device;
    }

    public WireGuardKey publicKey() {
        return publicKey;
    }

    /** This peer's end of the veth pair, {@code 198.19.<octet>.2}. */
    public String address() {
        return "198.19." + octet + ".2";
    }

    /** The root namespace's end of the veth pair, {@code 198.19.<octet>.1}: where Loomstack listens. */
    public String rootAddress() {
        return "198.19." + octet + ".1";
    }

    public InetAddress rootInetAddress() {
        try {
            return InetAddress.getByName(rootAddress());
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Where wireguard-go sends from (the address the Loomstack end should report as the peer's endpoint). */
    public InetSocketAddress endpoint() {
        try {
            return new InetSocketAddress(InetAddress.getByName(address()), listenPort);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * wireguard-go's debug log, kept after the run under {@code target/wireguard-go/} (one file per
     * device name) so a failed run can be read.
     */
    public Path log() {
        return LOG_DIR.resolve(device + ".log");
    }

    /** The last lines wireguard-go logged, for failure messages. */
    public String logTail() {
        try {
            List<String> lines = Files.readAllLines(log(), StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
        } catch (IOException e) {
            return "<no log: " + e.getMessage() + ">";
        }
    }

    private void stopWireGuardGo() {
        Process p = wireguardGo;
        if (p == null) {
            return;
        }
        wireguardGo = null;
        p.descendants().forEach(ProcessHandle::destroy);
        p.destroy();
        try {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // Its TUN goes with the process; wait so a restart can create it under the same name.
        Await.until(START_LIMIT, "wireguard-go's device " + device + " is gone",
                () -> !ns.exec("ip", "link", "show", device).ok());
    }

    @Override
    public void close() {
        try {
            stopWireGuardGo();
        } catch (RuntimeException | Error e) {
            // Deleting the namespace below takes the device with it.
        }
        Cmd.run("ip", "link", "del", rootVeth);
        ns.close();
        try {
            Files.deleteIfExists(UAPI_DIR.resolve(device + ".sock"));
            Files.deleteIfExists(privateKeyFile);
            Files.deleteIfExists(dir.resolve("preshared.key"));
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            // A temporary file left behind is harmless.
        }
    }
}
