package dev.loomstack.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.tcp.CongestionControlAlgorithm;
import dev.loomstack.tcp.TcpSettings;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;

/** {@code loomstack.*} binds as an operator writes it and reaches the stack's settings. */
class LoomstackPropertiesTest {
    /** A binder as the service's: Boot's conversions plus the {@code @ConfigurationPropertiesBinding} ones. */
    static Binder binder(Map<String, String> values) {
        var conversions = new org.springframework.boot.convert.ApplicationConversionService();
        conversions.addConverter(new IpPrefixConverter());
        return new Binder(java.util.List.of(new MapConfigurationPropertySource(values)), null, conversions);
    }

    private static LoomstackProperties bind(Map<String, String> values) {
        return binder(values).bindOrCreate("loomstack", LoomstackProperties.class);
    }

    @Test
    void unsetTcpPropertiesKeepTheStackDefaults() {
        LoomstackProperties p = bind(Map.of());
        assertEquals(TcpSettings.defaults(), p.tcp().apply(TcpSettings.defaults()));
        assertEquals(CongestionControlAlgorithm.CUBIC, p.tcp().apply(TcpSettings.defaults()).congestionControl());
    }

    @Test
    void newRenoKeepAliveAndTimeWaitAreConfigurable() {
        LoomstackProperties p = bind(Map.of(
                "loomstack.tcp.congestion-control", "newreno",
                "loomstack.tcp.time-wait", "15s",
                "loomstack.tcp.nagle", "false",
                "loomstack.tcp.keep-alive.enabled", "true",
                "loomstack.tcp.keep-alive.idle", "30s",
                "loomstack.tcp.keep-alive.count", "4",
                "loomstack.tcp.receive-buffer-max", "2MB"));
        TcpSettings s = p.tcp().apply(TcpSettings.defaults());
        assertEquals(CongestionControlAlgorithm.NEWRENO, s.congestionControl());
        assertEquals(Duration.ofSeconds(15).toNanos(), s.timeWaitNanos());
        assertFalse(s.nagle());
        assertTrue(s.keepAlive());
        assertEquals(Duration.ofSeconds(30).toNanos(), s.keepAliveIdleNanos());
        assertEquals(TcpSettings.DEFAULT_KEEPALIVE_INTERVAL.toNanos(), s.keepAliveIntervalNanos(), "unset stays default");
        assertEquals(4, s.keepAliveCount());
        assertEquals(2 << 20, s.receiveBufferMax());
    }

    @Test
    void limitsAndDnsUpstreamsBind() {
        LoomstackProperties p = bind(Map.of(
                "loomstack.limits.max-in-flight", "300",
                "loomstack.dns.upstreams[0]", "192.0.2.53",
                "loomstack.dns.upstreams[1]", "[2001:db8::53]:5353",
                "loomstack.dns.upstreams[2]", "198.51.100.7:5300",
                "loomstack.process-subnets", "false"));
        assertEquals(new dev.loomstack.engine.InFlightLimits(300, 200), p.limits().resolve());
        assertEquals(java.util.List.of(new java.net.InetSocketAddress("192.0.2.53", 53),
                new java.net.InetSocketAddress("2001:db8::53", 5353),
                new java.net.InetSocketAddress("198.51.100.7", 5300)), p.dns().resolve());
        assertFalse(p.processSubnets());
        assertTrue(p.processLocalIps());
        assertEquals(dev.loomstack.engine.InFlightLimits.forThisJvm(), bind(Map.of()).limits().resolve(),
                "unset limits follow the JVM's memory");
        assertEquals(new dev.loomstack.engine.InFlightLimits(300, 7),
                bind(Map.of("loomstack.limits.max-in-flight", "300", "loomstack.limits.max-in-flight-per-client", "7"))
                        .limits().resolve());
        dev.loomstack.engine.InFlightLimits udp = bind(Map.of("loomstack.limits.max-udp-flows", "20000")).limits().resolve();
        assertEquals(20_000, udp.maxUdpFlows());
        assertEquals(dev.loomstack.engine.InFlightLimits.forThisJvm().maxInFlight(), udp.maxInFlight(),
                "the TCP limits keep their defaults");
        assertEquals(dev.loomstack.engine.InFlightLimits.udpFlowsForThisJvm(), bind(Map.of()).limits().resolve().maxUdpFlows(),
                "unset, the UDP flow limit follows the heap and the descriptor limit");
    }
    /** Binds with Bean Validation, as the service does at boot. */
    private static LoomstackProperties bindValidated(Map<String, String> values) {
        var validator = new org.springframework.validation.beanvalidation.LocalValidatorFactoryBean();
        validator.afterPropertiesSet();
        try {
            return binder(values).bindOrCreate("loomstack",
                    org.springframework.boot.context.properties.bind.Bindable.of(LoomstackProperties.class),
                    new org.springframework.boot.context.properties.bind.validation.ValidationBindHandler(validator));
        } finally {
            validator.close();
        }
    }

    @Test
    void denyHostPortsBindAndAreValidated() {
        assertEquals(java.util.List.of(), bindValidated(Map.of()).denyHostPorts(), "none denied beyond the service's own");
        assertEquals(java.util.List.of(22, 9090, 65535), bindValidated(Map.of("loomstack.deny-host-ports", "22,9090,65535"))
                .denyHostPorts());
        for (String bad : new String[] {"0", "65536", "-1"}) {
            var e = org.junit.jupiter.api.Assertions.assertThrows(
                    org.springframework.boot.context.properties.bind.BindException.class,
                    () -> bindValidated(Map.of("loomstack.deny-host-ports", "22," + bad)), bad);
            var errors = ((org.springframework.boot.context.properties.bind.validation.BindValidationException) e.getCause())
                    .getValidationErrors().getAllErrors();
            assertTrue(errors.stream().anyMatch(err -> String.valueOf(err).contains("denyHostPorts[1]")), errors.toString());
        }
    }

