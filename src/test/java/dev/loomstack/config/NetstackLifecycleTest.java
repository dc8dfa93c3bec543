package dev.loomstack.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.LoomstackApplication;
import dev.loomstack.link.LinkUnavailableException;
import dev.loomstack.packet.IpAddress;
import dev.loomstack.testing.Cmd;
import dev.loomstack.testing.NetNs;
import dev.loomstack.testing.Privileges;
import org.junit.jupiter.api.Test;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.context.ConfigurableApplicationContext;

class NetstackLifecycleTest {
    @Test
    void theContextOpensTheDeviceAndClosingItRemovesTheDevice() {
        Privileges.assumeRootAndTun();
        String dev = NetNs.uniqueDeviceName("lsctx");
        ConfigurableApplicationContext ctx = SpringApplication.run(LoomstackApplication.class,
                "--loomstack.tun.name=" + dev, "--loomstack.tun.mtu=1400", "--server.port=0",
                "--management.server.port=0", "--loomstack.state-dir=target/lifecycle-state");
        try {
            NetstackLifecycle life = ctx.getBean(NetstackLifecycle.class);
            assertTrue(life.isRunning());
            assertNotNull(life.netstack());
            assertTrue(life.netstack().stack().hasAddress(IpAddress.parse("100.64.0.1")));
            assertTrue(life.netstack().stack().hasAddress(IpAddress.parse("fd7a:115c:a1e0::1")));
            String show = Cmd.run("ip", "-o", "link", "show", dev).check().output();
            assertTrue(show.contains("mtu 1400"), show);
        } finally {
            ctx.close();
        }
        assertFalse(Cmd.run("ip", "link", "show", dev).ok(), "the device goes with the context");
    }

    @Test
    void linkFailureIsReportedWithoutAStackTrace() {
        FailureAnalysis a = new LinkUnavailableFailureAnalyzer().analyze(
                new IllegalStateException("wrapped", new LinkUnavailableException("cannot open /dev/net/tun: x — fix")));
        assertNotNull(a);
        assertEquals("cannot open /dev/net/tun: x — fix", a.getDescription());
        assertTrue(a.getAction().contains("CAP_NET_ADMIN"));
    }
}
