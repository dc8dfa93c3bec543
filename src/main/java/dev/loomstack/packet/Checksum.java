package dev.loomstack.packet;

/**
 * The Internet checksum (RFC 1071) and the transport pseudo-headers of RFC 791/793 (IPv4) and
 * RFC 8200 section 8.1 (IPv6).
 *
 * <p>Partial sums are carried as {@code long} accumulators of 16-bit words so that several pieces
 * (pseudo-header, header, payload) can be added before folding; every piece except the last must
 * have even length, which holds for all headers and pseudo-headers.
 */
public final class Checksum {
    private Checksum() {}

    /** Adds {@code len} bytes at {@code off} to the running sum {@code initial}. */
    public static long add(long initial, byte[] b, int off, int len) {
        long sum = initial;
        int i = off;
        int end = off + len;
        // Eight bytes at a time: the sum of 16-bit words equals the sum of 32-bit halves, folded later.
        while (end - i >= 8) {
            long v = Bytes.i64(b, i);
            sum += (v >>> 32) + (v & 0xffffffffL);
            i += 8;
        }
        while (end - i >= 2) {
            sum += Bytes.u16(b, i);
            i += 2;
        }
        if (i < end) {
            sum += (b[i] & 0xff) << 8;
        }
        return sum;
    }

    /** Adds one 16-bit word. */
    public static long addWord(long initial, int word) {
        return initial + (word & 0xffff);
    }

    /** Folds the accumulator to 16 bits (one's-complement sum), not yet complemented. */
    public static int fold(long sum) {
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        return (int) sum;
    }

    /** The checksum field value: the complement of the folded sum. */
    public static int finish(long sum) {
        return ~fold(sum) & 0xffff;
    }

    /** RFC 1071 checksum of one range. */
    public static int compute(byte[] b, int off, int len) {
        return finish(add(0, b, off, len));
    }

    /** True when a range that contains its own checksum field sums to all ones. */
    public static boolean verifies(long sum) {
        return fold(sum) == 0xffff;
    }

    /**
     * Pseudo-header sum with addresses read from a packet: {@code addrLen} is 4 (IPv4) or 16 (IPv6);
     * source and destination addresses start at {@code srcOff} and {@code dstOff}.
     */
    public static long pseudoHeader(byte[] b, int srcOff, int dstOff, int addrLen, int protocol, int length) {
        long sum = add(0, b, srcOff, addrLen);
        sum = add(sum, b, dstOff, addrLen);
        return sum + protocol + (length & 0xffff) + (length >>> 16);
    }

    /** Pseudo-header sum for two addresses given as values. */
    public static long pseudoHeader(IpAddress src, IpAddress dst, int protocol, int length) {
        long sum = src.checksumWords() + dst.checksumWords();
        return sum + protocol + (length & 0xffff) + (length >>> 16);
    }

    /**
     * The transport checksum field of a packet whose checksum the link (or the kernel behind it)
     * completes: the pseudo-header sum over source, destination, protocol and the whole transport
     * length (header and payload of the packet as handed over, a super-segment included), folded
     * and NOT complemented. Linux's rule for CHECKSUM_PARTIAL and GSO packets (what
     * {@code __tcp_v4_send_check} writes, {@code ~tcp_v4_check(skb->len, saddr, daddr, 0)}, and
     * what a {@code virtio_net_hdr} with {@code VIRTIO_NET_HDR_F_NEEDS_CSUM} expects): the device
     * adds the bytes from {@code csum_start} to the end and complements; when it cuts a
     * super-segment it replaces the whole length by each segment's length in this sum.
     */
    public static int partialPseudoHeader(IpAddress src, IpAddress dst, int protocol, int transportLength) {
        return fold(pseudoHeader(src, dst, protocol, transportLength));
    }

    /**
     * RFC 1624 incremental update: the new checksum after a 16-bit word of the covered data changes
     * from {@code oldWord} to {@code newWord}.
     */
    public static int update(int checksum, int oldWord, int newWord) {
        long sum = (~checksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
        return ~fold(sum) & 0xffff;
    }
}
