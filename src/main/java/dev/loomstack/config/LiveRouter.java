package dev.loomstack.config;

import dev.loomstack.engine.EngineStats;
import dev.loomstack.engine.FlowInfo;
import dev.loomstack.engine.InFlightLimits;
import dev.loomstack.engine.NetmapChange;
import dev.loomstack.engine.Netstack;
import dev.loomstack.engine.NetworkMap;
import dev.loomstack.engine.RouterControl;
import dev.loomstack.engine.Whois;
import dev.loomstack.wireguard.WireGuardKey;
import dev.loomstack.wireguard.WireGuardStatus;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The {@link RouterControl} of whatever engine the lifecycle runs now. */
final class LiveRouter implements RouterControl {
    private final NetstackLifecycle lifecycle;

    LiveRouter(NetstackLifecycle lifecycle) {
        this.lifecycle = lifecycle;
    }

    private Netstack engine() {
        Netstack n = lifecycle.netstack();
        if (n == null) {
            throw new StackNotRunningException();
        }
        return n;
    }

    @Override
    public NetmapChange applyNetmap(NetworkMap map) {
        return engine().applyNetmap(map);
    }

    @Override
    public NetworkMap netmap() {
        return engine().netmap();
    }

    @Override
    public InFlightLimits limits() {
        return engine().limits();
    }

    @Override
    public InFlightLimits updateLimits(InFlightLimits limits) {
        return engine().updateLimits(limits);
    }

    @Override
    public List<FlowInfo> flows() {
        return engine().flows();
    }

    @Override
    public Optional<Whois> whois(InetSocketAddress local) {
        return engine().whois(local);
    }

    @Override
    public Map<String, Long> expvar() {
        return engine().expvar();
    }

    @Override
    public EngineStats engineStats() {
        Netstack n = lifecycle.netstack();
        return n == null ? null : n.engineStats();
    }

    @Override
    public Optional<WireGuardStatus> wireGuardStatus() {
        return engine().wireGuardStatus();
    }

    @Override
    public Optional<WireGuardKey> wireGuardPublicKey() {
        return engine().wireGuardPublicKey();
    }

    @Override
    public boolean linkUp() {
        Netstack n = lifecycle.netstack();
        return n != null && n.linkUp();
    }
}
