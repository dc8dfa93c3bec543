package dev.loomstack.config;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/** A WireGuard key file that does not hold a key stops the boot naming the file, never a new key in its place. */
public final class WireGuardKeyFailureAnalyzer extends AbstractFailureAnalyzer<WireGuardKeyFile.InvalidKeyFileException> {
    @Override
    protected FailureAnalysis analyze(Throwable root, WireGuardKeyFile.InvalidKeyFileException cause) {
        return new FailureAnalysis(cause.getMessage(),
                "Put the private key in " + cause.file() + " as wg genkey prints it (44 characters of base64), or, "
                        + "for the generated " + LoomstackProperties.Wireguard.KEY_FILE_NAME + " in the state directory, "
                        + "remove it to generate a new one (peers then need the new public key).", cause);
    }
}
