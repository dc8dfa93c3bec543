package dev.loomstack.config;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.core.Ordered;

/**
 * The WireGuard port cannot be bound (taken, or refused): one line naming the port and the property.
 * Ahead of {@link LinkUnavailableFailureAnalyzer}, whose action (TUN privileges) would mislead here.
 */
public final class WireGuardListenFailureAnalyzer extends AbstractFailureAnalyzer<WireGuardListenException>
        implements Ordered {
    @Override
    protected FailureAnalysis analyze(Throwable root, WireGuardListenException cause) {
        return new FailureAnalysis(cause.getMessage(),
                "Stop what holds UDP port " + cause.port() + ", or choose another with loomstack.wireguard.listen-port "
                        + "(LOOMSTACK_WIREGUARD_LISTEN_PORT) and give the peers the new endpoint.", cause);
    }

    @Override
    public int getOrder() {
        return Ordered.HIGHEST_PRECEDENCE;
    }
}
