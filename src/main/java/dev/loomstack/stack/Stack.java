package dev.loomstack.stack;

import dev.loomstack.link.LinkEndpoint;
import dev.loomstack.link.NetworkDispatcher;
import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.IpPrefix;
import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.packet.PacketBufferPool;

/**
 * The stack with its one NIC, as Tailscale's {@code Create} builds it: promiscuous (every
 * destination is accepted, since the router terminates flows for whole subnets), with default
 * IPv4 and IPv6 routes out of the one link. It dispatches inbound packets by IP version to the
 * registered {@link NetworkProtocol}s and is the {@link NetworkOutput} every transport sends through.
 *
 * <p>Inbound packets arrive on the link's reader thread, one at a time; network protocols may keep
 * per-thread scratch state for that reason.
 */
public final class Stack implements NetworkOutput, NetworkDispatcher, AutoCloseable {
    private final LinkEndpoint link;
    private final PacketBufferPool pool;
    private final Stats stats;
    private final TimerService timers;
    private final AddressTable addresses = new AddressTable();
    private final TransportProtocolHandler[] transports = new TransportProtocolHandler[256];
    private NetworkProtocol ipv4;
    private NetworkProtocol ipv6;
    private volatile InboundFilter inboundFilter = InboundFilter.ACCEPT_ALL;
    private volatile EchoPolicy echoPolicy;
    private volatile boolean started;

    /**
     * Decides whether an inbound packet is for this stack at all (the engine's
     * {@code shouldProcessInbound}); a refused packet is counted as dropped.
     */
    @FunctionalInterface
    public interface InboundFilter {
        InboundFilter ACCEPT_ALL = p -> true;

        boolean accept(PacketBuffer packet);
    }

    /**
     * Who answers an ICMP echo request to {@code destination}: {@code REPLY} makes the stack answer
     * at once, {@code TAKEN} means the hook took it (a ping relay answers later with
     * {@link #sendEchoReply}), {@code IGNORE} drops it. {@code icmp[off, off+len)} is the ICMP
     * message, lent for the call.
     */
    @FunctionalInterface
    public interface EchoPolicy {
        enum Decision { REPLY, TAKEN, IGNORE }

        Decision onEchoRequest(IpAddress source, IpAddress destination, byte[] icmp, int off, int len);
    }

    public Stack(LinkEndpoint link, PacketBufferPool pool, Stats stats, TimerService timers) {
        this.link = link;
        this.pool = pool;
        this.stats = stats;
        this.timers = timers;
        this.echoPolicy = (src, dst, b, off, len) -> addresses.contains(dst) ? EchoPolicy.Decision.REPLY : EchoPolicy.Decision.IGNORE;
    }

    public void registerNetworkProtocol(NetworkProtocol p) {
        switch (p.version()) {
            case 4 -> ipv4 = p;
            case 6 -> ipv6 = p;
            default -> throw new IllegalArgumentException("IP version " + p.version());
        }
    }

    public void registerTransport(TransportProtocolHandler t) {
        if (transports[t.protocolNumber()] != null) {
            throw new IllegalStateException("protocol " + t.protocolNumber() + " already registered");
        }
        transports[t.protocolNumber()] = t;
    }

    /** The transport for an IP protocol number, or null. */
    public TransportProtocolHandler transport(int protocol) {
        return transports[protocol & 0xff];
    }

    /**
     * Hands a validated transport packet to its protocol and counts the outcome (shared by both IP
     * versions). Returns true when the sender should get a port-unreachable error. A protocol
     * nobody registered is counted and dropped (RFC 1122 section 3.2.2.1 would allow a
     * protocol-unreachable error; Tailscale's stack stays silent too).
     */
    public boolean deliverToTransport(NetworkPacket packet) {
        TransportProtocolHandler t = transports[packet.protocol() & 0xff];
        if (t == null) {
            stats.droppedPackets.increment();
            return false;
        }
        return switch (t.handlePacket(packet)) {
            case DELIVERED -> {
                stats.ip.packetsDelivered.increment();
                yield false;
            }
            case PORT_UNREACHABLE -> {
                stats.ip.packetsDelivered.increment();
                yield true;
            }
            case DROPPED -> false;
        };
    }

