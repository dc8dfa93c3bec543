package dev.loomstack.packet;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Static accessors, writer and checks for {@code struct virtio_net_hdr} (virtio 1.x section 5.1.6,
 * Linux {@code include/uapi/linux/virtio_net.h}): the 10 bytes a TUN device opened with
 * {@code IFF_VNET_HDR} puts before every packet it hands over and expects before every packet it
 * is given. They carry the segmentation and checksum offload of the packet behind them:
 *
 * <pre>
 *   u8  flags        NEEDS_CSUM, DATA_VALID
 *   u8  gso_type     NONE, TCPV4, TCPV6, UDP_L4, plus the ECN bit
 *   u16 hdr_len      bytes of headers (IP + transport) every segment repeats
 *   u16 gso_size     payload bytes per segment (the MSS)
 *   u16 csum_start   where checksumming starts: the transport header's offset in the packet
 *   u16 csum_offset  where the checksum field is, from csum_start (16 for TCP, 6 for UDP)
 * </pre>
 *
 * <p>Byte order: the legacy header (before virtio 1.0) is in the host's order, and a TUN device
 * uses it unless told otherwise ({@code tun_is_little_endian()}); the link pins it to little-endian
 * with {@code TUNSETVNETLE}, so this class always reads and writes little-endian, as virtio 1.x does.
 *
 * <h2>The checksum field with NEEDS_CSUM</h2>
 *
 * A packet written with {@link #F_NEEDS_CSUM} (with or without segmentation) carries in its
 * transport checksum field the ones'-complement sum of the pseudo-header only (RFC 9293 section
 * 3.1, RFC 768, RFC 8200 section 8.1), folded to 16 bits and <em>not</em> complemented, over the
 * packet's <em>whole</em> transport length (header and all payload of the super-segment), i.e.
 * {@code Checksum.fold(Checksum.pseudoHeader(src, dst, protocol, transportLength))} — what
 * Linux's own TCP puts there ({@code __tcp_v4_send_check}: {@code ~tcp_v4_check(len, ...)}). The
 * kernel sums from {@code csum_start} to the end, field included, and stores the complement; when it
 * cuts a super-segment ({@code tcp_gso_segment}) it first swaps the whole length in that sum for
 * each segment's length, which is why the length must be the whole one. For UDP the length is the
 * UDP length field (the whole datagram), which the kernel swaps likewise. A packet the kernel hands
 * over with NEEDS_CSUM carries the same partial value: it was never checksummed, because it never
 * left the host (its origin is a local socket).
 */
public final class VirtioNetHeader {
    public static final int LENGTH = 10;

    /** The checksum is partial: complete it from {@code csum_start}, storing at {@code csum_offset}. */
    public static final int F_NEEDS_CSUM = 1;
    /** The checksum was verified already (by hardware or the kernel). */
    public static final int F_DATA_VALID = 2;
    private static final int KNOWN_FLAGS = F_NEEDS_CSUM | F_DATA_VALID;

    public static final int GSO_NONE = 0;
    public static final int GSO_TCPV4 = 1;
    /** UDP fragmentation offload (UFO): never enabled by the link, refused when seen. */
    public static final int GSO_UDP = 3;
    public static final int GSO_TCPV6 = 4;
    /** UDP segmentation offload (USO): datagrams of gso_size bytes each, every one with its own headers. */
    public static final int GSO_UDP_L4 = 5;
    /** The TCP super-segment carries CWR (RFC 3168): only the first segment cut from it keeps it. */
    public static final int GSO_ECN = 0x80;

    /** Where the checksum field is in a TCP header (RFC 9293 section 3.1). */
    public static final int TCP_CHECKSUM_OFFSET = 16;
    /** Where the checksum field is in a UDP header (RFC 768). */
    public static final int UDP_CHECKSUM_OFFSET = 6;

