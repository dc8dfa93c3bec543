package dev.loomstack.udp;

import dev.loomstack.packet.Bytes;
import dev.loomstack.packet.Checksum;
import dev.loomstack.packet.UdpHeader;
import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.stack.NetworkOutput;
import dev.loomstack.stack.NetworkPacket;
import dev.loomstack.stack.Stats;
import dev.loomstack.stack.TransportEndpointId;
import dev.loomstack.stack.TransportProtocolHandler;
import java.io.IOException;
import java.net.BindException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.agrona.collections.Int2ObjectHashMap;
import org.agrona.collections.Long2ObjectHashMap;

/**
 * UDP (RFC 768) for the userspace stack: demultiplexes datagrams to endpoints, hands the first
 * datagram of an unknown flow to the {@link UdpForwarder}, and sends datagrams with their checksum.
 *
 * <p>Lookup order for an inbound datagram: the connected endpoint for the exact four-tuple, then an
 * endpoint bound to the destination address and port, then one bound to the wildcard address, then
 * the forwarder; with none of them the IP layer answers ICMP port unreachable. Lookups take a read
 * lock and allocate nothing: buckets are keyed by primitive hashes and chained through the endpoints.
 */
public final class UdpProtocol implements TransportProtocolHandler {
    public static final int PROTOCOL_NUMBER = 17;
    public static final int HEADER_LENGTH = UdpHeader.LENGTH;
    /** The largest payload one IPv4 or IPv6 datagram can carry without jumbograms (RFC 768, RFC 8200). */
    public static final int MAX_PAYLOAD = 65_535 - HEADER_LENGTH - 20;

    private static final int EPHEMERAL_FIRST = 32_768;
    private static final int EPHEMERAL_LAST = 60_999;

    private final NetworkOutput output;
    private final Stats.UdpStats stats;
    private final ReentrantReadWriteLock tableLock = new ReentrantReadWriteLock();
    private final Long2ObjectHashMap<UdpEndpoint> connected = new Long2ObjectHashMap<>();
    private final Int2ObjectHashMap<UdpEndpoint> bound = new Int2ObjectHashMap<>();
    private volatile UdpForwarder forwarder;

    public UdpProtocol(NetworkOutput output) {
        this.output = output;
        this.stats = output.stats().udp;
    }

    NetworkOutput output() {
        return output;
    }

    Stats.UdpStats stats() {
        return stats;
    }

    @Override
    public int protocolNumber() {
        return PROTOCOL_NUMBER;
    }

    /** Installs (or with null removes) the handler for datagrams that no endpoint takes. */
    public void setForwarder(UdpForwarder forwarder) {
        this.forwarder = forwarder;
    }

    // ---- binding -------------------------------------------------------------------------------

    /**
     * Binds an endpoint to {@code address} (or the wildcard {@link IpAddress#V4_ANY}/{@link
     * IpAddress#V6_ANY}) and {@code port} (0 picks an ephemeral port).
     */
    public UdpEndpoint bind(IpAddress address, int port) throws BindException {
        tableLock.writeLock().lock();
        try {
            int p = port == 0 ? pickEphemeral(address) : port;
            if (p < 0 || boundTo(address, p) != null) {
                throw new BindException("UDP port " + (port == 0 ? "range" : address + ":" + port) + " is in use");
            }
            UdpEndpoint ep = new UdpEndpoint(this, address, p, null, 0);
            insertBound(ep);
            return ep;
        } finally {
            tableLock.writeLock().unlock();
        }
    }

    /** Creates a connected endpoint for a flow the forwarder accepted. */
    UdpEndpoint createConnected(TransportEndpointId id) {
        tableLock.writeLock().lock();
        try {
            UdpEndpoint ep = new UdpEndpoint(this, id.localAddress(), id.localPort(), id.remoteAddress(), id.remotePort());
            insertConnected(ep);
            return ep;
        } finally {
            tableLock.writeLock().unlock();
        }
    }

    void connect(UdpEndpoint ep, IpAddress address, int port) {
        if (address.v4() != ep.localAddress().v4()) {
            throw new IllegalArgumentException("address family of " + address + " differs from the endpoint's");
        }
        tableLock.writeLock().lock();
        try {
            if (ep.isConnected()) {
                removeConnected(ep);
            } else {
                removeBound(ep);
            }
            ep.setRemote(address, port);
            insertConnected(ep);
        } finally {
            tableLock.writeLock().unlock();
        }
    }

    void unregister(UdpEndpoint ep) {
        tableLock.writeLock().lock();
        try {
            if (ep.isConnected()) {
                removeConnected(ep);
            } else {
                removeBound(ep);
            }
        } finally {
            tableLock.writeLock().unlock();
        }
    }

