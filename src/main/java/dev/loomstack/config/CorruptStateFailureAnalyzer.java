package dev.loomstack.config;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/** A state file that cannot be read stops the boot with one clear message, never a silent reset. */
public final class CorruptStateFailureAnalyzer extends AbstractFailureAnalyzer<StateStore.CorruptStateException> {
    @Override
    protected FailureAnalysis analyze(Throwable root, StateStore.CorruptStateException cause) {
        return new FailureAnalysis(cause.getMessage(),
                "Repair " + cause.file() + " (it holds the last applied netmap and limits as JSON), or move it "
                        + "away to start from the embedded defaults and push the netmap again.", cause);
    }
}
