package dev.loomstack.link;

import dev.loomstack.packet.Bytes;
import dev.loomstack.packet.Checksum;
import dev.loomstack.packet.Ipv4Header;
import dev.loomstack.packet.Ipv6Header;
import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.packet.TcpHeader;
import java.util.Arrays;

/**
 * Receive coalescing (GRO): within one read burst, merges the in-order MTU-sized TCP segments of a
 * flow into one large segment, so TCP processes one segment where the peer sent dozens. The
 * delivered packet looks like the kernel's own super-segments: the first packet's headers with the
 * lengths fixed, a {@linkplain PacketBuffer#segmentSize() segment size} and a
 * {@linkplain PacketBuffer#checksumVerified() verified checksum}. The rules follow what makes the
 * merge invisible to TCP (RFC 9293 section 3.10.7.4 processes a segment's data, ACK and window in
 * one step, so segments that differ only in their data may be one), as Linux's
 * {@code tcp_gro_receive} does:
 * <ul>
 *   <li>same IP version, addresses and ports; IPv4 without options and not a fragment, with the
 *       same TOS (ECN marks included), TTL and DF; IPv6 without extension headers, with the same
 *       traffic class, flow label and hop limit;</li>
 *   <li>TCP flags ACK only, or ACK+PSH on the packet that ends a merge; no SYN, FIN, RST, URG,
 *       CWR or ECE (those must be seen one by one); data in every packet (a pure ACK carries its
 *       meaning in being one, RFC 5681 section 4.2's duplicate ACKs);</li>
 *   <li>the same ACK number and window, and byte-identical options (timestamps included: RFC 7323
 *       section 4.3 takes TSval from each segment, SACK blocks from each ACK);</li>
 *   <li>contiguous: each sequence number is where the held data ends; no payload larger than the
 *       first's (that is the segment size), and a smaller one ends the merge; the total stays a
 *       valid IP packet (at most 65,535 bytes).</li>
 * </ul>
 * The IPv4 identification is not compared: the merged packet keeps the first one's. (Linux asks
 * for consecutive IDs so that a forwarded merge can be cut again as it came; Loomstack terminates
 * the flows it coalesces.)
 * Every merged packet's TCP checksum is verified before it is merged; a bad one is delivered on
 * its own, unchanged, so TCP counts and drops it. The merged packet's checksum is recomputed from
 * the pieces' sums (no second pass over the data), so it is a valid packet in its own right.
 *
 * <p>Order: packets of one flow are never reordered: a packet of a held flow that cannot merge
 * delivers the held segment first. Packets of different flows may change order (as with Linux
 * GRO), and non-TCP packets are delivered at once.
 *
 * <p>One instance per reader thread, not thread-safe. Memory is bounded and allocated once: at most
 * {@code flows} held segments, each in a buffer of its own of 64 KiB plus headroom, made the first
 * time that slot is used; when every slot is taken the oldest held segment is delivered to make
 * room. Packets passed to {@link #add} are lent: a held packet is copied. The reader must call
 * {@link #flush} when its burst ends (before it blocks for more), so nothing is held longer than
 * one burst.
 */
public final class TcpCoalescer {
    /** Held flows when not told otherwise: enough for the concurrent bulk flows of one burst. */
    public static final int DEFAULT_FLOWS = 8;
    private static final int HEADROOM = PacketBufferPool.DEFAULT_HEADROOM;
    private static final int MAX_IP_LENGTH = Ipv4Header.MAX_TOTAL_LENGTH;
    private static final int PASS_FLAGS = TcpHeader.ACK | TcpHeader.PSH;
    private static final int PROTOCOL_UDP = 17;
    private static final int PROTOCOL_ICMPV6 = 58;

    /** What {@link #classify} found. */
    private static final int NOT_TCP = 0;
    /** TCP whose ports are out of reach (a fragment, an extension header): only the addresses are known. */
    private static final int ADDRESSES_ONLY = 1;
    /** A TCP packet of a known flow that must be delivered on its own. */
    private static final int TCP_ALONE = 2;
    /** A TCP packet that may join or start a held segment. */
    private static final int TCP_CANDIDATE = 3;

