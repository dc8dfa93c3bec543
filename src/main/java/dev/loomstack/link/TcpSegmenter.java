package dev.loomstack.link;

import dev.loomstack.packet.Bytes;
import dev.loomstack.packet.Checksum;
import dev.loomstack.packet.Ipv4Header;
import dev.loomstack.packet.Ipv6Header;
import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.packet.TcpHeader;

/**
 * Segmentation offload in software (GSO): cuts a TCP super-segment, a packet with a
 * {@linkplain PacketBuffer#segmentSize() segment size} and usually a
 * {@linkplain PacketBuffer#checksumPartial() partial checksum}, into the MTU-sized packets a
 * kernel or NIC would have made of it, for a link that takes no offload itself. Each segment
 * gets:
 * <ul>
 *   <li>the super-segment's IP header with its own length: IPv4 total length, an identification
 *       one higher than the segment before (RFC 6864 section 4.1 asks distinct IDs of a source
 *       only for fragmentable datagrams, but counting up is what a sender's kernel does) and a
 *       fresh header checksum; IPv6 payload length;</li>
 *   <li>the TCP header with the sequence number advanced by the data before it; FIN and PSH only
 *       on the last segment (they belong to the end of the data), CWR only on the first (RFC 3168
 *       section 6.1.2: it answers one ECE once);</li>
 *   <li>a complete TCP checksum (RFC 9293 section 3.1) over its own pseudo-header and bytes.</li>
 * </ul>
 * A packet that needs no cutting but carries a partial checksum has its TCP or UDP checksum
 * completed in place. Segments are taken from the caller's {@link PacketBufferPool}, so nothing is
 * allocated once the pool is warm. IPv4 with options is cut (options are copied to every
 * segment); IPv6 with extension headers and IPv4 fragments are refused, as no sender offers them.
 */
public final class TcpSegmenter {
    private static final int PROTOCOL_UDP = 17;
    private static final int UDP_CHECKSUM_OFFSET = 6;
    private static final int UDP_HEADER_LENGTH = 8;
    /** RFC 768: a computed UDP checksum of zero is sent as all ones (zero means "none"). */
    private static final int UDP_ZERO_CHECKSUM = 0xffff;

    /** Where the segments go. */
    @FunctionalInterface
    public interface SegmentSink {
        /** Takes ownership of {@code segment}; false when nothing more should be written. */
        boolean write(PacketBuffer segment);
    }

    private final PacketBufferPool pool;
    private final int headroom;

    /** Segments are taken from {@code pool}, with its default headroom in front. */
    public TcpSegmenter(PacketBufferPool pool) {
        this(pool, PacketBufferPool.DEFAULT_HEADROOM);
    }

    public TcpSegmenter(PacketBufferPool pool, int headroom) {
        this.pool = pool;
        this.headroom = headroom;
    }

    /** True when {@code packet} needs this segmenter before a link without offload may carry it. */
    public static boolean needs(PacketBuffer packet) {
        return packet.segmentSize() > 0 || packet.checksumPartial();
    }

