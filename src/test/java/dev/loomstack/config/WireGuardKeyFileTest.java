package dev.loomstack.config;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.LoomstackApplication;
import dev.loomstack.wireguard.StaticIdentity;
import dev.loomstack.wireguard.WireGuardKey;
import dev.loomstack.testing.Cmd;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

/**
 * The router's WireGuard private key: generated once into the state directory with mode 0600 and
 * reused on every later start, or read from the configured file; a file that does not hold a key
 * stops the boot naming the file, and is never replaced.
 */
@ExtendWith(OutputCaptureExtension.class)
class WireGuardKeyFileTest {
    @TempDir
    Path state;

    @Test
    void theKeyIsGeneratedOnceWithMode0600AndReusedAfterARestart() throws Exception {
        WireGuardKey first = WireGuardKeyFile.resolve(null, state);
        Path file = state.resolve("wireguard.key");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        assertEquals(List.of(file), Files.list(state).toList(), "no temporary file left behind");
        byte[] written = Files.readAllBytes(file);
        assertEquals(first.toBase64() + "\n", new String(written, java.nio.charset.StandardCharsets.US_ASCII),
                "as wg genkey prints it");
        assertEquals(first, WireGuardKeyFile.resolve(null, state), "a restart keeps the key");
        assertArrayEquals(written, Files.readAllBytes(file), "and the file");
        assertEquals(first, StaticIdentity.of(first).privateKey(), "clamped already, as wg genkey's are");
    }

    @Test
    void wgReadsTheGeneratedFileAndAgreesOnThePublicKey() throws Exception {
        WireGuardKey key = WireGuardKeyFile.resolve(null, state);
        String pub = Cmd.run("sh", "-c", "wg pubkey < '" + state.resolve("wireguard.key") + "'").check().output().strip();
        assertEquals(StaticIdentity.of(key).publicKey().toBase64(), pub);
    }

    @Test
    void aConfiguredFileIsReadAsItIsAndNothingIsGenerated() throws Exception {
        Path secret = state.resolve("secret-volume").resolve("private-key");
        Files.createDirectories(secret.getParent());
        WireGuardKey key = StaticIdentity.generate().privateKey();
        Files.writeString(secret, key.toBase64());
        assertEquals(key, WireGuardKeyFile.resolve(secret, state));
        assertFalse(Files.exists(state.resolve("wireguard.key")));
        Path missing = state.resolve("absent.key");
        var e = assertThrows(WireGuardKeyFile.InvalidKeyFileException.class, () -> WireGuardKeyFile.resolve(missing, state));
        assertEquals(missing, e.file());
        assertTrue(e.getMessage().contains(missing.toString()) && e.getMessage().contains("does not exist"), e.getMessage());
    }

    @Test
    void aFileThatHoldsNoKeyIsRefusedNamedAndKept() throws Exception {
        Path file = state.resolve("wireguard.key");
        for (String bad : new String[] {"", "not a key\n", "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "x".repeat(5000)}) {
            Files.writeString(file, bad);
            var e = assertThrows(WireGuardKeyFile.InvalidKeyFileException.class, () -> WireGuardKeyFile.resolve(null, state),
                    bad);
            assertEquals(file, e.file());
            assertTrue(e.getMessage().startsWith("WireGuard private key file " + file + " does not hold a key"),
                    e.getMessage());
            assertEquals(bad, Files.readString(file), "never replaced by a new key");
        }
    }

    @Test
    void theServiceRefusesToStartOnAMalformedKeyFileNamingIt(CapturedOutput output) throws Exception {
        Path file = state.resolve("wireguard.key");
        Files.writeString(file, "this is no key\n");
        int port;
        try (DatagramSocket free = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
            port = free.getLocalPort();
        }
        assertThrows(RuntimeException.class, () -> SpringApplication.run(LoomstackApplication.class,
                "--loomstack.link=wireguard", "--loomstack.wireguard.listen-port=" + port, "--server.port=0",
                "--management.server.port=0", "--loomstack.state-dir=" + state, "--loomstack.admin.token=t",
                "--loomstack.dns.upstreams=192.0.2.53"));
        String report = output.getAll();
        assertTrue(report.contains("APPLICATION FAILED TO START"), report);
        assertTrue(report.contains("WireGuard private key file " + file + " does not hold a key"), report);
        assertTrue(report.contains("Put the private key in " + file + " as wg genkey prints it"), report);
        assertFalse(report.contains("this is no key"), "the content is never shown");
    }
}
