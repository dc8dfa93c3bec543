package dev.loomstack.tcp;

import static dev.loomstack.packet.TcpHeader.ACK;
import static dev.loomstack.packet.TcpHeader.RST;
import static dev.loomstack.packet.TcpHeader.SYN;

import dev.loomstack.packet.Checksum;
import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.packet.TcpHeader;
import dev.loomstack.stack.NetworkOutput;
import dev.loomstack.stack.NetworkPacket;
import dev.loomstack.stack.Stats;
import dev.loomstack.stack.TokenBucket;
import dev.loomstack.stack.TransportEndpointId;
import dev.loomstack.stack.TransportProtocolHandler;
import java.io.IOException;
import java.net.BindException;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * TCP as the IP layer sees it: validates segments, finds their connection, and hands SYNs for
 * which no connection exists to a listener or the {@link TcpForwarder}. A segment for nothing at
 * all is answered with a reset (RFC 9293 section 3.10.7.1).
 */
public final class TcpProtocol implements TransportProtocolHandler {
    static final int EPHEMERAL_FIRST = 32_768;
    static final int EPHEMERAL_LAST = 60_999;
    /** Linux's tcp_challenge_ack_limit, per second. */
    static final int CHALLENGE_ACKS_PER_SECOND = 1000;

    private final NetworkOutput output;
    private final Stats.TcpStats stats;
    private final TcpSettings settings;
    private final IsnGenerator isns = new IsnGenerator();
    private final TokenBucket challengeAcks;
    private final ConcurrentHashMap<FlowKey, TcpEndpoint> connections = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Integer, TcpListener> listeners = new ConcurrentHashMap<>();
    private volatile TcpForwarder forwarder;
    // Reader-thread scratch: one probe key and one segment for every inbound packet.
    private final FlowKey probe = new FlowKey();
    private final Segment segment = new Segment();

    public TcpProtocol(NetworkOutput output, TcpSettings settings) {
        this.output = output;
        this.stats = output.stats().tcp;
        this.settings = settings;
        this.challengeAcks = new TokenBucket(output.timers().clock(), CHALLENGE_ACKS_PER_SECOND, CHALLENGE_ACKS_PER_SECOND);
    }

    public TcpProtocol(NetworkOutput output) {
        this(output, TcpSettings.defaults());
    }

    @Override
    public int protocolNumber() {
        return TcpHeader.PROTOCOL;
    }

    NetworkOutput output() {
        return output;
    }

    public TcpSettings settings() {
        return settings;
    }

    public Stats.TcpStats stats() {
        return stats;
    }

    int isn(IpAddress local, int localPort, IpAddress remote, int remotePort) {
        return isns.isn(local, localPort, remote, remotePort, output.timers().clock().nanoTime());
    }

    boolean allowChallengeAck() {
        return challengeAcks.tryAcquire();
    }

    /** Installs (or with null removes) the handler for SYNs no listener takes. */
    public void setForwarder(TcpForwarder f) {
        this.forwarder = f;
    }

    // ---- inbound -------------------------------------------------------------------------------

