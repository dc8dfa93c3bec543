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
}
