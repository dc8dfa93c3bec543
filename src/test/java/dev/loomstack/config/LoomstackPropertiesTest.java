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
    private static LoomstackProperties bind(Map<String, String> values) {
        return new Binder(new MapConfigurationPropertySource(values)).bindOrCreate("loomstack", LoomstackProperties.class);
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
}
