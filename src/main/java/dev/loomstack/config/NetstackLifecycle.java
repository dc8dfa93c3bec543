package dev.loomstack.config;

import dev.loomstack.engine.Netstack;
import dev.loomstack.link.TunLink;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.tcp.TcpSettings;
import org.springframework.context.SmartLifecycle;

/**
 * Opens the TUN device and runs the {@link Netstack} on it for as long as the application context
 * lives: started after every bean is ready, stopped (device removed) when the context closes.
 */
public final class NetstackLifecycle implements SmartLifecycle {
    /** The reader reuses one buffer; the pool only has to hand it out. */
    private static final int LINK_POOL = 4;

    private final LoomstackProperties properties;
    private volatile Netstack netstack;

    public NetstackLifecycle(LoomstackProperties properties) {
        this.properties = properties;
    }

    @Override
    public void start() {
        LoomstackProperties.Tun tun = properties.tun();
        TunLink link = TunLink.open(tun.name(), tun.mtu(), PacketBufferPool.forMtu(tun.mtu(), LINK_POOL));
        try {
            Netstack n = Netstack.create(link, Netstack.Options.defaults(properties.selfPrefixes())
                    .withTcp(properties.tcp().apply(TcpSettings.defaults()))
                    .withLimits(properties.limits().resolve())
                    .withProcessing(properties.processLocalIps(), properties.processSubnets())
                    .withDnsUpstreams(properties.dns().resolve()));
            n.start();
            netstack = n;
        } catch (RuntimeException e) {
            link.close();
            throw e;
        }
    }

    @Override
    public void stop() {
        Netstack n = netstack;
        netstack = null;
        if (n != null) {
            n.close();
        }
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