    @Override
    public Delivery handlePacket(NetworkPacket p) {
        byte[] b = p.array();
        int off = p.transportOffset();
        int len = p.transportLength();
        if (len < TcpHeader.MIN_LENGTH) {
            stats.invalidSegmentsReceived.increment();
            return Delivery.DROPPED;
        }
        int hl = TcpHeader.headerLength(b, off);
        if (hl < TcpHeader.MIN_LENGTH || hl > len) {
            stats.invalidSegmentsReceived.increment();
            return Delivery.DROPPED;
        }
        // A checksum the link or the peer's kernel verified already (offload) is not summed again.
        PacketBuffer buffer = p.buffer();
        if (!buffer.checksumVerified() && !Checksum.verifies(Checksum.add(p.pseudoHeaderSum(len), b, off, len))) {
            stats.checksumErrors.increment();
            stats.invalidSegmentsReceived.increment();
            return Delivery.DROPPED;
        }
        Segment seg = segment;
        if (!seg.options.parse(b, off + TcpHeader.MIN_LENGTH, off + hl)) {
            stats.invalidSegmentsReceived.increment();
            return Delivery.DROPPED;
        }
        seg.sequence = TcpHeader.sequence(b, off);
        seg.acknowledgment = TcpHeader.acknowledgment(b, off);
        seg.flags = TcpHeader.flags(b, off);
        seg.window = TcpHeader.window(b, off);
        seg.array = b;
        seg.payloadOffset = off + hl;
        seg.payloadLength = len - hl;
        seg.segments = Segment.segmentsIn(seg.payloadLength, buffer.segmentSize());
        int srcPort = TcpHeader.sourcePort(b, off);
        int dstPort = TcpHeader.destinationPort(b, off);
        TcpEndpoint ep = connections.get(probe.set(b, p.sourceOffset(), p.destinationOffset(), p.addressLength(),
                srcPort, dstPort));
        if (ep != null) {
            ep.segmentArrived(seg);
            return Delivery.DELIVERED;
        }
        if (seg.has(RST)) {
            // RFC 9293 section 3.10.7.1: a reset for nothing is ignored, but a client giving up on a
            // forwarded SYN still in flight cancels the handler's work.
            TcpForwarder f = forwarder;
            if (f != null) {
                f.resetArrived(new TransportEndpointId(p.destination(), dstPort, p.source(), srcPort));
            }
            return Delivery.DELIVERED;
        }
        if (seg.has(SYN) && !seg.has(ACK)) {
            if (srcPort == 0 || dstPort == 0) {
                stats.invalidSegmentsReceived.increment();
                return Delivery.DROPPED;
            }
            TcpListener l = listeners.get(dstPort);
            if (l != null && l.accepts(p)) {
                stats.validSegmentsReceived.increment();
                l.synArrived(synInfo(p, srcPort, dstPort, seg));
                return Delivery.DELIVERED;
            }
            TcpForwarder f = forwarder;
            if (f != null) {
                stats.validSegmentsReceived.increment();
                f.synArrived(this, p, srcPort, dstPort, seg);
                return Delivery.DELIVERED;
            }
        }
        sendResetFor(p.destination(), dstPort, p.source(), srcPort, seg);
        return Delivery.DELIVERED;
    }

    private static SynInfo synInfo(NetworkPacket p, int srcPort, int dstPort, Segment seg) {
        return SynInfo.of(new TransportEndpointId(p.destination(), dstPort, p.source(), srcPort), seg);
    }

    SynInfo synInfo(NetworkPacket p, int srcPort, int dstPort) {
        return synInfo(p, srcPort, dstPort, segment);
    }

    /** RFC 9293 section 3.10.7.1: the reset for a segment that belongs to no connection. */
    private void sendResetFor(IpAddress local, int localPort, IpAddress remote, int remotePort, Segment seg) {
        if (seg.has(ACK)) {
            sendReset(local, localPort, remote, remotePort, seg.acknowledgment, 0, RST);
        } else {
            sendReset(local, localPort, remote, remotePort, 0, seg.sequence + seg.sequenceLength(), RST | ACK);
        }
    }

    void replyWithReset(TcpEndpoint ep, Segment seg) {
        if (!seg.has(RST)) {
            sendResetFor(ep.localAddress(), ep.localPort(), ep.remoteAddress(), ep.remotePort(), seg);
        }
    }

    void sendReset(IpAddress local, int localPort, IpAddress remote, int remotePort, int seq, int ack, int flags) {
        PacketBuffer pb = output.pool().acquire(NetworkOutput.MAX_IP_HEADER + TcpHeader.MIN_LENGTH,
                NetworkOutput.MAX_IP_HEADER);
        int at = pb.append(TcpHeader.MIN_LENGTH);
        TcpHeader.write(pb.array(), at, localPort, remotePort, seq, ack, TcpHeader.MIN_LENGTH, flags, 0);
        TcpHeader.fillChecksum(pb.array(), at, TcpHeader.MIN_LENGTH, local, remote);
        stats.resetsSent.increment();
        stats.segmentsSent.increment();
        if (!output.send(local, remote, TcpHeader.PROTOCOL, pb)) {
            stats.segmentSendErrors.increment();
        }
    }