    /** Closes every endpoint (waking their readers) and stops taking new flows. */
    public void close() {
        forwarder = null;
        java.util.List<UdpEndpoint> all = new java.util.ArrayList<>();
        tableLock.readLock().lock();
        try {
            for (UdpEndpoint head : connected.values()) {
                for (UdpEndpoint e = head; e != null; e = e.nextInBucket) {
                    all.add(e);
                }
            }
            for (UdpEndpoint head : bound.values()) {
                for (UdpEndpoint e = head; e != null; e = e.nextInBucket) {
                    all.add(e);
                }
            }
        } finally {
            tableLock.readLock().unlock();
        }
        all.forEach(UdpEndpoint::close);
    }

    /** Endpoints currently registered (bound or connected). */
    public int endpointCount() {
        tableLock.readLock().lock();
        try {
            int n = 0;
            for (UdpEndpoint head : connected.values()) {
                for (UdpEndpoint e = head; e != null; e = e.nextInBucket) {
                    n++;
                }
            }
            for (UdpEndpoint head : bound.values()) {
                for (UdpEndpoint e = head; e != null; e = e.nextInBucket) {
                    n++;
                }
            }
            return n;
        } finally {
            tableLock.readLock().unlock();
        }
    }

    private int pickEphemeral(IpAddress address) {
        int span = EPHEMERAL_LAST - EPHEMERAL_FIRST + 1;
        int start = ThreadLocalRandom.current().nextInt(span);
        for (int i = 0; i < span; i++) {
            int p = EPHEMERAL_FIRST + (start + i) % span;
            if (boundTo(address, p) == null) {
                return p;
            }
        }
        return -1;
    }

    private UdpEndpoint boundTo(IpAddress address, int port) {
        for (UdpEndpoint e = bound.get(port); e != null; e = e.nextInBucket) {
            if (e.localAddress().equals(address)) {
                return e;
            }
        }
        return null;
    }

    private void insertBound(UdpEndpoint ep) {
        ep.nextInBucket = bound.get(ep.localPort());
        bound.put(ep.localPort(), ep);
    }

    private void removeBound(UdpEndpoint ep) {
        UdpEndpoint head = bound.get(ep.localPort());
        UdpEndpoint newHead = unlink(head, ep);
        if (newHead == null) {
            bound.remove(ep.localPort());
        } else if (newHead != head) {
            bound.put(ep.localPort(), newHead);
        }
    }

    private static long tupleKey(int localPort, int remotePort, int localHash, int remoteHash) {
        return ((long) localPort << 48) | ((long) remotePort << 32) | ((localHash * 31 + remoteHash) & 0xffffffffL);
    }

    private static long keyOf(UdpEndpoint ep) {
        return tupleKey(ep.localPort(), ep.remotePort(),
                TransportEndpointId.addressHash(ep.localAddress()), TransportEndpointId.addressHash(ep.remoteAddress()));
    }

    private void insertConnected(UdpEndpoint ep) {
        long key = keyOf(ep);
        ep.nextInBucket = connected.get(key);
        connected.put(key, ep);
    }

    private void removeConnected(UdpEndpoint ep) {
        long key = keyOf(ep);
        UdpEndpoint head = connected.get(key);
        UdpEndpoint newHead = unlink(head, ep);
        if (newHead == null) {
            connected.remove(key);
        } else if (newHead != head) {
            connected.put(key, newHead);
        }
    }

    private static UdpEndpoint unlink(UdpEndpoint head, UdpEndpoint ep) {
        if (head == ep) {
            UdpEndpoint next = ep.nextInBucket;
            ep.nextInBucket = null;
            return next;
        }
        for (UdpEndpoint e = head; e != null; e = e.nextInBucket) {
            if (e.nextInBucket == ep) {
                e.nextInBucket = ep.nextInBucket;
                ep.nextInBucket = null;
                break;
            }
        }
        return head;
    }

    // ---- receive -------------------------------------------------------------------------------