    private static final VarHandle U16 = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);

    private VirtioNetHeader() {}

    public static int flags(byte[] b, int off) {
        return b[off] & 0xff;
    }

    /** The GSO type with the {@link #GSO_ECN} bit. */
    public static int gsoType(byte[] b, int off) {
        return b[off + 1] & 0xff;
    }

    public static int headerLength(byte[] b, int off) {
        return u16(b, off + 2);
    }

    public static int gsoSize(byte[] b, int off) {
        return u16(b, off + 4);
    }

    public static int checksumStart(byte[] b, int off) {
        return u16(b, off + 6);
    }

    public static int checksumOffset(byte[] b, int off) {
        return u16(b, off + 8);
    }

    /** Writes all ten bytes. */
    public static void write(byte[] b, int off, int flags, int gsoType, int headerLength, int gsoSize,
                             int checksumStart, int checksumOffset) {
        b[off] = (byte) flags;
        b[off + 1] = (byte) gsoType;
        U16.set(b, off + 2, (short) headerLength);
        U16.set(b, off + 4, (short) gsoSize);
        U16.set(b, off + 6, (short) checksumStart);
        U16.set(b, off + 8, (short) checksumOffset);
    }

    /** A header that says nothing: a plain packet with its checksums complete. */
    public static void writePlain(byte[] b, int off) {
        write(b, off, 0, GSO_NONE, 0, 0, 0, 0);
    }

    /**
     * Why the header at {@code off} cannot describe the IP packet {@code b[packet .. packet +
     * length)}, or null when it can. The kernel only hands over what it validated, so a reason here
     * means a kernel we do not understand (an offload we never enabled) or a corrupt read; the
     * link counts and drops such packets instead of guessing.
     */
    public static String invalidReason(byte[] b, int off, int packet, int length) {
        int flags = flags(b, off);
        if ((flags & ~KNOWN_FLAGS) != 0) {
            return "unknown flags 0x" + Integer.toHexString(flags);
        }
        if (length < 1) {
            return "no packet behind the header";
        }
        int start = checksumStart(b, off);
        int csumOffset = checksumOffset(b, off);
        if ((flags & F_NEEDS_CSUM) != 0 && start + csumOffset + 2 > length) {
            return "checksum field at " + start + "+" + csumOffset + " past the packet of " + length + " bytes";
        }
        if (headerLength(b, off) > length) {
            return "header length " + headerLength(b, off) + " past the packet of " + length + " bytes";
        }
        int gso = gsoType(b, off);
        int type = gso & ~GSO_ECN;
        if (type == GSO_NONE) {
            return gso == GSO_NONE ? null : "ECN bit without a GSO type";
        }
        int size = gsoSize(b, off);
        if (size == 0) {
            return "GSO type " + type + " with gso_size 0";
        }
        int version = (b[packet] & 0xff) >>> 4;
        int protocol = version == 4 && length >= Ipv4Header.MIN_LENGTH ? b[packet + 9] & 0xff
                : version == 6 && length >= Ipv6Header.LENGTH ? b[packet + 6] & 0xff : -1;
        return switch (type) {
            case GSO_TCPV4 -> version == 4 && protocol == TcpHeader.PROTOCOL ? null
                    : "GSO TCPV4 on a packet that is not IPv4 TCP (version " + version + ", protocol " + protocol + ")";
            case GSO_TCPV6 -> version == 6 && protocol == TcpHeader.PROTOCOL ? null
                    : "GSO TCPV6 on a packet that is not IPv6 TCP (version " + version + ", next header " + protocol + ")";
            case GSO_UDP_L4 -> (gso & GSO_ECN) == 0 && protocol == UdpHeader.PROTOCOL && (flags & F_NEEDS_CSUM) != 0 ? null
                    : "GSO UDP_L4 on a packet that is not UDP with a partial checksum";
            default -> "GSO type " + type + " not enabled";
        };
    }

    /**
     * Fills the header for an outbound IP packet at {@code b[packet .. packet + length)} from its
     * offload marks: a {@code segmentSize > 0} packet becomes a GSO packet of the type its IP
     * version and protocol name (TCP, or UDP when {@code udpSegmentation}), cut at {@code
     * segmentSize} payload bytes; {@code partial} (or any GSO) adds NEEDS_CSUM at the transport
     * header. Returns null, or why the packet cannot be described (the header is then unwritten).
     */
    public static String writeFor(byte[] b, int off, int packet, int length, int segmentSize, boolean partial,
                                  boolean udpSegmentation) {
        if (segmentSize == 0 && !partial) {
            writePlain(b, off);
            return null;
        }
        int version = length > 0 ? (b[packet] & 0xff) >>> 4 : 0;
        int ipHeader;
        int protocol;
        if (version == 4 && length >= Ipv4Header.MIN_LENGTH) {
            ipHeader = (b[packet] & 0x0f) * 4;
            protocol = b[packet + 9] & 0xff;
        } else if (version == 6 && length >= Ipv6Header.LENGTH) {
            // The stack adds no extension headers to what it sends: the transport header follows.
            ipHeader = Ipv6Header.LENGTH;
            protocol = b[packet + 6] & 0xff;
        } else {
            return "not an IP packet";
        }
        int transportHeader;
        int csumOffset;
        int type;
        if (protocol == TcpHeader.PROTOCOL && length >= ipHeader + TcpHeader.MIN_LENGTH) {
            transportHeader = TcpHeader.headerLength(b, packet + ipHeader);
            csumOffset = TCP_CHECKSUM_OFFSET;
            type = version == 4 ? GSO_TCPV4 : GSO_TCPV6;
        } else if (protocol == UdpHeader.PROTOCOL && length >= ipHeader + UdpHeader.LENGTH) {
            transportHeader = UdpHeader.LENGTH;
            csumOffset = UDP_CHECKSUM_OFFSET;
            type = GSO_UDP_L4;
            if (segmentSize > 0 && !udpSegmentation) {
                return "UDP segmentation not enabled";
            }
        } else {
            return "no TCP or UDP header to offload (protocol " + protocol + ")";
        }
        int headers = ipHeader + transportHeader;
        if (headers > length) {
            return "headers of " + headers + " bytes past the packet of " + length;
        }
        if (segmentSize == 0) {
            write(b, off, F_NEEDS_CSUM, GSO_NONE, headers, 0, ipHeader, csumOffset);
        } else {
            write(b, off, F_NEEDS_CSUM, type, headers, segmentSize, ipHeader, csumOffset);
        }
        return null;
    }

    private static int u16(byte[] b, int off) {
        return (short) U16.get(b, off) & 0xffff;
    }
}
