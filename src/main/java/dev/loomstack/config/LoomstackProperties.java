package dev.loomstack.config;

import dev.loomstack.dns.MagicDns;
import dev.loomstack.engine.HostPortGuard;
import dev.loomstack.engine.InFlightLimits;
import dev.loomstack.engine.TcpFlowForwarder;
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
 * operator chooses to.
 */
@Validated
@ConfigurationProperties("loomstack")
public record LoomstackProperties(
        @Valid @NotNull @DefaultValue Tun tun,
        @NotEmpty @DefaultValue({DEFAULT_SELF_V4, DEFAULT_SELF_V6}) List<@Pattern(regexp = PREFIX_TEXT) String> selfAddresses,
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
    /** A loose textual check; {@link #selfPrefixes()} does the real parsing. */
    static final String PREFIX_TEXT = "[0-9a-fA-F:.]+(/[0-9]{1,3})?";

    /** The TUN device. */
    public record Tun(
            @NotNull @Pattern(regexp = "[a-zA-Z0-9_.-]{1,15}", message = "must be a Linux interface name of 1-15 characters")
            @DefaultValue(DEFAULT_NAME) String name,
            @Min(MIN_MTU) @Max(MAX_MTU) @DefaultValue("" + DEFAULT_MTU) int mtu) {
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
     * @param congestionControl {@code cubic} (default) or {@code newreno}
     * @param nagle             coalesce small writes (RFC 9293 section 3.7.4)
     * @param timeWait          how long an actively closed connection lingers
     * @param keepAlive         probing of idle forwarded connections
     * @param sendBuffer        bytes queued per connection ahead of the peer's ACK
     * @param receiveBufferMax  the cap of receive-window auto-tuning
     * @param forward           forwarding of TCP flows to their upstreams
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
         * @param dialTimeout how long the upstream of a forwarded flow may take to accept before the
         *                    client gets a RST; unset keeps {@link TcpFlowForwarder#DEFAULT_DIAL_TIMEOUT}
         */
        public record Forward(@DurationMin(millis = 1) @DurationMax(millis = Integer.MAX_VALUE) Duration dialTimeout) {
            public Duration dialTimeoutOrDefault() {
                return dialTimeout != null ? dialTimeout : TcpFlowForwarder.DEFAULT_DIAL_TIMEOUT;
            }
        }

        /**
         * Keep-alive (Tailscale's netstack leaves it at gVisor's defaults with a TODO to make it tunable).
         * Unset values keep {@link TcpSettings}' defaults.
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
     * @param maxUdpFlows UDP flows open at once; beyond it new flows are dropped and counted
     */
    public record Limits(@Min(1) Integer maxInFlight, @Min(1) Integer maxInFlightPerClient,
                         @Min(1) @Max(InFlightLimits.MAX_UDP_FLOWS) Integer maxUdpFlows) {
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
     * @param upstreams resolvers for names outside the tailnet ({@code 192.0.2.53} or
     *                  {@code [2001:db8::53]:5353}); empty uses the host's {@code /etc/resolv.conf}
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
     * @param token   the bearer token; unset, one is generated into the state directory
     * @param maxBody the largest request body accepted (413 beyond)
     */
    public record Admin(String token, @NotNull @DefaultValue("1MB") DataSize maxBody) {}

    /**
     * Graceful shutdown.
     *
     * @param drain how long open flows may run on after new ones stop being accepted
     */
    public record Shutdown(@NotNull @DefaultValue("10s") Duration drain) {}

    /** The self addresses, parsed strictly (host bits set or a malformed prefix fail the boot). */
    public List<IpPrefix> selfPrefixes() {
        return selfAddresses.stream().map(IpPrefix::parseStrict).toList();
    }
}