    private final LinkStats stats;
    private final Held[] held;
    private long clock;

    // The packet being looked at, filled in by classify().
    private int version;
    private int ipOffset;
    private int addressOffset;
    private int addressLength;
    private int tcpOffset;
    private int tcpHeaderLength;
    private int payloadLength;
    private int flowHash;

    /** One held segment: a copy of the first packet, with later payloads appended. */
    private static final class Held {
        PacketBuffer buffer;
        boolean inUse;
        long age;
        int version;
        int flowHash;
        int tcpOffset;
        int tcpHeaderLength;
        /** The first packet's payload length: what each merged packet may carry at most. */
        int segmentSize;
        int payloadLength;
        int nextSequence;
        /** Packets merged into the first. */
        int merged;
        /** Sum of the payload as 16-bit words from the payload's start (RFC 1071). */
        long payloadSum;
        boolean push;

        int ipOffset() {
            return buffer.start();
        }

        int ipLength() {
            return tcpOffset - buffer.start() + tcpHeaderLength + payloadLength;
        }
    }

    public TcpCoalescer(LinkStats stats) {
        this(stats, DEFAULT_FLOWS);
    }

    public TcpCoalescer(LinkStats stats, int flows) {
        if (flows < 1) {
            throw new IllegalArgumentException("at least one flow must be held, got " + flows);
        }
        this.stats = stats;
        this.held = new Held[flows];
        for (int i = 0; i < flows; i++) {
            held[i] = new Held();
        }
    }

    /** Held segments right now (tests). */
    int heldFlows() {
        int n = 0;
        for (Held h : held) {
            if (h.inUse) {
                n++;
            }
        }
        return n;
    }

    /**
     * Takes one inbound packet, lent for the call: merges it into its flow's held segment, holds a
     * copy of it, or delivers it to {@code sink} at once (after its flow's held segment).
     */
    public void add(PacketBuffer packet, NetworkDispatcher sink) {
        int kind = classify(packet);
        if (kind == NOT_TCP) {
            sink.deliverNetworkPacket(packet);
            return;
        }
        byte[] b = packet.array();
        if (kind == ADDRESSES_ONLY) {
            flushAddressPair(b, sink);
            sink.deliverNetworkPacket(packet);
            return;
        }
        Held h = find(b);
        if (kind == TCP_ALONE) {
            if (h != null) {
                deliver(h, sink);
            }
            sink.deliverNetworkPacket(packet);
            return;
        }
        int flags = TcpHeader.flags(b, tcpOffset);
        if (h != null) {
            if (fits(h, b)) {
                long sum = payloadSumIfValid(packet);
                if (sum < 0) {
                    deliver(h, sink);
                    sink.deliverNetworkPacket(packet);
                    return;
                }
                merge(h, b, sum, (flags & TcpHeader.PSH) != 0);
                // Ends the merge: PSH asks for prompt delivery, a short segment is the sender's
                // last for now, and a full one would leave no room for the next.
                if (h.push || payloadLength < h.segmentSize || h.ipLength() + h.segmentSize > MAX_IP_LENGTH) {
                    deliver(h, sink);
                }
                return;
            }
            deliver(h, sink);
        }
        if ((flags & TcpHeader.PSH) != 0) {
            // Nothing could follow it in a merge: no point copying it.
            sink.deliverNetworkPacket(packet);
            return;
        }
        long sum = payloadSumIfValid(packet);
        if (sum < 0) {
            sink.deliverNetworkPacket(packet);
            return;
        }
        hold(h != null ? h : freeSlot(sink), packet, sum);
    }

    /** Delivers every held segment, oldest first. Call when a read burst ends. */
    public void flush(NetworkDispatcher sink) {
        Held h;
        while ((h = oldest()) != null) {
            deliver(h, sink);
        }
    }

