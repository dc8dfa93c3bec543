package dev.loomstack.ip;

import dev.loomstack.packet.Bytes;
import dev.loomstack.packet.Checksum;
import dev.loomstack.packet.IcmpHeader;
import dev.loomstack.packet.IcmpHeader.Icmpv4;
import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.Ipv4Header;
import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.stack.NetworkPacket;
import dev.loomstack.stack.NetworkProtocol;
import dev.loomstack.stack.Stack;
import dev.loomstack.stack.TokenBucket;
import dev.loomstack.stack.Stats;
import dev.loomstack.stack.TransportProtocolHandler;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * IPv4 (RFC 791) receive and send for the {@link Stack}, with ICMPv4 (RFC 792) echo and errors.
 * Receive runs on the link's reader thread and reuses one header view and one {@link NetworkPacket}.
 */
public final class Ipv4Protocol implements NetworkProtocol {
    /** Linux's {@code ipfrag_time}. */
    public static final long REASSEMBLY_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(30);
    /** RFC 1812 section 4.3.2.3: an error quotes as much of the original as fits in 576 bytes. */
    static final int MAX_ERROR_LENGTH = 576;

    private final Stack stack;
    private final Stats stats;
    private final Reassembler reassembler;
    private final TokenBucket errorLimiter;
    private final Ipv4Header header = new Ipv4Header();
    private final Ipv4Header quoted = new Ipv4Header();
    private final NetworkPacket ctx = new NetworkPacket();
    private final AtomicInteger identification = new AtomicInteger((int) System.nanoTime());
    private final Ipv4Header.OptionSink optionCounter;

    public Ipv4Protocol(Stack stack, int reassemblyMemoryCap) {
        this.stack = stack;
        this.stats = stack.stats();
        this.reassembler = new Reassembler(stack.timers(), stack.pool(), REASSEMBLY_TIMEOUT_NANOS, reassemblyMemoryCap);
        this.errorLimiter = new TokenBucket(stack.timers().clock(), TokenBucket.DEFAULT_PER_SECOND,
                TokenBucket.DEFAULT_BURST);
        this.optionCounter = type -> {
            switch (type) {
                case Ipv4Header.OPTION_TIMESTAMP -> stats.ip.optionTimestampReceived.increment();
                case Ipv4Header.OPTION_RECORD_ROUTE -> stats.ip.optionRecordRouteReceived.increment();
                case Ipv4Header.OPTION_ROUTER_ALERT -> stats.ip.optionRouterAlertReceived.increment();
                default -> stats.ip.optionUnknownReceived.increment();
            }
        };
    }

    @Override
    public int version() {
        return 4;
    }

    public Reassembler reassembler() {
        return reassembler;
    }

    // ---- receive -------------------------------------------------------------------------------

    @Override
    public void receive(PacketBuffer packet) {
        stats.ip.packetsReceived.increment();
        byte[] a = packet.array();
        Ipv4Header h = header.wrap(a, packet.start(), packet.length());
        if (h.validate() != Ipv4Header.Validity.OK) {
            stats.ip.malformedPacketsReceived.increment();
            return;
        }
        if (h.headerLength() > Ipv4Header.MIN_LENGTH && !h.walkOptions(optionCounter)) {
            stats.ip.malformedPacketsReceived.increment();
            return;
        }
        int src = Bytes.i32(a, h.sourceOffset());
        int dst = Bytes.i32(a, h.destinationOffset());
        // RFC 1122 section 3.2.1.3: a source may not be broadcast, multicast or "this network".
        if (isMulticastOrBroadcast(src) || (src >>> 24) == 0 || (src >>> 24) == 127) {
            stats.ip.invalidSourceAddressesReceived.increment();
            return;
        }
        // Loomstack serves unicast flows only.
        if (isMulticastOrBroadcast(dst) || dst == 0 || (dst >>> 24) == 127) {
            stats.ip.invalidDestinationAddressesReceived.increment();
            return;
        }
        stats.ip.validPacketsReceived.increment();
        if (h.isFragment()) {
            receiveFragment(h);
            return;
        }
        deliver(packet, h);
    }

    private static boolean isMulticastOrBroadcast(int addr) {
        return (addr >>> 28) == 0xe || addr == -1;
    }

