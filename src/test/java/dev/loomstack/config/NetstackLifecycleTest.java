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
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;

@ExtendWith(OutputCaptureExtension.class)
class NetstackLifecycleTest {
    @Test
    void theContextOpensTheDeviceAndClosingItRemovesTheDevice(CapturedOutput output) {
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
        // Created and removed are logged, numbers as written (no locale grouping), limits by field.
        String log = output.getAll();
        AotTrainingRunIT.assertInOrder(log, "TUN device " + dev + " created (mtu 1400) and up",
                "serving on " + dev + " (mtu 1400) with addresses [100.64.0.1/32, fd7a:115c:a1e0::1/128]; limits: max-in-flight ",
                "admin API stopped taking requests", "draining 0 open flows for up to 10s", "drained: no flow left open",
                "TUN device " + dev + " removed");
        assertFalse(log.contains("1,400") || log.contains("InFlightLimits["), log);
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
