package dev.loomstack.api;

import dev.loomstack.api.ApiModel.FlowPage;
import dev.loomstack.api.ApiModel.FlowView;
import dev.loomstack.api.ApiModel.LimitsView;
import dev.loomstack.api.ApiModel.NetmapApplied;
import dev.loomstack.api.ApiModel.NetmapView;
import dev.loomstack.api.ApiModel.WhoisView;
import dev.loomstack.api.ApiModel.WireGuardView;
import dev.loomstack.config.StateStore;
import dev.loomstack.engine.FlowInfo;
import dev.loomstack.engine.InFlightLimits;
import dev.loomstack.engine.NetmapChange;
import dev.loomstack.engine.NetworkMap;
import dev.loomstack.engine.RouterControl;
import dev.loomstack.packet.IpPrefix;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Service;

/**
 * What the admin API does: applies and persists netmaps and limits, and reads the engine's flows
 * and identities. Every change is logged with who asked, what changed and when.
 *
 * <p>A change is applied to the engine first and persisted second, and only then answered 200: an
 * engine that refuses it (not running: 503; a value it rejects: 400) leaves {@code state.json}
 * untouched, and a write that fails puts the engine back to what it ran before (500). So whatever
 * was answered 200 is on disk and comes back after a restart, and a failed request changes
 * nothing. Persisting first would have written maps the engine never ran, to be applied on the
 * next boot although the client was told they failed.
 */
@Service
public class AdminService {
    private static final Logger LOG = LoggerFactory.getLogger(AdminService.class);

    private final RouterControl router;
    private final StateStore state;
    private final Clock clock;
    private final Object changes = new Object();

    public AdminService(RouterControl router, StateStore state) {
        this.router = router;
        this.state = state;
        this.clock = Clock.systemUTC();
    }

    public NetmapApplied applyNetmap(NetmapView view, String who) {
        NetworkMap map = view.toNetworkMap();
        synchronized (changes) {
            NetworkMap before = router.netmap();
            NetmapChange change = router.applyNetmap(map);
            try {
                state.saveNetmap(map);
            } catch (RuntimeException persistFailed) {
                router.applyNetmap(before);
                throw persistFailed;
            }
            LOG.atInfo().addKeyValue("event", "netmap.applied").addKeyValue("by", who)
                    .addKeyValue("self", map.selfNode().name()).addKeyValue("peers", map.peers().size())
                    .addKeyValue("added", texts(change.added())).addKeyValue("removed", texts(change.removed()))
                    .addKeyValue("at", clock.instant().toString())
                    .log("netmap applied by {}: added {}, removed {}", who, change.added(), change.removed());
            return NetmapApplied.of(change, router.wireGuardPublicKey());
        }
    }

    public NetmapView netmap() {
        return NetmapView.of(router.netmap(), router.wireGuardPublicKey());
    }

    /** What {@code wg show} reports; {@link AdminController.NotWireGuardException} when the link is not WireGuard. */
    public WireGuardView wireGuard() {
        return router.wireGuardStatus().map(s -> WireGuardView.of(s, router.netmap()))
                .orElseThrow(AdminController.NotWireGuardException::new);
    }

    public LimitsView limits() {
        return LimitsView.of(router.limits());
    }

    public LimitsView updateLimits(LimitsView view, String who) {
        synchronized (changes) {
            InFlightLimits before = router.limits();
            InFlightLimits next = view.toLimits(before);
            InFlightLimits applied = router.updateLimits(next);
            try {
                state.saveLimits(applied);
            } catch (RuntimeException persistFailed) {
                router.updateLimits(before);
                throw persistFailed;
            }
            LOG.atInfo().addKeyValue("event", "limits.changed").addKeyValue("by", who)
                    .addKeyValue("from", fields(before)).addKeyValue("to", fields(applied))
                    .addKeyValue("at", clock.instant().toString())
                    .log("forwarding limits changed by {} from {} to {}", who, before, applied);
            return LimitsView.of(applied);
        }
    }

    /** Prefixes as a list of strings: a JSON array in structured logs. */
    private static List<String> texts(List<IpPrefix> prefixes) {
        return prefixes.stream().map(IpPrefix::toString).toList();
    }

    /** Limits by field, in the API's names: a JSON object with numbers in structured logs. */
    private static Map<String, Integer> fields(InFlightLimits l) {
        Map<String, Integer> m = new LinkedHashMap<>();
        m.put("maxInFlight", l.maxInFlight());
        m.put("maxInFlightPerClient", l.maxInFlightPerClient());
        m.put("maxUdpFlows", l.maxUdpFlows());
        return m;
    }

    public FlowPage flows(int page, int size) {
        List<FlowInfo> all = router.flows();
        Instant now = clock.instant();
        int from = (int) Math.min((long) page * size, all.size());
        int to = Math.min(from + size, all.size());
        List<FlowView> content = all.subList(from, to).stream().map(f -> FlowView.of(f, now)).toList();
        int pages = (all.size() + size - 1) / size;
        return new FlowPage(content, page, size, all.size(), pages);
    }

    public Optional<WhoisView> whois(InetSocketAddress local) {
        return router.whois(local).map(WhoisView::of);
    }
}