    /**
     * Writes {@code packet} to {@code sink} as plain packets with complete checksums, taking
     * ownership of it: a packet that fits one segment goes on itself (its checksum completed), a
     * larger one is cut and released. Returns the packets written, or -1 when the packet is not
     * one that can be cut or completed (malformed, not TCP/UDP, IPv6 extension headers), in which
     * case it is released and nothing is written.
     */
    public int segment(PacketBuffer packet, SegmentSink sink) {
        byte[] b = packet.array();
        int ip = packet.start();
        int len = packet.length();
        int ipHeaderLength;
        int ipLength;
        int protocol;
        int addressOffset;
        int addressLength;
        boolean v4;
        if (len >= Ipv4Header.MIN_LENGTH && (b[ip] & 0xff) >>> 4 == Ipv4Header.VERSION) {
            v4 = true;
            ipHeaderLength = (b[ip] & 0x0f) * 4;
            ipLength = Bytes.u16(b, ip + 2);
            protocol = b[ip + 9] & 0xff;
            addressOffset = ip + Ipv4Header.SOURCE_OFFSET;
            addressLength = 4;
            if (ipHeaderLength < Ipv4Header.MIN_LENGTH || ipLength < ipHeaderLength || ipLength > len
                    || (Bytes.u16(b, ip + 6) & ~Ipv4Header.FLAG_DONT_FRAGMENT) != 0) {
                return refuse(packet);
            }
        } else if (len >= Ipv6Header.LENGTH && (b[ip] & 0xff) >>> 4 == Ipv6Header.VERSION) {
            v4 = false;
            ipHeaderLength = Ipv6Header.LENGTH;
            ipLength = Ipv6Header.LENGTH + Bytes.u16(b, ip + 4);
            protocol = b[ip + 6] & 0xff;
            addressOffset = ip + Ipv6Header.SOURCE_OFFSET;
            addressLength = 16;
            if (ipLength > len) {
                return refuse(packet);
            }
        } else {
            return refuse(packet);
        }
        int transport = ip + ipHeaderLength;
        int transportLength = ipLength - ipHeaderLength;
        if (protocol == PROTOCOL_UDP) {
            // No UDP segmentation is offered; a partial checksum is completed.
            if (packet.segmentSize() > 0 || transportLength < UDP_HEADER_LENGTH) {
                return refuse(packet);
            }
            if (packet.checksumPartial()) {
                Bytes.put16(b, transport + UDP_CHECKSUM_OFFSET, 0);
                int sum = transportChecksum(b, addressOffset, addressLength, PROTOCOL_UDP, transport, transportLength);
                Bytes.put16(b, transport + UDP_CHECKSUM_OFFSET, sum == 0 ? UDP_ZERO_CHECKSUM : sum);
            }
            packet.range(ip, ip + ipLength).clearOffload();
            return sink.write(packet) ? 1 : 0;
        }
        if (protocol != TcpHeader.PROTOCOL || transportLength < TcpHeader.MIN_LENGTH) {
            return refuse(packet);
        }
        int tcpHeaderLength = TcpHeader.headerLength(b, transport);
        if (tcpHeaderLength < TcpHeader.MIN_LENGTH || tcpHeaderLength > transportLength) {
            return refuse(packet);
        }
        int payload = transportLength - tcpHeaderLength;
        int mss = packet.segmentSize();
        if (mss == 0 || payload <= mss) {
            if (packet.checksumPartial() || mss > 0) {
                fillTcpChecksum(b, addressOffset, addressLength, transport, transportLength);
            }
            packet.range(ip, ip + ipLength).clearOffload();
            return sink.write(packet) ? 1 : 0;
        }
        int headers = ipHeaderLength + tcpHeaderLength;
        int payloadStart = transport + tcpHeaderLength;
        int count = (payload + mss - 1) / mss;
        int sequence = TcpHeader.sequence(b, transport);
        int flags = TcpHeader.flags(b, transport);
        int id = v4 ? Bytes.u16(b, ip + 4) : 0;
        int written = 0;
        for (int i = 0; i < count; i++) {
            int from = i * mss;
            int size = Math.min(mss, payload - from);
            PacketBuffer seg = pool.acquire(headroom + headers + size, headroom);
            byte[] s = seg.array();
            int at = seg.append(headers + size);
            System.arraycopy(b, ip, s, at, headers);
            System.arraycopy(b, payloadStart + from, s, at + headers, size);
            if (v4) {
                Bytes.put16(s, at + 2, headers + size);
                Bytes.put16(s, at + 4, id + i);
                Bytes.put16(s, at + 10, 0);
                Bytes.put16(s, at + 10, Checksum.compute(s, at, ipHeaderLength));
            } else {
                Bytes.put16(s, at + 4, tcpHeaderLength + size);
            }
            int t = at + ipHeaderLength;
            int segmentFlags = flags;
            if (i > 0) {
                segmentFlags &= ~TcpHeader.CWR;
            }
            if (i < count - 1) {
                segmentFlags &= ~(TcpHeader.FIN | TcpHeader.PSH);
            }
            Bytes.put32(s, t + 4, sequence + from);
            s[t + 13] = (byte) segmentFlags;
            fillTcpChecksum(s, at + (addressOffset - ip), addressLength, t, tcpHeaderLength + size);
            written++;
            if (!sink.write(seg)) {
                break;
            }
        }
        packet.release();
        return written;
    }

    private static int refuse(PacketBuffer packet) {
        packet.release();
        return -1;
    }

    private static void fillTcpChecksum(byte[] b, int addressOffset, int addressLength, int tcp, int tcpLength) {
        Bytes.put16(b, tcp + 16, 0);
        Bytes.put16(b, tcp + 16, transportChecksum(b, addressOffset, addressLength, TcpHeader.PROTOCOL, tcp, tcpLength));
    }

    private static int transportChecksum(byte[] b, int addressOffset, int addressLength, int protocol, int at,
                                         int length) {
        long sum = Checksum.pseudoHeader(b, addressOffset, addressOffset + addressLength, addressLength, protocol,
                length);
        return Checksum.finish(Checksum.add(sum, b, at, length));
    }
}
