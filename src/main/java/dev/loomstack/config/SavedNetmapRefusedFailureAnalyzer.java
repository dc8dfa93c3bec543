package dev.loomstack.config;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/** A saved netmap the link refuses at boot stops it with the field and what to provide. */
public final class SavedNetmapRefusedFailureAnalyzer extends AbstractFailureAnalyzer<SavedNetmapRefusedException> {
    @Override
    protected FailureAnalysis analyze(Throwable root, SavedNetmapRefusedException cause) {
        return new FailureAnalysis(cause.getMessage(),
                "Provide what " + cause.field() + " names (the pre-shared key file in loomstack.wireguard.preshared-key-dir, "
                        + "a host name that resolves), or move " + cause.file() + " away and push a corrected netmap.",
                cause);
    }
}
