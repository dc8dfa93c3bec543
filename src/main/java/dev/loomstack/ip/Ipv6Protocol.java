package dev.loomstack.ip;

import dev.loomstack.packet.Bytes;
import dev.loomstack.packet.IcmpHeader;
import dev.loomstack.packet.IcmpHeader.Icmpv6;
import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.Ipv6Header;
import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.stack.NetworkPacket;
import dev.loomstack.stack.NetworkProtocol;
import dev.loomstack.stack.Stack;
import dev.loomstack.stack.TokenBucket;
import dev.loomstack.stack.Stats;
import dev.loomstack.stack.TransportProtocolHandler;
import java.security.SecureRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * IPv6 (RFC 8200) receive and send for the {@link Stack}, with ICMPv6 (RFC 4443) echo and errors.
 * Receive runs on the link's reader thread and reuses one header view and one {@link NetworkPacket}.
 */
public final class Ipv6Protocol implements NetworkProtocol {
    /** RFC 8200 section 4.5. */
    public static final long REASSEMBLY_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(60);

    private final Stack stack;
    private final Stats stats;
    private final Reassembler reassembler;
    private final TokenBucket errorLimiter;
    private final Ipv6Header header = new Ipv6Header();
    private final NetworkPacket ctx = new NetworkPacket();
    /** RFC 7739: fragment identifications should not be predictable across destinations; start at random. */
    private final AtomicInteger identification = new AtomicInteger(new SecureRandom().nextInt());

    public Ipv6Protocol(Stack stack, int reassemblyMemoryCap) {
        this.stack = stack;
        this.stats = stack.stats();
        this.reassembler = new Reassembler(stack.timers(), stack.pool(), REASSEMBLY_TIMEOUT_NANOS, reassemblyMemoryCap);
        this.errorLimiter = new TokenBucket(stack.timers().clock(), TokenBucket.DEFAULT_PER_SECOND,
                TokenBucket.DEFAULT_BURST);
    }

    @Override
    public int version() {
        return 6;
    }

    public Reassembler reassembler() {
        return reassembler;
    }

    // ---- receive -------------------------------------------------------------------------------

    @Override
    public void receive(PacketBuffer packet) {
        stats.ip.packetsReceived.increment();
        byte[] a = packet.array();
        Ipv6Header h = header.wrap(a, packet.start(), packet.length());
        if (h.validate() != Ipv6Header.Validity.OK) {
            stats.ip.malformedPacketsReceived.increment();
            return;
        }
        int s = h.sourceOffset();
        int d = h.destinationOffset();
        // RFC 4291 section 2.7: a multicast source is invalid; the unspecified and loopback sources too.
        if ((a[s] & 0xff) == 0xff || isUnspecifiedOrLoopback(a, s)) {
            stats.ip.invalidSourceAddressesReceived.increment();
            return;
        }
        if ((a[d] & 0xff) == 0xff || isUnspecifiedOrLoopback(a, d)) {
            stats.ip.invalidDestinationAddressesReceived.increment();
            return;
        }
        Ipv6Header.Validity v = h.walk();
        if (v != Ipv6Header.Validity.OK) {
            stats.ip.malformedPacketsReceived.increment();
            if (v == Ipv6Header.Validity.BAD_EXTENSION_HEADER) {
                stats.ip.forwarding.extensionHeaderProblem.increment();
            }
            return;
        }
        stats.ip.validPacketsReceived.increment();
        if (h.isFragment()) {
            receiveFragment(h);
            return;
        }
        deliver(packet, h);
    }

    private static boolean isUnspecifiedOrLoopback(byte[] a, int off) {
        if (Bytes.i64(a, off) != 0) {
            return false;
        }
        long low = Bytes.i64(a, off + 8);
        return low == 0 || low == 1;
    }

    private void receiveFragment(Ipv6Header h) {
        byte[] a = h.array();
        int o = h.offset();
        FragmentKey key = new FragmentKey(Bytes.i64(a, h.sourceOffset()), Bytes.i64(a, h.sourceOffset() + 8),
                Bytes.i64(a, h.destinationOffset()), Bytes.i64(a, h.destinationOffset() + 8),
                h.fragmentIdentification(), 0);
        int nextHeader = h.transportProtocol();
        // Only the fixed header is kept in front of the payload: the per-fragment extension headers
        // have been processed already (RFC 8200 section 4.5, the unfragmentable part).
        Reassembler.Result r = reassembler.add(key, h.fragmentOffset(), h.moreFragments(), a, h.transportOffset(),
                h.transportLength(), a, o, Ipv6Header.LENGTH);
        switch (r) {
            case Reassembler.Result.Complete c -> {
                PacketBuffer whole = c.packet();
                try {
                    byte[] w = whole.array();
                    int wo = whole.start();
                    Bytes.put16(w, wo + 4, whole.length() - Ipv6Header.LENGTH);
                    w[wo + 6] = (byte) nextHeader;
                    Ipv6Header wh = header.wrap(w, wo, whole.length());
                    if (wh.walk() != Ipv6Header.Validity.OK || wh.hasFragmentHeader()) {
                        stats.ip.malformedFragmentsReceived.increment();
                        return;
                    }
                    deliver(whole, wh);
                } finally {
                    whole.release();
                }
            }
            case Reassembler.Result.Dropped d -> stats.ip.malformedFragmentsReceived.increment();
            case Reassembler.Result.Pending p -> { }
        }
    }

