package dev.loomstack.config;

import dev.loomstack.packet.IpPrefix;
import org.springframework.boot.context.properties.bind.BindException;
import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.core.Ordered;

/**
 * A {@code loomstack.*} prefix that does not parse ({@code loomstack.self-addresses[0]=300.1.1.1/32})
 * stops the boot with the property, the value and what is wrong with it, and how to write one;
 * ahead of Boot's generic bind report, whose action only says to update the configuration.
 */
public final class PrefixBindFailureAnalyzer extends AbstractFailureAnalyzer<BindException> implements Ordered {
    @Override
    protected FailureAnalysis analyze(Throwable root, BindException cause) {
        if (cause.getTarget().getType().resolve() != IpPrefix.class || cause.getProperty() == null) {
            return null;
        }
        Throwable why = cause;
        while (why.getCause() != null) {
            why = why.getCause();
        }
        String origin = cause.getProperty().getOrigin() != null ? " (from " + cause.getProperty().getOrigin() + ")" : "";
        return new FailureAnalysis(cause.getName() + " = \"" + cause.getProperty().getValue() + "\" is not an IP prefix: "
                + why.getMessage() + origin,
                "Write it in CIDR notation with no host bits set, such as 100.64.0.1/32 or fd7a:115c:a1e0::1/128.", cause);
    }

    @Override
    public int getOrder() {
        return Ordered.HIGHEST_PRECEDENCE;
    }
}