    private void receiveFragment(Ipv4Header h) {
        byte[] a = h.array();
        int o = h.offset();
        FragmentKey key = new FragmentKey(0, Bytes.u32(a, h.sourceOffset()), 0, Bytes.u32(a, h.destinationOffset()),
                h.identification(), h.protocol());
        Reassembler.Result r = reassembler.add(key, h.fragmentOffset(), h.moreFragments(), a, h.payloadOffset(),
                h.payloadLength(), a, o, h.headerLength());
        switch (r) {
            case Reassembler.Result.Complete c -> {
                PacketBuffer whole = c.packet();
                try {
                    byte[] w = whole.array();
                    int wo = whole.start();
                    Bytes.put16(w, wo + 2, whole.length());
                    Bytes.put16(w, wo + 6, 0);
                    Bytes.put16(w, wo + 10, 0);
                    Bytes.put16(w, wo + 10, Checksum.compute(w, wo, c.headerLength()));
                    deliver(whole, header.wrap(w, wo, whole.length()));
                } finally {
                    whole.release();
                }
            }
            case Reassembler.Result.Dropped d -> stats.ip.malformedFragmentsReceived.increment();
            case Reassembler.Result.Pending p -> { }
        }
    }

    private void deliver(PacketBuffer packet, Ipv4Header h) {
        int protocol = h.protocol();
        int o = h.offset();
        ctx.set(packet, false, o, h.sourceOffset(), h.destinationOffset(), protocol, h.payloadOffset(),
                h.payloadLength(), h.ttl());
        if (protocol == Icmpv4.PROTOCOL) {
            receiveIcmp(packet, h);
            return;
        }
        if (stack.deliverToTransport(ctx)) {
            sendError(h, Icmpv4.DESTINATION_UNREACHABLE, Icmpv4.CODE_PORT_UNREACHABLE);
        }
    }

    private void receiveIcmp(PacketBuffer packet, Ipv4Header h) {
        byte[] a = packet.array();
        int off = h.payloadOffset();
        int len = h.payloadLength();
        if (len < IcmpHeader.LENGTH) {
            stats.icmp.malformedPacketsReceived.increment();
            return;
        }
        if (Checksum.compute(a, off, len) != 0) {
            stats.icmp.checksumErrors.increment();
            return;
        }
        stats.ip.packetsDelivered.increment();
        int type = IcmpHeader.type(a, off);
        if (type == Icmpv4.ECHO_REQUEST) {
            stack.echoRequestArrived(this, h.source(), h.destination(), a, off, len);
        } else if (Icmpv4.isError(type)) {
            receiveIcmpError(a, off, len, type);
        }
    }

    /** Hands an ICMP error to the transport that sent the quoted packet. */
    private void receiveIcmpError(byte[] a, int off, int len, int type) {
        int qoff = off + IcmpHeader.LENGTH;
        int qlen = len - IcmpHeader.LENGTH;
        Ipv4Header q = quoted.wrap(a, qoff, qlen);
        if (qlen < Ipv4Header.MIN_LENGTH || q.version() != 4 || q.headerLength() < Ipv4Header.MIN_LENGTH
                || q.headerLength() + 8 > qlen) {
            stats.icmp.malformedPacketsReceived.increment();
            return;
        }
        TransportProtocolHandler t = stack.transport(q.protocol());
        if (t == null) {
            return;
        }
        NetworkPacket quotedCtx = new NetworkPacket().set(ctx.buffer(), false, qoff, q.sourceOffset(),
                q.destinationOffset(), q.protocol(), q.payloadOffset(), qlen - q.headerLength(), q.ttl());
        long info = type == Icmpv4.DESTINATION_UNREACHABLE ? Bytes.u16(a, off + 6) : 0;
        t.handleControlPacket(quotedCtx, type, IcmpHeader.code(a, off), info);
    }

    /** Sends an echo reply mirroring a request's identifier, sequence and data (RFC 792). */
    @Override
    public void sendEchoReply(IpAddress from, IpAddress to, byte[] request, int off, int len) {
        PacketBuffer r = stack.pool().acquire(len + PacketBufferPool.DEFAULT_HEADROOM, PacketBufferPool.DEFAULT_HEADROOM);
        int at = r.append(len);
        byte[] b = r.array();
        System.arraycopy(request, off, b, at, len);
        b[at] = (byte) Icmpv4.ECHO_REPLY;
        IcmpHeader.fillChecksumV4(b, at, len);
        if (send(from, to, Icmpv4.PROTOCOL, r)) {
            stats.icmp.echoRepliesSent.increment();
        }
    }

