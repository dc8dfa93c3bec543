package dev.loomstack.config;

import dev.loomstack.dns.MagicDns;
import dev.loomstack.engine.HeapPressure;
import dev.loomstack.engine.HostPortGuard;
import dev.loomstack.engine.InFlightLimits;
import dev.loomstack.engine.TcpFlowForwarder;
import dev.loomstack.wireguard.WireGuardSettings;
import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.IpPrefix;
import dev.loomstack.tcp.CongestionControlAlgorithm;
import dev.loomstack.tcp.TcpSettings;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotEmpty;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.hibernate.validator.constraints.time.DurationMax;
import org.hibernate.validator.constraints.time.DurationMin;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * Everything under {@code loomstack.*}. Defaults are named here, once; the stack's own classes keep
 * their protocol defaults (TCP timers, buffer sizes) and this record only overrides what an
 * operator chooses to. Each {@code @param} is the property's description in the configuration
 * metadata the build generates (IDE completion).
 *
 * @param link            What the stack runs on: "tun" (the default), the TUN device of loomstack.tun;
 *                        "wireguard", WireGuard spoken over the UDP port of loomstack.wireguard, the
 *                        netmap's peers its peers (no device, no privilege); "memory", a link to
 *                        nothing, so the whole service runs without a device and no packet reaches
 *                        it (the image build's AOT training run, tests).
 * @param exitWhenReady   Whether to stop gracefully as soon as the service is ready and exit with
 *                        code 0, as on SIGTERM (the image build's AOT training run records start and
 *                        stop so).
 * @param tun             The TUN device.
 * @param wireguard       The WireGuard link (loomstack.link=wireguard).
 * @param selfAddresses   This node's own addresses as prefixes ("100.64.0.1/32"): the stack answers
 *                        for them from boot until a netmap says otherwise. A malformed prefix, or
 *                        one with host bits set, fails the boot naming the property.
 * @param tcp             TCP tunables.
 * @param limits          Forwarding limits.
 * @param dns             MagicDNS.
 * @param processLocalIps Whether flows to this node's own addresses are terminated and served
 *                        (Tailscale's ProcessLocalIPs).
 * @param processSubnets  Whether flows to advertised subnet routes are terminated and forwarded to
 *                        the host's network (Tailscale's ProcessSubnets).
 * @param stateDir        Directory of state.json (the last applied netmap and limits) and of the
 *                        generated admin token; relative to the working directory.
 * @param admin           The admin API.
 * @param shutdown        Graceful shutdown.
 * @param initialNetmap   A netmap JSON document (as PUT /api/v1/netmap takes) applied and persisted
 *                        on the first boot, while the state directory holds none yet.
 * @param denyHostPorts   Ports of this host never forwarded to from the TUN by any path, besides the
 *                        service's own HTTP ports (always refused).
 */
@Validated
@ConfigurationProperties("loomstack")
public record LoomstackProperties(
        @NotNull @DefaultValue("tun") LinkKind link,
        @DefaultValue("false") boolean exitWhenReady,
        @Valid @NotNull @DefaultValue Tun tun,
        @Valid @NotNull @DefaultValue Wireguard wireguard,
        @NotEmpty @DefaultValue({DEFAULT_SELF_V4, DEFAULT_SELF_V6}) List<@NotNull IpPrefix> selfAddresses,
        @Valid @NotNull @DefaultValue Tcp tcp,
        @Valid @NotNull @DefaultValue Limits limits,
        @Valid @NotNull @DefaultValue Dns dns,
        @DefaultValue("true") boolean processLocalIps,
        @DefaultValue("true") boolean processSubnets,
        @NotNull @DefaultValue(DEFAULT_STATE_DIR) Path stateDir,
        @Valid @NotNull @DefaultValue Admin admin,
        @Valid @NotNull @DefaultValue Shutdown shutdown,
        Path initialNetmap,
        @NotNull @DefaultValue({}) List<@NotNull @Min(HostPortGuard.MIN_PORT) @Max(HostPortGuard.MAX_PORT) Integer> denyHostPorts) {

    /** Relative to the working directory; the container image and chart set an absolute path. */
    public static final String DEFAULT_STATE_DIR = "state";

    public static final String DEFAULT_SELF_V4 = "100.64.0.1/32";
    public static final String DEFAULT_SELF_V6 = "fd7a:115c:a1e0::1/128";

    /** What the stack runs on. */
    public enum LinkKind {
        /** The TUN device {@code loomstack.tun.name}: the router. */
        TUN,
        /** WireGuard over the UDP port {@code loomstack.wireguard.listen-port}: no device, no privilege. */
        WIREGUARD,
        /** A link to nothing: the whole service runs, no packet reaches it, nothing is needed from the host. */
        MEMORY
    }

    /**
     * The WireGuard link.
     *
     * @param listenPort       The UDP port WireGuard listens on (all addresses), 1-65535.
     * @param privateKeyFile   A file holding this router's WireGuard private key as wg genkey prints it
     *                         (base64), such as a mounted Kubernetes Secret. Unset, the key is
     *                         generated once into wireguard.key in the state directory (mode 0600).
     * @param mtu              The MTU of the IP packets carried inside the tunnel, 1280 (IPv6's
     *                         minimum, Tailscale's) to 65455.
     * @param presharedKeyDir  The directory where the netmap's presharedKey references are looked up
     *                         (one file per key, base64 as wg genpsk prints it; a mounted Kubernetes
     *                         Secret, say). Unset, preshared-keys in the state directory.
     */
    public record Wireguard(
            @Min(1) @Max(MAX_PORT) @DefaultValue("" + WireGuardSettings.DEFAULT_LISTEN_PORT) int listenPort,
            Path privateKeyFile,
            @Min(MIN_MTU) @Max(MAX_MTU) @DefaultValue("" + WireGuardSettings.DEFAULT_MTU) int mtu,
            Path presharedKeyDir) {
        public static final int MAX_PORT = 65_535;
        /** IPv6 requires every link to carry 1280-byte packets (RFC 8200 section 5). */
        public static final int MIN_MTU = 1280;
        /** A 65535-byte UDP datagram less WireGuard's 32 bytes of header and tag and the outer IPv6 and UDP headers. */
        public static final int MAX_MTU = 65_455;
        /** The generated private key's file in the state directory. */
        public static final String KEY_FILE_NAME = "wireguard.key";
        /** The default pre-shared key directory in the state directory. */
        public static final String PRESHARED_KEY_DIR_NAME = "preshared-keys";

        /** The pre-shared key directory: as configured, else {@code <stateDir>/preshared-keys}. */
        public Path presharedKeyDirIn(Path stateDir) {
            return presharedKeyDir != null ? presharedKeyDir : stateDir.resolve(PRESHARED_KEY_DIR_NAME);
        }
    }

    /**
     * The TUN device.
     *
     * @param name The TUN device's name (1-15 characters, Linux's limit); the service creates it and
     *             removes it when it stops.
     * @param mtu  The TUN device's MTU in bytes, 1280 (IPv6's minimum) to 65535.
     * @param offload Whether the TUN device is opened with segmentation and checksum offloads
     *             (IFF_VNET_HDR, TUNSETOFFLOAD: TCP super-segments of up to 64 KiB both ways, partial
     *             checksums); on by default. A kernel that refuses them gets plain packets; false
     *             asks for none.
     */
    public record Tun(
            @NotNull @Pattern(regexp = "[a-zA-Z0-9_.-]{1,15}", message = "must be a Linux interface name of 1-15 characters")
            @DefaultValue(DEFAULT_NAME) String name,
            @Min(MIN_MTU) @Max(MAX_MTU) @DefaultValue("" + DEFAULT_MTU) int mtu,
            @DefaultValue("true") boolean offload) {
        public static final String DEFAULT_NAME = "loomstack0";
        public static final int DEFAULT_MTU = 1280;
        /** IPv6 requires every link to carry 1280-byte packets (RFC 8200 section 5). */
        public static final int MIN_MTU = 1280;
        public static final int MAX_MTU = 65_535;
    }

    /**
     * TCP tunables. Each is optional: unset keeps {@link TcpSettings#defaults()}, which names the
     * protocol defaults (Linux's, where RFCs leave a choice).
     *
     * @param congestionControl Congestion control: cubic (the default) or newreno.
     * @param nagle             Whether small writes are coalesced (Nagle, RFC 9293 section 3.7.4); on by default.
     * @param timeWait          How long an actively closed connection lingers in TIME-WAIT (default 60s).
     * @param keepAlive         Probing of idle forwarded connections.
     * @param sendBuffer        Bytes queued per connection ahead of the peer's ACK (default 4MB).
     * @param receiveBufferMax  The cap of receive-window auto-tuning (default 6MB).
     * @param forward           Forwarding of TCP flows to their upstreams.
     */
    public record Tcp(
            CongestionControlAlgorithm congestionControl,
            Boolean nagle,
            Duration timeWait,
            @Valid @NotNull @DefaultValue KeepAlive keepAlive,
            DataSize sendBuffer,
            DataSize receiveBufferMax,
            @Valid @NotNull @DefaultValue Forward forward) {

        /**
         * Forwarding to upstreams.
         *
         * @param dialTimeout How long the upstream of a forwarded flow may take to accept before the
         *                    client gets a RST (default 30s).
         */
        public record Forward(@DurationMin(millis = 1) @DurationMax(millis = Integer.MAX_VALUE) Duration dialTimeout) {
            public Duration dialTimeoutOrDefault() {
                return dialTimeout != null ? dialTimeout : TcpFlowForwarder.DEFAULT_DIAL_TIMEOUT;
            }
        }

        /**
         * Keep-alive (Tailscale's netstack leaves it at gVisor's defaults with a TODO to make it tunable).
         * Unset values keep {@link TcpSettings}' defaults.
         *
         * @param enabled  Whether keep-alive probes are sent on idle connections (RFC 9293 section
         *                 3.8.4); off by default.
         * @param idle     How long a connection is idle before the first probe (default 2h, as Linux).
         * @param interval The time between unanswered probes (default 75s, as Linux).
         * @param count    Unanswered probes after which the connection is reset (default 9, as Linux).
         */
        public record KeepAlive(Boolean enabled, Duration idle, Duration interval, @Min(1) Integer count) {}

        /** {@code base} with whatever this configuration sets. */
        public TcpSettings apply(TcpSettings base) {
            TcpSettings s = base;
            if (congestionControl != null) {
                s = s.withCongestionControl(congestionControl);
            }
            if (nagle != null) {
                s = s.withNagle(nagle);
            }
            if (timeWait != null) {
                s = s.withTimeWait(timeWait);
            }
            if (keepAlive.enabled() != null || keepAlive.idle() != null || keepAlive.interval() != null
                    || keepAlive.count() != null) {
                s = s.withKeepAlive(
                        keepAlive.enabled() != null ? keepAlive.enabled() : s.keepAlive(),
                        keepAlive.idle() != null ? keepAlive.idle() : Duration.ofNanos(s.keepAliveIdleNanos()),
                        keepAlive.interval() != null ? keepAlive.interval() : Duration.ofNanos(s.keepAliveIntervalNanos()),
                        keepAlive.count() != null ? keepAlive.count() : s.keepAliveCount());
            }
            if (sendBuffer != null || receiveBufferMax != null) {
                int send = sendBuffer != null ? Math.toIntExact(sendBuffer.toBytes()) : s.sendBufferSize();
                int max = receiveBufferMax != null ? Math.toIntExact(receiveBufferMax.toBytes()) : s.receiveBufferMax();
                s = s.withBuffers(send, Math.min(s.receiveBufferInitial(), max), max);
            }
            return s;
        }
    }

    /**
     * Forwarding limits. Unset, the in-flight TCP limit follows the JVM's memory
     * ({@link InFlightLimits#forThisJvm()}), the per-client one is two thirds of it, and the UDP
     * flow limit follows the heap and the file-descriptor limit
     * ({@link InFlightLimits#udpFlowsForThisJvm()}).
     *
     * @param maxInFlight          TCP connections whose upstream handshake is in flight at once;
     *                             beyond it new SYNs are dropped and counted. Unset, derived from
     *                             the heap (256 to 8192).
     * @param maxInFlightPerClient In-flight TCP connections of one client address. Unset, two thirds
     *                             of max-in-flight.
     * @param maxUdpFlows          UDP flows open at once; beyond it new flows are dropped and counted.
     *                             Unset, derived from the heap and the file-descriptor limit.
     * @param heapPressurePercent  Heap still in use after a garbage collection (old generation), in
     *                             percent of the maximum heap, from which new forwarded flows are
     *                             refused (TCP with a RST, UDP dropped; counted) until a collection
     *                             leaves it 10 points lower. 50 to 99.
     */
    public record Limits(@Min(1) Integer maxInFlight, @Min(1) Integer maxInFlightPerClient,
                         @Min(1) @Max(InFlightLimits.MAX_UDP_FLOWS) Integer maxUdpFlows,
                         @Min(HeapPressure.MIN_PERCENT) @Max(HeapPressure.MAX_PERCENT)
                         @DefaultValue("" + HeapPressure.DEFAULT_PERCENT) int heapPressurePercent) {
        public InFlightLimits resolve() {
            InFlightLimits base = maxInFlight != null ? InFlightLimits.withDefaultPerClient(maxInFlight)
                    : InFlightLimits.forThisJvm();
            if (maxInFlightPerClient != null) {
                base = new InFlightLimits(base.maxInFlight(), maxInFlightPerClient, base.maxUdpFlows());
            }
            return maxUdpFlows == null ? base : base.withMaxUdpFlows(maxUdpFlows);
        }
    }

    /**
     * MagicDNS.
     *
     * @param upstreams Resolvers for names outside the tailnet ("192.0.2.53" or
     *                  "[2001:db8::53]:5353"); empty uses the host's /etc/resolv.conf.
     */
    public record Dns(@DefaultValue({}) List<@Pattern(regexp = "\\[?[0-9a-fA-F:.]+\\]?(:[0-9]{1,5})?") String> upstreams) {
        public static final Path SYSTEM_RESOLV_CONF = Path.of("/etc/resolv.conf");

        public List<InetSocketAddress> resolve() {
            if (upstreams.isEmpty()) {
                return MagicDns.systemResolvers(SYSTEM_RESOLV_CONF);
            }
            return upstreams.stream().map(Dns::parse).toList();
        }

        static InetSocketAddress parse(String s) {
            String host = s;
            int port = 53;
            if (s.startsWith("[")) {
                int end = s.indexOf(']');
                host = s.substring(1, end);
                if (end + 1 < s.length()) {
                    port = Integer.parseInt(s.substring(end + 2));
                }
            } else if (s.indexOf(':') == s.lastIndexOf(':') && s.indexOf(':') > 0) {
                host = s.substring(0, s.indexOf(':'));
                port = Integer.parseInt(s.substring(s.indexOf(':') + 1));
            }
            return new InetSocketAddress(IpAddress.parse(host).toInetAddress(), port);
        }
    }

    /**
     * The admin API.
     *
     * @param token   The bearer token of the admin API. Unset, one is generated into the state
     *                directory (file admin-token, mode 0600).
     * @param maxBody The largest request body the admin API accepts (413 beyond).
     */
    public record Admin(String token, @NotNull @DefaultValue("1MB") DataSize maxBody) {}

    /**
     * Graceful shutdown.
     *
     * @param drain How long open flows may run on at shutdown, after the API stopped and new flows
     *              are refused; then the link closes.
     */
    public record Shutdown(@NotNull @DefaultValue("10s") Duration drain) {}

}
