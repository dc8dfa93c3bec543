package dev.loomstack.engine;

import dev.loomstack.wireguard.WireGuardKey;
import dev.loomstack.wireguard.WireGuardStatus;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** What the admin API and the metrics see of the running router. */
public interface RouterControl {
    /** Applies a netmap (diffing against the one in force) and reports what changed. */
    NetmapChange applyNetmap(NetworkMap map);

    NetworkMap netmap();

    InFlightLimits limits();

    /** Applies new limits live; connections already in flight are kept. */
    InFlightLimits updateLimits(InFlightLimits limits);

    /** The forwarded flows now open. */
    List<FlowInfo> flows();

    Optional<Whois> whois(InetSocketAddress local);

    /** Tailscale's {@code ExpVar()} keys and values, plus the process-wide client metrics. */
    Map<String, Long> expvar();

    /**
     * The figures of the engine serving now, each readable on its own, or null when no engine
     * serves (before start, after stop; a router without an engine never has one).
     */
    default EngineStats engineStats() {
        return null;
    }

    /** What {@code wg show} reports of the WireGuard link, or empty when the link is not WireGuard. */
    default Optional<WireGuardStatus> wireGuardStatus() {
        return Optional.empty();
    }

    /** This router's WireGuard public key, or empty when the link is not WireGuard. */
    default Optional<WireGuardKey> wireGuardPublicKey() {
        return Optional.empty();
    }

    /** True when the link is up and serving. */
    boolean linkUp();
}