    // ---- looking at a packet ----------------------------------------------------------------

    private int classify(PacketBuffer packet) {
        byte[] b = packet.array();
        int off = packet.start();
        int len = packet.length();
        if (len < 1) {
            return NOT_TCP;
        }
        version = (b[off] & 0xff) >>> 4;
        ipOffset = off;
        int ipLength;
        int tcpLength;
        boolean plainHeader;
        if (version == Ipv4Header.VERSION) {
            if (len < Ipv4Header.MIN_LENGTH) {
                return NOT_TCP;
            }
            int ihl = (b[off] & 0x0f) * 4;
            ipLength = Bytes.u16(b, off + 2);
            if (ihl < Ipv4Header.MIN_LENGTH || ihl > len || (b[off + 9] & 0xff) != TcpHeader.PROTOCOL
                    || ipLength < ihl || ipLength > len) {
                return NOT_TCP;
            }
            addressOffset = off + Ipv4Header.SOURCE_OFFSET;
            addressLength = 4;
            int fragment = Bytes.u16(b, off + 6) & ~Ipv4Header.FLAG_DONT_FRAGMENT;
            if (fragment != 0) {
                return ADDRESSES_ONLY;
            }
            tcpOffset = off + ihl;
            tcpLength = ipLength - ihl;
            // RFC 791 options would have to match too; Linux does not merge them either. A bad
            // header checksum is left for the IP layer to count.
            plainHeader = ihl == Ipv4Header.MIN_LENGTH && Checksum.compute(b, off, ihl) == 0;
        } else if (version == Ipv6Header.VERSION) {
            if (len < Ipv6Header.LENGTH) {
                return NOT_TCP;
            }
            ipLength = Ipv6Header.LENGTH + Bytes.u16(b, off + 4);
            if (ipLength > len) {
                return NOT_TCP;
            }
            addressOffset = off + Ipv6Header.SOURCE_OFFSET;
            addressLength = 16;
            int next = b[off + 6] & 0xff;
            if (next != TcpHeader.PROTOCOL) {
                return next == PROTOCOL_UDP || next == PROTOCOL_ICMPV6 || next == Ipv6Header.NO_NEXT_HEADER
                        ? NOT_TCP : ADDRESSES_ONLY;
            }
            tcpOffset = off + Ipv6Header.LENGTH;
            tcpLength = ipLength - Ipv6Header.LENGTH;
            plainHeader = true;
        } else {
            return NOT_TCP;
        }
        if (tcpLength < TcpHeader.MIN_LENGTH) {
            return ADDRESSES_ONLY;
        }
        tcpHeaderLength = TcpHeader.headerLength(b, tcpOffset);
        if (tcpHeaderLength < TcpHeader.MIN_LENGTH || tcpHeaderLength > tcpLength) {
            return ADDRESSES_ONLY;
        }
        payloadLength = tcpLength - tcpHeaderLength;
        flowHash = hashFlow(b);
        int flags = TcpHeader.flags(b, tcpOffset);
        boolean candidate = plainHeader
                && ipLength == len
                && payloadLength > 0
                && (flags & ~PASS_FLAGS) == 0 && (flags & TcpHeader.ACK) != 0
                // A kernel super-segment is whole already; a partial checksum cannot be verified.
                && packet.segmentSize() == 0 && !packet.checksumPartial();
        return candidate ? TCP_CANDIDATE : TCP_ALONE;
    }

    private int hashFlow(byte[] b) {
        int h = Bytes.i32(b, tcpOffset);
        for (int i = 0; i < addressLength * 2; i += 4) {
            h = h * 31 + Bytes.i32(b, addressOffset + i);
        }
        return h;
    }