    private void sendError(Ipv4Header original, int type, int code) {
        byte[] a = original.array();
        int dst = Bytes.i32(a, original.destinationOffset());
        // RFC 1122 section 3.2.2: never about a non-initial fragment or a broadcast/multicast datagram.
        if (original.fragmentOffset() != 0 || isMulticastOrBroadcast(dst)) {
            return;
        }
        if (!errorLimiter.tryAcquire()) {
            stats.icmp.errorsRateLimited.increment();
            return;
        }
        int quote = Math.min(original.totalLength(), MAX_ERROR_LENGTH - Ipv4Header.MIN_LENGTH - IcmpHeader.LENGTH);
        int len = IcmpHeader.LENGTH + quote;
        PacketBuffer e = stack.pool().acquire(len + PacketBufferPool.DEFAULT_HEADROOM, PacketBufferPool.DEFAULT_HEADROOM);
        int at = e.append(len);
        byte[] b = e.array();
        IcmpHeader.writeHeader(b, at, type, code, 0);
        System.arraycopy(a, original.offset(), b, at + IcmpHeader.LENGTH, quote);
        IcmpHeader.fillChecksumV4(b, at, len);
        if (send(original.destination(), original.source(), Icmpv4.PROTOCOL, e)) {
            stats.icmp.destinationUnreachableSent.increment();
        }
    }

    // ---- send ----------------------------------------------------------------------------------

    @Override
    public boolean send(IpAddress source, IpAddress destination, int protocol, PacketBuffer payload) {
        int len = payload.length();
        int mtu = stack.mtu();
        if (Ipv4Header.MIN_LENGTH + len > Ipv4Header.MAX_TOTAL_LENGTH) {
            stats.ip.outgoingPacketErrors.increment();
            payload.release();
            return false;
        }
        int id = identification.getAndIncrement() & 0xffff;
        if (payload.segmentSize() > 0) {
            return sendSuperSegment(source, destination, protocol, payload, id);
        }
        if (Ipv4Header.MIN_LENGTH + len <= mtu && payload.headroom() >= Ipv4Header.MIN_LENGTH) {
            int at = payload.prepend(Ipv4Header.MIN_LENGTH);
            Ipv4Header.write(payload.array(), at, Ipv4Header.MIN_LENGTH + len, id, 0, Ipv4Header.DEFAULT_TTL,
                    protocol, source, destination);
            return stack.writeToLink(payload);
        }
        return fragment(source, destination, protocol, payload, id, mtu);
    }

    /**
     * A TCP super-segment for the link to cut (segmentation offload): one packet however far it
     * exceeds the MTU, never fragmented, within the link's offload size and IPv4's 65,535-byte
     * total length. The identification is the first cut segment's; the link numbers the rest.
     */
    private boolean sendSuperSegment(IpAddress source, IpAddress destination, int protocol, PacketBuffer payload,
                                     int id) {
        int total = Ipv4Header.MIN_LENGTH + payload.length();
        if (total > stack.maxOffloadSize() || payload.headroom() < Ipv4Header.MIN_LENGTH) {
            stats.ip.outgoingPacketErrors.increment();
            payload.release();
            return false;
        }
        int at = payload.prepend(Ipv4Header.MIN_LENGTH);
        Ipv4Header.write(payload.array(), at, total, id, 0, Ipv4Header.DEFAULT_TTL, protocol, source, destination);
        return stack.writeToLink(payload);
    }

    /** RFC 791 section 3.2: fragments carry multiples of 8 data bytes, all but the last with MF set. */
    private boolean fragment(IpAddress source, IpAddress destination, int protocol, PacketBuffer payload, int id,
                             int mtu) {
        int len = payload.length();
        int chunk = (mtu - Ipv4Header.MIN_LENGTH) & ~7;
        boolean ok = true;
        try {
            for (int done = 0; done < len; done += chunk) {
                int n = Math.min(chunk, len - done);
                boolean more = done + n < len;
                PacketBuffer f = stack.pool().acquire(PacketBufferPool.DEFAULT_HEADROOM + n, PacketBufferPool.DEFAULT_HEADROOM);
                int at = f.append(n);
                System.arraycopy(payload.array(), payload.start() + done, f.array(), at, n);
                int h = f.prepend(Ipv4Header.MIN_LENGTH);
                Ipv4Header.write(f.array(), h, Ipv4Header.MIN_LENGTH + n, id, Ipv4Header.fragmentWord(done, more),
                        Ipv4Header.DEFAULT_TTL, protocol, source, destination);
                ok &= stack.writeToLink(f);
            }
        } finally {
            payload.release();
        }
        return ok;
    }

    @Override
    public void close() {
        reassembler.clear();
    }
}