    // ---- endpoints -----------------------------------------------------------------------------

    /** Creates the endpoint for an accepted SYN and answers it; the handshake completes on its own. */
    TcpEndpoint accept(SynInfo syn) throws IOException {
        return accept(syn, settings);
    }

    TcpEndpoint accept(SynInfo syn, TcpSettings with) throws IOException {
        TransportEndpointId id = syn.id();
        TcpEndpoint ep = new TcpEndpoint(this, with, id.localAddress(), id.localPort(), id.remoteAddress(),
                id.remotePort());
        if (connections.putIfAbsent(ep.key, ep) != null) {
            throw new BindException("a connection for " + id + " already exists");
        }
        ep.acceptSyn(syn);
        return ep;
    }

    void remove(TcpEndpoint ep) {
        connections.remove(ep.key, ep);
    }

    /** Connections in any state but CLOSED (including TIME-WAIT). */
    public int connectionCount() {
        return connections.size();
    }

    public Collection<TcpEndpoint> connections() {
        return List.copyOf(connections.values());
    }

    /**
     * Opens a connection from {@code local} (an ephemeral port) to {@code remote:port}: Tailscale's
     * {@code DialContextTCP}. SYNs are retransmitted until the deadline.
     *
     * @throws java.net.ConnectException when the peer refuses
     * @throws java.net.SocketTimeoutException when the deadline passes first
     */
    public TcpEndpoint connect(IpAddress local, IpAddress remote, int remotePort, long timeoutNanos) throws IOException {
        if (local.v4() != remote.v4()) {
            throw new IllegalArgumentException("address families of " + local + " and " + remote + " differ");
        }
        TcpEndpoint ep = null;
        int span = EPHEMERAL_LAST - EPHEMERAL_FIRST + 1;
        int startAt = ThreadLocalRandom.current().nextInt(span);
        for (int i = 0; i < span && ep == null; i++) {
            int port = EPHEMERAL_FIRST + (startAt + i) % span;
            if (listeners.containsKey(port)) {
                continue;
            }
            TcpEndpoint candidate = new TcpEndpoint(this, settings, local, port, remote, remotePort);
            if (connections.putIfAbsent(candidate.key, candidate) == null) {
                ep = candidate;
            }
        }
        if (ep == null) {
            stats.failedPortReservations.increment();
            throw new BindException("no ephemeral port free towards " + remote + ":" + remotePort);
        }
        ep.connect();
        try {
            ep.awaitEstablished(timeoutNanos);
        } catch (IOException e) {
            if (ep.state() == TcpState.SYN_SENT) {
                // The caller's deadline ended the handshake; the endpoint's own failures count themselves.
                stats.failedConnectionAttempts.increment();
            }
            ep.abort();
            throw e;
        }
        return ep;
    }

    /** Listens on {@code port} of {@code address} (or of every address, with a wildcard). */
    public TcpListener listen(IpAddress address, int port, int backlog) throws BindException {
        TcpListener l = new TcpListener(this, address, port, backlog);
        if (listeners.putIfAbsent(port, l) != null) {
            throw new BindException("TCP port " + port + " already has a listener");
        }
        return l;
    }

    void unlisten(TcpListener l) {
        listeners.remove(l.port(), l);
    }

    /** Resets every connection and stops taking new ones. */
    public void close() {
        forwarder = null;
        for (TcpListener l : List.copyOf(listeners.values())) {
            l.close();
        }
        for (TcpEndpoint ep : List.copyOf(connections.values())) {
            ep.abort();
        }
    }
}