    /**
     * The payload's sum when the packet's TCP checksum holds (RFC 9293 section 3.1, over the
     * pseudo-header, header and payload), or -1 when it does not.
     */
    private long payloadSumIfValid(PacketBuffer packet) {
        byte[] b = packet.array();
        long payloadSum = Checksum.add(0, b, tcpOffset + tcpHeaderLength, payloadLength);
        if (packet.checksumVerified()) {
            return payloadSum;
        }
        int tcpLength = tcpHeaderLength + payloadLength;
        long sum = Checksum.pseudoHeader(b, addressOffset, addressOffset + addressLength, addressLength,
                TcpHeader.PROTOCOL, tcpLength);
        sum = Checksum.add(sum, b, tcpOffset, tcpHeaderLength);
        return Checksum.verifies(sum + payloadSum) ? payloadSum : -1;
    }

    // ---- the held table ---------------------------------------------------------------------

    private Held find(byte[] b) {
        for (Held h : held) {
            if (h.inUse && h.flowHash == flowHash && h.version == version && sameFlow(h, b)) {
                return h;
            }
        }
        return null;
    }

    private boolean sameFlow(Held h, byte[] b) {
        byte[] hb = h.buffer.array();
        int hAddr = h.ipOffset() + (version == Ipv4Header.VERSION ? Ipv4Header.SOURCE_OFFSET : Ipv6Header.SOURCE_OFFSET);
        return Bytes.i32(hb, h.tcpOffset) == Bytes.i32(b, tcpOffset)
                && Arrays.equals(hb, hAddr, hAddr + 2 * addressLength, b, addressOffset, addressOffset + 2 * addressLength);
    }

    /** Delivers the held segments between this packet's two addresses (either way round is a different flow). */
    private void flushAddressPair(byte[] b, NetworkDispatcher sink) {
        for (Held h : held) {
            if (!h.inUse || h.version != version) {
                continue;
            }
            byte[] hb = h.buffer.array();
            int hAddr = h.ipOffset() + (version == Ipv4Header.VERSION ? Ipv4Header.SOURCE_OFFSET : Ipv6Header.SOURCE_OFFSET);
            if (Arrays.equals(hb, hAddr, hAddr + 2 * addressLength, b, addressOffset, addressOffset + 2 * addressLength)) {
                deliver(h, sink);
            }
        }
    }

    private Held oldest() {
        Held oldest = null;
        for (Held h : held) {
            if (h.inUse && (oldest == null || h.age < oldest.age)) {
                oldest = h;
            }
        }
        return oldest;
    }

    /** A free slot; when all are taken, the oldest held segment is delivered to free its slot. */
    private Held freeSlot(NetworkDispatcher sink) {
        for (Held h : held) {
            if (!h.inUse) {
                return h;
            }
        }
        Held h = oldest();
        deliver(h, sink);
        return h;
    }

    // ---- merging ----------------------------------------------------------------------------

    /** Whether the packet continues the held segment (everything but the sequence check is about sameness). */
    private boolean fits(Held h, byte[] b) {
        byte[] hb = h.buffer.array();
        int hip = h.ipOffset();
        if (version == Ipv4Header.VERSION) {
            // TOS (byte 1), the flags word (6-7) and the TTL (8) must match.
            if (hb[hip + 1] != b[ipOffset + 1] || Bytes.u16(hb, hip + 6) != Bytes.u16(b, ipOffset + 6)
                    || hb[hip + 8] != b[ipOffset + 8]) {
                return false;
            }
        } else if (Bytes.i32(hb, hip) != Bytes.i32(b, ipOffset) || hb[hip + 7] != b[ipOffset + 7]) {
            // Version, traffic class and flow label are the first word; the hop limit is byte 7.
            return false;
        }
        int ht = h.tcpOffset;
        return h.tcpHeaderLength == tcpHeaderLength
                && TcpHeader.sequence(b, tcpOffset) == h.nextSequence
                && TcpHeader.acknowledgment(b, tcpOffset) == TcpHeader.acknowledgment(hb, ht)
                && TcpHeader.window(b, tcpOffset) == TcpHeader.window(hb, ht)
                && payloadLength <= h.segmentSize
                && h.ipLength() + payloadLength <= MAX_IP_LENGTH
                && Arrays.equals(hb, ht + TcpHeader.MIN_LENGTH, ht + tcpHeaderLength,
                        b, tcpOffset + TcpHeader.MIN_LENGTH, tcpOffset + tcpHeaderLength);
    }