    /**
     * An ICMP echo request ({@code icmp[off, off+len)}) for {@code destination} arrived through
     * {@code via}: the echo policy decides, and a {@code REPLY} is sent back the same way.
     */
    public void echoRequestArrived(NetworkProtocol via, IpAddress source, IpAddress destination, byte[] icmp,
                                   int off, int len) {
        stats.icmp.echoRequestsReceived.increment();
        if (echoPolicy.onEchoRequest(source, destination, icmp, off, len) == EchoPolicy.Decision.REPLY) {
            via.sendEchoReply(destination, source, icmp, off, len);
        }
    }

    public void setInboundFilter(InboundFilter filter) {
        this.inboundFilter = filter == null ? InboundFilter.ACCEPT_ALL : filter;
    }

    public void setEchoPolicy(EchoPolicy policy) {
        this.echoPolicy = policy;
    }

    /** Answers an echo request taken earlier: {@code request} is its ICMP message as received. */
    public void sendEchoReply(IpAddress from, IpAddress to, byte[] request) {
        (from.v4() ? ipv4 : ipv6).sendEchoReply(from, to, request, 0, request.length);
    }

    public EchoPolicy echoPolicy() {
        return echoPolicy;
    }

    public AddressTable addresses() {
        return addresses;
    }

    public boolean addAddress(IpPrefix prefix) {
        return addresses.add(prefix);
    }

    public boolean removeAddress(IpPrefix prefix) {
        return addresses.remove(prefix);
    }

    public boolean hasAddress(IpAddress a) {
        return addresses.contains(a);
    }

    public LinkEndpoint link() {
        return link;
    }

    /** Starts reading from the link. */
    public void start() {
        if (ipv4 == null || ipv6 == null) {
            throw new IllegalStateException("register IPv4 and IPv6 before starting");
        }
        started = true;
        link.start(this);
    }

    @Override
    public void deliverNetworkPacket(PacketBuffer packet) {
        if (packet.length() == 0) {
            stats.ip.malformedPacketsReceived.increment();
            return;
        }
        if (!inboundFilter.accept(packet)) {
            stats.droppedPackets.increment();
            return;
        }
        int version = (packet.array()[packet.start()] & 0xff) >>> 4;
        switch (version) {
            case 4 -> ipv4.receive(packet);
            case 6 -> ipv6.receive(packet);
            default -> {
                stats.ip.packetsReceived.increment();
                stats.ip.malformedPacketsReceived.increment();
            }
        }
    }

    @Override
    public PacketBufferPool pool() {
        return pool;
    }

    @Override
    public int mtu() {
        return link.mtu();
    }

    @Override
    public int maxOffloadSize() {
        return link.maxOffloadSize();
    }

    @Override
    public boolean send(IpAddress source, IpAddress destination, int protocol, PacketBuffer packet) {
        if (source.v4() != destination.v4()) {
            stats.ip.outgoingPacketErrors.increment();
            packet.release();
            return false;
        }
        return (destination.v4() ? ipv4 : ipv6).send(source, destination, protocol, packet);
    }

    /** Hands a finished IP packet to the link (blocking while its queue is full); takes ownership. */
    public boolean writeToLink(PacketBuffer packet) {
        if (link.writePacket(packet)) {
            stats.ip.packetsSent.increment();
            return true;
        }
        stats.ip.outgoingPacketErrors.increment();
        return false;
    }

    @Override
    public Stats stats() {
        return stats;
    }

    @Override
    public TimerService timers() {
        return timers;
    }

    public boolean isStarted() {
        return started;
    }

    @Override
    public void close() {
        started = false;
        link.close();
        if (ipv4 != null) {
            ipv4.close();
        }
        if (ipv6 != null) {
            ipv6.close();
        }
    }
}