    private void deliver(PacketBuffer packet, Ipv6Header h) {
        int protocol = h.transportProtocol();
        if (protocol == Ipv6Header.NO_NEXT_HEADER) {
            stats.ip.packetsDelivered.increment();
            return;
        }
        ctx.set(packet, true, h.offset(), h.sourceOffset(), h.destinationOffset(), protocol, h.transportOffset(),
                h.transportLength(), h.hopLimit());
        if (protocol == Icmpv6.PROTOCOL) {
            receiveIcmp(packet, h);
            return;
        }
        if (stack.deliverToTransport(ctx)) {
            sendError(h, Icmpv6.DESTINATION_UNREACHABLE, Icmpv6.CODE_PORT_UNREACHABLE, 0);
        }
    }

    private void receiveIcmp(PacketBuffer packet, Ipv6Header h) {
        byte[] a = packet.array();
        int off = h.transportOffset();
        int len = h.transportLength();
        if (len < IcmpHeader.LENGTH) {
            stats.icmp.malformedPacketsReceived.increment();
            return;
        }
        if (!ctx.transportChecksumValid()) {
            stats.icmp.checksumErrors.increment();
            return;
        }
        stats.ip.packetsDelivered.increment();
        int type = IcmpHeader.type(a, off);
        if (type == Icmpv6.ECHO_REQUEST) {
            stack.echoRequestArrived(this, h.source(), h.destination(), a, off, len);
        } else if (Icmpv6.isError(type)) {
            receiveIcmpError(a, off, len, type);
        }
    }

    private void receiveIcmpError(byte[] a, int off, int len, int type) {
        int qoff = off + IcmpHeader.LENGTH;
        int qlen = len - IcmpHeader.LENGTH;
        Ipv6Header q = new Ipv6Header().wrap(a, qoff, qlen);
        if (qlen < Ipv6Header.LENGTH + 8 || q.version() != 6) {
            stats.icmp.malformedPacketsReceived.increment();
            return;
        }
        // The quote is usually truncated, so walk it as if its payload length were what is present.
        int saved = Bytes.u16(a, qoff + 4);
        Bytes.put16(a, qoff + 4, qlen - Ipv6Header.LENGTH);
        Ipv6Header.Validity v = q.walk();
        Bytes.put16(a, qoff + 4, saved);
        if (v != Ipv6Header.Validity.OK || q.isFragment() && q.fragmentOffset() != 0) {
            return;
        }
        TransportProtocolHandler t = stack.transport(q.transportProtocol());
        if (t == null) {
            return;
        }
        NetworkPacket quotedCtx = new NetworkPacket().set(ctx.buffer(), true, qoff, q.sourceOffset(),
                q.destinationOffset(), q.transportProtocol(), q.transportOffset(), qoff + qlen - q.transportOffset(),
                q.hopLimit());
        t.handleControlPacket(quotedCtx, type, IcmpHeader.code(a, off), IcmpHeader.restOfHeader(a, off));
    }

    /** Sends an echo reply mirroring a request's identifier, sequence and data (RFC 4443 section 4.2). */
    @Override
    public void sendEchoReply(IpAddress from, IpAddress to, byte[] request, int off, int len) {
        PacketBuffer r = stack.pool().acquire(len + PacketBufferPool.DEFAULT_HEADROOM, PacketBufferPool.DEFAULT_HEADROOM);
        int at = r.append(len);
        byte[] b = r.array();
        System.arraycopy(request, off, b, at, len);
        b[at] = (byte) Icmpv6.ECHO_REPLY;
        IcmpHeader.fillChecksumV6(b, at, len, from, to);
        if (send(from, to, Icmpv6.PROTOCOL, r)) {
            stats.icmp.echoRepliesSent.increment();
        }
    }

