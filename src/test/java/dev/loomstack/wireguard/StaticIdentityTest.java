package dev.loomstack.wireguard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** StaticIdentity against {@code wg} (wireguard-tools) itself: the same public keys for the same private keys. */
class StaticIdentityTest {
    private static final Path WG = Path.of("/usr/bin/wg");
    private static final long WG_TIMEOUT_SECONDS = 20;

    @BeforeAll
    static void wgInstalled() {
        assumeTrue(Files.isExecutable(WG), "wireguard-tools' wg is not installed at " + WG);
    }

    /** Runs {@code wg <command>} with {@code input} on stdin; its trimmed stdout. */
    private static String wg(String command, String input) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(WG.toString(), command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try (var stdin = process.getOutputStream()) {
            stdin.write(input.getBytes(StandardCharsets.US_ASCII));
        }
        byte[] out = process.getInputStream().readAllBytes();
        if (!process.waitFor(WG_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("wg " + command + " did not finish in " + WG_TIMEOUT_SECONDS + " s");
        }
        assertThat(process.exitValue()).as("wg %s exit code", command).isZero();
        return new String(out, StandardCharsets.US_ASCII).strip();
    }

    @Test
    void publicKeyOfWgGenkeyKeysEqualsWgPubkey() throws Exception {
        for (int i = 0; i < 5; i++) {
            String privateKey = wg("genkey", "");
            String expected = wg("pubkey", privateKey + "\n");
            assertThat(StaticIdentity.of(WireGuardKey.parse(privateKey)).publicKey().toBase64())
                    .as("public key of %s", "wg genkey #" + i).isEqualTo(expected);
        }
    }

    /** wg pubkey clamps any 32 bytes as RFC 7748 section 5 does; so does StaticIdentity.of. */
    @Test
    void unclampedPrivateKeysGiveWgPubkeysPublicKey() throws Exception {
        SecureRandom random = new SecureRandom();
        for (int i = 0; i < 5; i++) {
            byte[] raw = new byte[32];
            random.nextBytes(raw);
            raw[0] |= 7;
            raw[31] |= (byte) 0x80;
            raw[31] &= ~0x40;
            WireGuardKey privateKey = WireGuardKey.of(raw);
            String expected = wg("pubkey", privateKey.toBase64() + "\n");
            StaticIdentity identity = StaticIdentity.of(privateKey);
            assertThat(identity.publicKey().toBase64()).isEqualTo(expected);
            assertThat(identity.privateKey()).isEqualTo(privateKey);
        }
    }

    @Test
    void generatedIdentitiesAreClampedAndWgAgreesOnTheirPublicKeys() throws Exception {
        for (int i = 0; i < 5; i++) {
            StaticIdentity identity = StaticIdentity.generate();
            byte[] privateBytes = identity.privateKey().bytes();
            assertThat(privateBytes[0] & 7).isZero();
            assertThat(privateBytes[31] & 0xc0).isEqualTo(0x40);
            assertThat(wg("pubkey", identity.privateKey().toBase64() + "\n")).isEqualTo(identity.publicKey().toBase64());
        }
        assertThat(StaticIdentity.generate().publicKey()).isNotEqualTo(StaticIdentity.generate().publicKey());
    }

    @Test
    void toStringDoesNotShowThePrivateKey() {
        StaticIdentity identity = StaticIdentity.generate();
        assertThat(identity.toString()).contains(identity.publicKey().toBase64())
                .doesNotContain(identity.privateKey().toBase64());
    }
}
