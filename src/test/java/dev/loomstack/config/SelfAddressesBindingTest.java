package dev.loomstack.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.LoomstackApplication;
import dev.loomstack.packet.IpPrefix;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.context.properties.bind.BindException;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

/** Self addresses bind as {@link IpPrefix} values: a bad one stops the boot at bind time, naming the property. */
@ExtendWith(OutputCaptureExtension.class)
class SelfAddressesBindingTest {
    @Test
    void prefixesBindAsTypedValues() {
        LoomstackProperties p = LoomstackPropertiesTest.binder(Map.of(
                "loomstack.self-addresses[0]", "100.64.0.7/32", "loomstack.self-addresses[1]", " fd7a:115c:a1e0::7/128"))
                .bindOrCreate("loomstack", LoomstackProperties.class);
        assertEquals(List.of(IpPrefix.parse("100.64.0.7/32"), IpPrefix.parse("fd7a:115c:a1e0::7/128")), p.selfAddresses());
        assertEquals(List.of(IpPrefix.parse(LoomstackProperties.DEFAULT_SELF_V4), IpPrefix.parse(LoomstackProperties.DEFAULT_SELF_V6)),
                LoomstackPropertiesTest.binder(Map.of()).bindOrCreate("loomstack", LoomstackProperties.class).selfAddresses(),
                "the defaults bind through the same conversion");
    }

    @Test
    void aMalformedOrHostBitsPrefixFailsTheBindNamingItsIndex() {
        for (String bad : new String[] {"300.1.1.1/32", "10.0.0.1/24", "100.64.0.1/33", "not-an-address"}) {
            BindException e = assertThrows(BindException.class, () -> LoomstackPropertiesTest.binder(Map.of(
                    "loomstack.self-addresses[0]", "100.64.0.1/32", "loomstack.self-addresses[1]", bad))
                    .bindOrCreate("loomstack", LoomstackProperties.class), bad);
            assertEquals("loomstack.self-addresses[1]", e.getProperty().getName().toString(), bad);
            assertEquals(bad, e.getProperty().getValue(), bad);
        }
    }

    @Test
    void theServiceRefusesToStartAndTheReportNamesThePropertyAndValue(@TempDir Path state, CapturedOutput output) {
        assertThrows(RuntimeException.class, () -> SpringApplication.run(LoomstackApplication.class,
                "--loomstack.link=memory", "--loomstack.self-addresses[0]=300.1.1.1/32", "--server.port=0",
                "--management.server.port=0", "--loomstack.state-dir=" + state, "--loomstack.admin.token=t"));
        String report = output.getAll();
        assertTrue(report.contains("APPLICATION FAILED TO START"), report);
        assertTrue(report.contains("loomstack.self-addresses[0] = \"300.1.1.1/32\" is not an IP prefix: "
                + "not an IP address: '300.1.1.1'"), report);
        assertTrue(report.contains("Write it in CIDR notation with no host bits set"), report);
    }
}
