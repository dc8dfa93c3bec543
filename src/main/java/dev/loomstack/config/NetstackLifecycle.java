package dev.loomstack.config;

import dev.loomstack.engine.Netstack;
import dev.loomstack.engine.NetworkMap;
import dev.loomstack.link.LinkEndpoint;
import dev.loomstack.link.LinkUnavailableException;
import dev.loomstack.link.MemoryLink;
import dev.loomstack.link.TunLink;
import dev.loomstack.wireguard.WireGuardKey;
import dev.loomstack.wireguard.WireGuardLink;
import dev.loomstack.wireguard.WireGuardSettings;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.tcp.TcpSettings;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.SmartLifecycle;

/**
 * Opens the link (the TUN device, or the WireGuard link's UDP port) and runs the {@link Netstack} on
 * it for as long as the application context lives: started after every bean is ready (re-applying the persisted netmap and limits), stopped
 * gracefully when the context closes (new flows refused, open ones given the drain time, then the
 * device removed).
 *
 * <p>Its {@linkplain #PHASE phase} orders it against the web servers: it starts before they do
 * (the API never serves without an engine) and stops after they have (graceful shutdown, then the
 * servers stopped), so a shutdown runs: the API stops taking requests, the flows drain, the link
 * closes; each step logs a line.
 */
public final class NetstackLifecycle implements SmartLifecycle {
    /**
     * Below the web servers' start/stop phase (and so below their graceful shutdown and the
     * management server's): SmartLifecycles stop in descending phase order.
     */
    public static final int PHASE = WebServerApplicationContext.START_STOP_LIFECYCLE_PHASE - 1024;
    /** The reader reuses one buffer; the pool only has to hand it out. */
    private static final int LINK_POOL = 4;
    /**
     * SLF4J, not System.Logger: on SIGTERM the JDK resets java.util.logging in its own shutdown
     * hook, concurrently with Spring's, and the shutdown lines logged through it were lost.
     */
    private static final Logger LOG = LoggerFactory.getLogger(NetstackLifecycle.class);

    private final LoomstackProperties properties;
    private final StateStore state;
    private final LinkEndpoint.LossListener onLinkLost;
    private final Set<Integer> servicePorts = ConcurrentHashMap.newKeySet();
    private volatile Netstack netstack;

    /** {@code onLinkLost} is told when the TUN device is deleted under the running engine. */
    public NetstackLifecycle(LoomstackProperties properties, StateStore state, LinkEndpoint.LossListener onLinkLost) {
        this.properties = properties;
        this.state = state;
        this.onLinkLost = onLinkLost;
    }

    @Override
    public void start() {
        OutOfMemoryExit.ensure();
        // Read the state before touching the device: a corrupt file stops the boot cleanly.
        StateStore.State saved = state.load();
        if (saved.netmap() == null && properties.initialNetmap() != null) {
            // First boot: the configured netmap becomes the persisted one.
            NetworkMap initial = state.readNetmap(properties.initialNetmap());
            state.saveNetmap(initial);
            saved = state.load();
            LOG.info("first boot: netmap from {}", properties.initialNetmap());
        }
        LinkEndpoint link = openLink();
        try {
            Netstack n = Netstack.create(link, Netstack.Options.defaults(properties.selfAddresses())
                    .withTcp(properties.tcp().apply(TcpSettings.defaults()))
                    .withLimits(properties.limits().resolve())
                    .withHeapPressurePercent(properties.limits().heapPressurePercent())
                    .withProcessing(properties.processLocalIps(), properties.processSubnets())
                    .withDnsUpstreams(properties.dns().resolve())
                    .withDeniedHostPorts(deniedHostPorts())
                    .withDialTimeout(properties.tcp().forward().dialTimeoutOrDefault())
                    .withPresharedKeyDir(properties.wireguard().presharedKeyDirIn(properties.stateDir())));
            n.onLinkLost(onLinkLost);
            n.start();
            LOG.info("ports of this host refused from the TUN by every path: {}",
                    n.deniedHostPorts().stream().sorted().map(String::valueOf).toList());
            NetworkMap map = saved.netmap();
            if (map != null) {
                try {
                    n.applyNetmap(map);
                } catch (NetworkMap.InvalidException refused) {
                    throw new SavedNetmapRefusedException(state.file(), refused);
                }
                LOG.info("re-applied the netmap saved in {}", state.file());
            }
            StateStore.SavedLimits limits = saved.limits();
            if (limits != null) {
                n.updateLimits(limits.over(n.limits()));
            }
            netstack = n;
        } catch (RuntimeException e) {
            link.close();
            throw e;
        }
    }

