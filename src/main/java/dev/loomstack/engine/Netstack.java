package dev.loomstack.engine;

import dev.loomstack.ip.IpStack;
import dev.loomstack.ip.Reassembler;
import dev.loomstack.link.LinkEndpoint;
import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.IpPrefix;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.stack.HashedTimerWheel;
import dev.loomstack.stack.Stack;
import dev.loomstack.stack.Stats;
import dev.loomstack.stack.TransportEndpointId;
import dev.loomstack.tcp.ForwarderRequest;
import dev.loomstack.tcp.TcpForwarder;
import dev.loomstack.tcp.TcpProtocol;
import dev.loomstack.tcp.TcpSettings;
import dev.loomstack.udp.UdpEndpoint;
import dev.loomstack.udp.UdpForwarder;
import dev.loomstack.udp.UdpForwarderRequest;
import dev.loomstack.udp.UdpProtocol;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Objects;

/**
 * The router's engine (the seed's {@code Impl}): owns the stack on one link, decides which flows
 * it takes, and re-originates them as host sockets. Created with {@link #create}, started with
 * {@link #start}, stopped with {@link #close}, which leaves no thread or device behind.
 */
public final class Netstack implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Netstack.class.getName());
    /** Buffers kept for reuse: enough for a full write queue plus in-flight work. */
    static final int POOLED_BUFFERS = 4096;

    private final LinkEndpoint link;
    private final Options options;
    private final Stats stats = new Stats();
    private final PacketBufferPool pool;
    private final HashedTimerWheel timers;
    private final Stack stack;
    private final UdpProtocol udp;
    private final TcpProtocol tcp;
    private final TcpForwarder tcpForwarder;
    private final LocalAddresses localAddresses = new LocalAddresses();
    private volatile boolean closed;

    /** What the engine is created with. */
    public record Options(List<IpPrefix> selfAddresses, int reassemblyMemoryCap, TcpSettings tcp,
                          InFlightLimits limits) {
        public Options {
            selfAddresses = List.copyOf(selfAddresses);
            Objects.requireNonNull(tcp, "tcp settings");
            Objects.requireNonNull(limits, "limits");
            if (reassemblyMemoryCap <= 0) {
                throw new IllegalArgumentException("reassemblyMemoryCap must be positive");
            }
        }

        public static Options defaults(List<IpPrefix> selfAddresses) {
            return new Options(selfAddresses, Reassembler.DEFAULT_MEMORY_CAP, TcpSettings.defaults(),
                    InFlightLimits.withDefaultPerClient(InFlightLimits.LINUX_DEFAULT_MAX_IN_FLIGHT));
        }

        public Options withTcp(TcpSettings t) {
            return new Options(selfAddresses, reassemblyMemoryCap, t, limits);
        }
    }

    private Netstack(LinkEndpoint link, Options options) {
        this.link = link;
        this.options = options;
        this.pool = PacketBufferPool.forMtu(link.mtu(), POOLED_BUFFERS);
        this.timers = new HashedTimerWheel("loomstack-timers");
        this.stack = IpStack.create(link, pool, stats, timers, options.reassemblyMemoryCap());
        this.udp = new UdpProtocol(stack);
        stack.registerTransport(udp);
        udp.setForwarder(new UdpForwarder(this::acceptUdp));
        this.tcp = new TcpProtocol(stack, options.tcp());
        stack.registerTransport(tcp);
        this.tcpForwarder = new TcpForwarder(options.limits().maxInFlight(), this::acceptTcp);
        tcp.setForwarder(tcpForwarder);
    }

    /** Validates the collaborators and builds the stack; nothing runs until {@link #start}. */
    public static Netstack create(LinkEndpoint link, Options options) {
        Objects.requireNonNull(link, "link must not be null");
        Objects.requireNonNull(options, "options must not be null");
        if (link.mtu() < 1280) {
            throw new IllegalArgumentException("link MTU " + link.mtu() + " is below IPv6's minimum of 1280");
        }
        return new Netstack(link, options);
    }

    /** Registers the self addresses, starts timers and the link. */
    public void start() {
        for (IpPrefix p : options.selfAddresses()) {
            stack.addAddress(p);
        }
        localAddresses.replace(options.selfAddresses().stream().map(IpPrefix::address).toList());
        timers.start();
        stack.start();
        LOG.log(Level.INFO, "serving on {0} (mtu {1}) with addresses {2}", link.name(), link.mtu(),
                options.selfAddresses());
    }

    public Stack stack() {
        return stack;
    }

    public Stats stats() {
        return stats;
    }

    public UdpProtocol udp() {
        return udp;
    }

    public TcpProtocol tcp() {
        return tcp;
    }

    public TcpForwarder tcpForwarder() {
        return tcpForwarder;
    }

    public LocalAddresses localAddresses() {
        return localAddresses;
    }

    public LinkEndpoint link() {
        return link;
    }

    /** The seed's {@code acceptUDP}: own-address flows go to loopback; the rest are not taken yet. */
    private void acceptUdp(UdpForwarderRequest request) {
        TransportEndpointId id = request.id();
        IpAddress dst = id.localAddress();
        if (!localAddresses.contains(dst)) {
            // Nothing to forward to: the endpoint was never created, so the datagram is dropped.
            stats.droppedPackets.increment();
            return;
        }
        UdpEndpoint client = request.createEndpoint();
        InetSocketAddress dial = new InetSocketAddress(InetAddress.getLoopbackAddress(), id.localPort());
        UdpFlowForwarder.run(id, client, dial, true, UdpFlowForwarder.idleTimeoutFor(id.localPort()), backend -> { });
    }

    /**
     * The seed's {@code acceptTCP}/{@code forwardTCP} for own addresses: dial {@code 127.0.0.1:port}
     * before the handshake completes; anything else is refused with a RST.
     */
    private void acceptTcp(ForwarderRequest request) {
        TransportEndpointId id = request.id();
        if (!localAddresses.contains(id.localAddress())) {
            request.complete(true);
            return;
        }
        InetSocketAddress dial = new InetSocketAddress(InetAddress.getLoopbackAddress(), id.localPort());
        TcpFlowForwarder.run(request, dial, true, TcpFlowForwarder.Observer.NONE);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        tcp.close();
        udp.close();
        stack.close();
        timers.close();
    }
}