    private void sendError(Ipv6Header original, int type, int code, long rest) {
        byte[] a = original.array();
        // RFC 4443 section 2.4 (e): not about a multicast destination (the packet-too-big exception
        // does not arise here), nor about a non-initial fragment.
        if ((a[original.destinationOffset()] & 0xff) == 0xff || (original.isFragment() && original.fragmentOffset() != 0)) {
            return;
        }
        if (!errorLimiter.tryAcquire()) {
            stats.icmp.errorsRateLimited.increment();
            return;
        }
        // RFC 4443 section 2.4 (c): as much of the invoking packet as fits in the minimum MTU.
        int quote = Math.min(original.totalLength(), Ipv6Header.MIN_MTU - Ipv6Header.LENGTH - IcmpHeader.LENGTH);
        int len = IcmpHeader.LENGTH + quote;
        PacketBuffer e = stack.pool().acquire(len + PacketBufferPool.DEFAULT_HEADROOM, PacketBufferPool.DEFAULT_HEADROOM);
        int at = e.append(len);
        byte[] b = e.array();
        IcmpHeader.writeHeader(b, at, type, code, rest);
        System.arraycopy(a, original.offset(), b, at + IcmpHeader.LENGTH, quote);
        IpAddress from = original.destination();
        IpAddress to = original.source();
        IcmpHeader.fillChecksumV6(b, at, len, from, to);
        if (send(from, to, Icmpv6.PROTOCOL, e)) {
            stats.icmp.destinationUnreachableSent.increment();
        }
    }

    // ---- send ----------------------------------------------------------------------------------

    @Override
    public boolean send(IpAddress source, IpAddress destination, int protocol, PacketBuffer payload) {
        int len = payload.length();
        int mtu = stack.mtu();
        if (len > 65535) {
            stats.ip.outgoingPacketErrors.increment();
            payload.release();
            return false;
        }
        if (payload.segmentSize() > 0) {
            return sendSuperSegment(source, destination, protocol, payload);
        }
        if (Ipv6Header.LENGTH + len <= mtu && payload.headroom() >= Ipv6Header.LENGTH) {
            int at = payload.prepend(Ipv6Header.LENGTH);
            Ipv6Header.write(payload.array(), at, len, protocol, Ipv6Header.DEFAULT_HOP_LIMIT, source, destination);
            return stack.writeToLink(payload);
        }
        return fragment(source, destination, protocol, payload, mtu);
    }

    /**
     * A TCP super-segment for the link to cut (segmentation offload): one packet however far it
     * exceeds the MTU, never fragmented, within the link's offload size (its payload length fits
     * the 16-bit field: no jumbogram).
     */
    private boolean sendSuperSegment(IpAddress source, IpAddress destination, int protocol, PacketBuffer payload) {
        int len = payload.length();
        if (Ipv6Header.LENGTH + len > stack.maxOffloadSize() || payload.headroom() < Ipv6Header.LENGTH) {
            stats.ip.outgoingPacketErrors.increment();
            payload.release();
            return false;
        }
        int at = payload.prepend(Ipv6Header.LENGTH);
        Ipv6Header.write(payload.array(), at, len, protocol, Ipv6Header.DEFAULT_HOP_LIMIT, source, destination);
        return stack.writeToLink(payload);
    }

    /** RFC 8200 section 4.5: fragments of 8-byte multiples, each behind a fragment header. */
    private boolean fragment(IpAddress source, IpAddress destination, int protocol, PacketBuffer payload, int mtu) {
        int len = payload.length();
        int chunk = (mtu - Ipv6Header.LENGTH - Ipv6Header.FRAGMENT_HEADER_LENGTH) & ~7;
        long id = identification.getAndIncrement() & 0xffffffffL;
        boolean ok = true;
        try {
            for (int done = 0; done < len; done += chunk) {
                int n = Math.min(chunk, len - done);
                boolean more = done + n < len;
                PacketBuffer f = stack.pool().acquire(PacketBufferPool.DEFAULT_HEADROOM + n, PacketBufferPool.DEFAULT_HEADROOM);
                int at = f.append(n);
                System.arraycopy(payload.array(), payload.start() + done, f.array(), at, n);
                int fh = f.prepend(Ipv6Header.FRAGMENT_HEADER_LENGTH);
                Ipv6Header.writeFragmentHeader(f.array(), fh, protocol, done, more, id);
                int h = f.prepend(Ipv6Header.LENGTH);
                Ipv6Header.write(f.array(), h, Ipv6Header.FRAGMENT_HEADER_LENGTH + n, Ipv6Header.FRAGMENT,
                        Ipv6Header.DEFAULT_HOP_LIMIT, source, destination);
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