    private LinkEndpoint openLink() {
        LoomstackProperties.Tun tun = properties.tun();
        return switch (properties.link()) {
            case TUN -> TunLink.open(tun.name(), tun.mtu(), PacketBufferPool.forMtu(tun.mtu(), LINK_POOL), tun.offload());
            case WIREGUARD -> openWireGuard(properties.wireguard());
            case MEMORY -> {
                LOG.info("loomstack.link=memory: no device; the stack runs on a link that nothing reaches");
                yield MemoryLink.unconnected(tun.mtu());
            }
        };
    }

    /**
     * The WireGuard link on {@code loomstack.wireguard.listen-port} of every address, with the key of
     * {@link WireGuardKeyFile}: no device and no privilege needed.
     */
    private LinkEndpoint openWireGuard(LoomstackProperties.Wireguard wg) {
        WireGuardKey key = WireGuardKeyFile.resolve(wg.privateKeyFile(), properties.stateDir());
        WireGuardLink link;
        try {
            link = WireGuardLink.open(new WireGuardSettings(key, new InetSocketAddress(wg.listenPort()), wg.mtu()),
                    PacketBufferPool.forMtu(wg.mtu(), LINK_POOL));
        } catch (LinkUnavailableException e) {
            throw new WireGuardListenException(wg.listenPort(), e);
        }
        LOG.info("loomstack.link=wireguard: listening on UDP port {} with public key {}", link.listenPort(),
                link.publicKey());
        return link;
    }

    /** The service's own HTTP ports and the operator's {@code loomstack.deny-host-ports}. */
    private Set<Integer> deniedHostPorts() {
        Set<Integer> ports = new HashSet<>(servicePorts);
        ports.addAll(properties.denyHostPorts());
        return ports;
    }

    /**
     * A port the service bound (its actual port, also when configured as 0): never forwarded to
     * from the TUN, whichever path (own address, subnet, 4via6) leads to this host.
     */
    public void refuseServicePort(int port) {
        boolean added = servicePorts.add(port);
        Netstack n = netstack;
        if (n != null) {
            n.denyHostPort(port);
            if (added) {
                LOG.info("port {} of this service refused from the TUN by every path", port);
            }
        }
    }

    /**
     * Runs after the web servers stopped (see {@link #PHASE}): drains the open flows for up to
     * {@code loomstack.shutdown.drain}, then closes the engine and its link.
     */
    @Override
    public void stop() {
        Netstack n = netstack;
        if (n == null) {
            return;
        }
        Duration drain = properties.shutdown().drain();
        LOG.info("admin API stopped taking requests");
        LOG.info("draining {} open flows for up to {}; new flows are refused", n.openFlows(),
                durationText(drain));
        try {
            int left = n.drain(drain);
            if (left == 0) {
                LOG.info("drained: no flow left open");
            } else {
                LOG.info("drained: {} flows still open at the end of the drain; closing them", left);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        netstack = null;
        n.close();
        LOG.info(properties.link() == LoomstackProperties.LinkKind.TUN ? "TUN device {} removed" : "link {} closed",
                n.link().name());
    }

    /** {@code 10s}, {@code 1m30s}, {@code 0.5s}: as the property is written, not ISO 8601's {@code PT10S}. */
    static String durationText(Duration d) {
        return d.toString().substring(2).toLowerCase(java.util.Locale.ROOT);
    }

    @Override
    public int getPhase() {
        return PHASE;
    }

    @Override
    public boolean isRunning() {
        return netstack != null;
    }

    /** The running engine, or null before start and after stop. */
    public Netstack netstack() {
        return netstack;
    }
}