    private void hold(Held h, PacketBuffer packet, long payloadSum) {
        if (h.buffer == null) {
            h.buffer = PacketBuffer.unpooled(HEADROOM + MAX_IP_LENGTH);
        }
        int len = packet.length();
        PacketBuffer buf = h.buffer.reset(HEADROOM);
        System.arraycopy(packet.array(), packet.start(), buf.array(), buf.append(len), len);
        h.inUse = true;
        h.age = clock++;
        h.version = version;
        h.flowHash = flowHash;
        h.tcpOffset = buf.start() + (tcpOffset - ipOffset);
        h.tcpHeaderLength = tcpHeaderLength;
        h.segmentSize = payloadLength;
        h.payloadLength = payloadLength;
        h.nextSequence = TcpHeader.sequence(packet.array(), tcpOffset) + payloadLength;
        h.merged = 0;
        h.payloadSum = payloadSum;
        h.push = false;
    }

    private void merge(Held h, byte[] b, long payloadSum, boolean push) {
        PacketBuffer buf = h.buffer;
        System.arraycopy(b, tcpOffset + tcpHeaderLength, buf.array(), buf.append(payloadLength), payloadLength);
        // RFC 1071 section 2(B): a block that starts at an odd offset adds its sum byte-swapped.
        h.payloadSum += (h.payloadLength & 1) == 0 ? payloadSum : swapBytes(Checksum.fold(payloadSum));
        h.payloadLength += payloadLength;
        h.nextSequence += payloadLength;
        h.merged++;
        h.push = push;
        stats.packetsCoalesced.increment();
    }

    private static int swapBytes(int word) {
        return ((word & 0xff) << 8) | (word >>> 8);
    }

    /** Hands the held segment to {@code sink} and frees its slot. */
    private void deliver(Held h, NetworkDispatcher sink) {
        h.inUse = false;
        PacketBuffer buf = h.buffer;
        if (h.merged > 0) {
            finishMerged(h);
            buf.segmentSize(h.segmentSize);
        }
        // Every held packet had its checksum verified (or was marked so) before it was held.
        buf.checksumVerified(true);
        sink.deliverNetworkPacket(buf);
    }

    /** Fixes the first packet's headers for the merged length, PSH and checksum. */
    private static void finishMerged(Held h) {
        byte[] b = h.buffer.array();
        int ip = h.ipOffset();
        int t = h.tcpOffset;
        int tcpLength = h.tcpHeaderLength + h.payloadLength;
        int addressLength;
        if (h.version == Ipv4Header.VERSION) {
            Bytes.put16(b, ip + 2, h.ipLength());
            Bytes.put16(b, ip + 10, 0);
            Bytes.put16(b, ip + 10, Checksum.compute(b, ip, Ipv4Header.MIN_LENGTH));
            addressLength = 4;
        } else {
            Bytes.put16(b, ip + 4, tcpLength);
            addressLength = 16;
        }
        if (h.push) {
            b[t + 13] |= (byte) TcpHeader.PSH;
        }
        int addresses = ip + (h.version == Ipv4Header.VERSION ? Ipv4Header.SOURCE_OFFSET : Ipv6Header.SOURCE_OFFSET);
        Bytes.put16(b, t + 16, 0);
        long sum = Checksum.pseudoHeader(b, addresses, addresses + addressLength, addressLength, TcpHeader.PROTOCOL,
                tcpLength);
        sum = Checksum.add(sum, b, t, h.tcpHeaderLength) + h.payloadSum;
        Bytes.put16(b, t + 16, Checksum.finish(sum));
    }
}