    @Test
    void dialTimeoutDefaultsToThirtySecondsAndMustBePositive() {
        assertEquals(Duration.ofSeconds(30), bindValidated(Map.of()).tcp().forward().dialTimeoutOrDefault());
        assertEquals(Duration.ofSeconds(90), bindValidated(Map.of("loomstack.tcp.forward.dial-timeout", "90s"))
                .tcp().forward().dialTimeoutOrDefault());
        for (String bad : new String[] {"0s", "-5s", "30d"}) {
            org.junit.jupiter.api.Assertions.assertThrows(
                    org.springframework.boot.context.properties.bind.BindException.class,
                    () -> bindValidated(Map.of("loomstack.tcp.forward.dial-timeout", bad)), bad);
        }
    }

    @Test
    void heapPressurePercentDefaultsTo85AndIsValidated() {
        assertEquals(85, bindValidated(Map.of()).limits().heapPressurePercent());
        assertEquals(90, bindValidated(Map.of("loomstack.limits.heap-pressure-percent", "90")).limits().heapPressurePercent());
        for (String bad : new String[] {"49", "100", "0"}) {
            org.junit.jupiter.api.Assertions.assertThrows(
                    org.springframework.boot.context.properties.bind.BindException.class,
                    () -> bindValidated(Map.of("loomstack.limits.heap-pressure-percent", bad)), bad);
        }
    }

    @Test
    void wireguardModeAndItsPropertiesBindWithTheirDefaults() {
        LoomstackProperties defaults = bindValidated(Map.of("loomstack.link", "wireguard"));
        assertEquals(LoomstackProperties.LinkKind.WIREGUARD, defaults.link());
        assertEquals(51820, defaults.wireguard().listenPort());
        assertEquals(1280, defaults.wireguard().mtu());
        assertEquals(null, defaults.wireguard().privateKeyFile(), "unset: generated into the state directory");
        assertEquals(java.nio.file.Path.of("/var/lib/loomstack/preshared-keys"),
                defaults.wireguard().presharedKeyDirIn(java.nio.file.Path.of("/var/lib/loomstack")));
        LoomstackProperties set = bindValidated(Map.of("loomstack.link", "wireguard",
                "loomstack.wireguard.listen-port", "41641", "loomstack.wireguard.mtu", "1420",
                "loomstack.wireguard.private-key-file", "/etc/loomstack/wg/private-key",
                "loomstack.wireguard.preshared-key-dir", "/etc/loomstack/psk"));
        assertEquals(41641, set.wireguard().listenPort());
        assertEquals(1420, set.wireguard().mtu());
        assertEquals(java.nio.file.Path.of("/etc/loomstack/wg/private-key"), set.wireguard().privateKeyFile());
        assertEquals(java.nio.file.Path.of("/etc/loomstack/psk"),
                set.wireguard().presharedKeyDirIn(java.nio.file.Path.of("/var/lib/loomstack")));
        for (var bad : java.util.List.of(Map.of("loomstack.wireguard.listen-port", "0"),
                Map.of("loomstack.wireguard.listen-port", "65536"), Map.of("loomstack.wireguard.mtu", "1279"),
                Map.of("loomstack.wireguard.mtu", "65456"))) {
            org.junit.jupiter.api.Assertions.assertThrows(
                    org.springframework.boot.context.properties.bind.BindException.class, () -> bindValidated(bad),
                    bad.toString());
        }
    }

    /** The chart and containers set the port as an environment variable. */
    @Test
    void theListenPortBindsFromTheEnvironment() {
        var conversions = new org.springframework.boot.convert.ApplicationConversionService();
        conversions.addConverter(new IpPrefixConverter());
        var env = new org.springframework.core.env.SystemEnvironmentPropertySource(
                org.springframework.core.env.StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME,
                Map.of("LOOMSTACK_WIREGUARD_LISTEN_PORT", "51999", "LOOMSTACK_LINK", "wireguard"));
        LoomstackProperties p = new Binder(org.springframework.boot.context.properties.source.ConfigurationPropertySources
                .from(env), null, conversions).bindOrCreate("loomstack", LoomstackProperties.class);
        assertEquals(51999, p.wireguard().listenPort());
        assertEquals(LoomstackProperties.LinkKind.WIREGUARD, p.link());
        // The chart writes the names without the dashes' underscores; both forms bind.
        var chart = new org.springframework.core.env.SystemEnvironmentPropertySource(
                org.springframework.core.env.StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME,
                Map.of("LOOMSTACK_WIREGUARD_LISTENPORT", "41641", "LOOMSTACK_WIREGUARD_PRIVATEKEYFILE", "/etc/wg/key",
                        "LOOMSTACK_WIREGUARD_PRESHAREDKEYDIR", "/etc/wg/psk"));
        LoomstackProperties q = new Binder(org.springframework.boot.context.properties.source.ConfigurationPropertySources
                .from(chart), null, conversions).bindOrCreate("loomstack", LoomstackProperties.class);
        assertEquals(41641, q.wireguard().listenPort());
        assertEquals(java.nio.file.Path.of("/etc/wg/key"), q.wireguard().privateKeyFile());
        assertEquals(java.nio.file.Path.of("/etc/wg/psk"), q.wireguard().presharedKeyDirIn(java.nio.file.Path.of("/state")));
    }
}