    @Override
    public Delivery handlePacket(NetworkPacket pkt) {
        stats.packetsReceived.increment();
        byte[] b = pkt.array();
        int off = pkt.transportOffset();
        int avail = pkt.transportLength();
        if (avail < HEADER_LENGTH) {
            stats.malformedPacketsReceived.increment();
            return Delivery.DROPPED;
        }
        int length = Bytes.u16(b, off + 4);
        // RFC 768: the length covers header and data; IP may carry trailing padding, never less.
        if (length < HEADER_LENGTH || length > avail) {
            stats.malformedPacketsReceived.increment();
            return Delivery.DROPPED;
        }
        int checksum = Bytes.u16(b, off + 6);
        if (checksum == 0) {
            // RFC 8200 section 8.1: a zero UDP checksum is not allowed over IPv6.
            if (pkt.isV6()) {
                stats.checksumErrors.increment();
                return Delivery.DROPPED;
            }
        } else if (!pkt.buffer().checksumVerified()
                && !Checksum.verifies(Checksum.add(pkt.pseudoHeaderSum(length), b, off, length))) {
            stats.checksumErrors.increment();
            return Delivery.DROPPED;
        }
        int srcPort = Bytes.u16(b, off);
        int dstPort = Bytes.u16(b, off + 2);
        int alen = pkt.addressLength();
        int srcOff = pkt.sourceOffset();
        int dstOff = pkt.destinationOffset();

        UdpEndpoint target = lookup(b, srcOff, dstOff, alen, srcPort, dstPort);
        if (target != null) {
            if (!target.enqueue(b, off + HEADER_LENGTH, length - HEADER_LENGTH, b, srcOff, alen, srcPort)) {
                stats.receiveBufferErrors.increment();
                return Delivery.DROPPED;
            }
            return Delivery.DELIVERED;
        }
        UdpForwarder f = forwarder;
        if (f != null) {
            return f.handleNewFlow(this, pkt, off, length, srcPort, dstPort);
        }
        stats.unknownPortErrors.increment();
        return Delivery.PORT_UNREACHABLE;
    }

    private UdpEndpoint lookup(byte[] b, int srcOff, int dstOff, int alen, int srcPort, int dstPort) {
        int localHash = TransportEndpointId.addressHash(b, dstOff, alen);
        int remoteHash = TransportEndpointId.addressHash(b, srcOff, alen);
        tableLock.readLock().lock();
        try {
            for (UdpEndpoint e = connected.get(tupleKey(dstPort, srcPort, localHash, remoteHash)); e != null; e = e.nextInBucket) {
                if (e.localPort() == dstPort && e.remotePort() == srcPort
                        && e.localAddress().equalsAt(b, dstOff, alen) && e.remoteAddress().equalsAt(b, srcOff, alen)) {
                    return e;
                }
            }
            UdpEndpoint wildcard = null;
            for (UdpEndpoint e = bound.get(dstPort); e != null; e = e.nextInBucket) {
                IpAddress la = e.localAddress();
                if (la.equalsAt(b, dstOff, alen)) {
                    return e;
                }
                if (la.isUnspecified() && la.byteLength() == alen) {
                    wildcard = e;
                }
            }
            return wildcard;
        } finally {
            tableLock.readLock().unlock();
        }
    }

    /** True when a connected endpoint already owns the four-tuple (used by the forwarder's race check). */
    boolean hasConnected(TransportEndpointId id) {
        tableLock.readLock().lock();
        try {
            for (UdpEndpoint e = connected.get(tupleKey(id.localPort(), id.remotePort(),
                    TransportEndpointId.addressHash(id.localAddress()), TransportEndpointId.addressHash(id.remoteAddress())));
                    e != null; e = e.nextInBucket) {
                if (e.localPort() == id.localPort() && e.remotePort() == id.remotePort()
                        && e.localAddress().equals(id.localAddress()) && e.remoteAddress().equals(id.remoteAddress())) {
                    return true;
                }
            }
            return false;
        } finally {
            tableLock.readLock().unlock();
        }
    }

    // ---- send ----------------------------------------------------------------------------------

    void send(IpAddress src, int srcPort, IpAddress dst, int dstPort, byte[] data, int off, int len) throws IOException {
        if (src.v4() != dst.v4()) {
            stats.packetSendErrors.increment();
            throw new IllegalArgumentException("cannot send from " + src + " to " + dst + ": address families differ");
        }
        if (len > MAX_PAYLOAD || len < 0) {
            stats.packetSendErrors.increment();
            throw new IOException("UDP payload of " + len + " bytes exceeds " + MAX_PAYLOAD);
        }
        int udpLen = HEADER_LENGTH + len;
        PacketBuffer p = output.pool().acquire(NetworkOutput.MAX_IP_HEADER + udpLen, NetworkOutput.MAX_IP_HEADER);
        int h = p.append(udpLen);
        byte[] a = p.array();
        System.arraycopy(data, off, a, h + HEADER_LENGTH, len);
        UdpHeader.write(a, h, srcPort, dstPort, len, src, dst);
        if (!output.send(src, dst, PROTOCOL_NUMBER, p)) {
            stats.packetSendErrors.increment();
            throw new IOException("no route from " + src + " to " + dst);
        }
        stats.packetsSent.increment();
    }
}
