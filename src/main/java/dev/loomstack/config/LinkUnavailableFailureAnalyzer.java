package dev.loomstack.config;

import dev.loomstack.link.LinkUnavailableException;
import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/** Turns a missing TUN device or privilege into Boot's short failure report instead of a stack trace. */
public final class LinkUnavailableFailureAnalyzer extends AbstractFailureAnalyzer<LinkUnavailableException> {
    @Override
    protected FailureAnalysis analyze(Throwable root, LinkUnavailableException cause) {
        return new FailureAnalysis(cause.getMessage(),
                "Run as root or with CAP_NET_ADMIN and give the process /dev/net/tun "
                        + "(in a container: --cap-add NET_ADMIN --device /dev/net/tun).", cause);
    }
}
