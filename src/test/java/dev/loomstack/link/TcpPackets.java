package dev.loomstack.link;

import dev.loomstack.packet.Bytes;
import dev.loomstack.packet.Checksum;
import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.Ipv4Header;
import dev.loomstack.packet.Ipv6Header;
import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.packet.TcpHeader;
import dev.loomstack.packet.TcpOptions;

/**
 * Builds TCP/IP packets with valid checksums for the coalescer and segmenter tests. The payload
 * byte at sequence number {@code s} is always {@link #dataAt(int) dataAt(s)}, so a merged or cut
 * packet can be compared byte for byte with one built whole.
 */
final class TcpPackets {
    static final IpAddress CLIENT4 = IpAddress.parse("100.64.0.2");
    static final IpAddress SERVER4 = IpAddress.parse("100.64.0.1");
    static final IpAddress CLIENT6 = IpAddress.parse("fd7a:115c:a1e0::2");
    static final IpAddress SERVER6 = IpAddress.parse("fd7a:115c:a1e0::1");
    static final int HEADROOM = PacketBufferPool.DEFAULT_HEADROOM;

    private TcpPackets() {}

    static byte dataAt(int sequence) {
        return (byte) (sequence * 7 + (sequence >>> 8));
    }

    /** A timestamps option as Linux sends it (NOP, NOP, kind 8, length 10, TSval, TSecr). */
    static byte[] timestamps(int tsVal, int tsEcr) {
        byte[] o = new byte[TcpOptions.TIMESTAMPS_ALIGNED_LENGTH];
        o[0] = TcpOptions.NOP;
        o[1] = TcpOptions.NOP;
        o[2] = TcpOptions.TIMESTAMPS;
        o[3] = 10;
        Bytes.put32(o, 4, tsVal);
        Bytes.put32(o, 8, tsEcr);
        return o;
    }

    /** Timestamps and one SACK block (NOP, NOP, kind 5, length 10). */
    static byte[] timestampsAndSack(int tsVal, int tsEcr, int left, int right) {
        byte[] o = new byte[TcpOptions.TIMESTAMPS_ALIGNED_LENGTH + 12];
        System.arraycopy(timestamps(tsVal, tsEcr), 0, o, 0, TcpOptions.TIMESTAMPS_ALIGNED_LENGTH);
        int i = TcpOptions.TIMESTAMPS_ALIGNED_LENGTH;
        o[i] = TcpOptions.NOP;
        o[i + 1] = TcpOptions.NOP;
        o[i + 2] = TcpOptions.SACK;
        o[i + 3] = 10;
        Bytes.put32(o, i + 4, left);
        Bytes.put32(o, i + 8, right);
        return o;
    }

    static Builder v4() {
        return new Builder(CLIENT4, SERVER4);
    }

    static Builder v6() {
        return new Builder(CLIENT6, SERVER6);
    }

    static Builder of(int version) {
        return version == 4 ? v4() : v6();
    }

    /** A packet's fields; setters return the builder, {@link #copy} starts a variant. */
    static final class Builder {
        IpAddress source;
        IpAddress destination;
        int sourcePort = 40000;
        int destinationPort = 5201;
        int sequence = 1_000_000;
        int ack = 77_000;
        int flags = TcpHeader.ACK;
        int window = 512;
        byte[] options = timestamps(1000, 2000);
        int payload;
        int tos;
        int ttl = 64;
        int id = 0x1234;
        int flowLabel;
        boolean dontFragment = true;

        Builder(IpAddress source, IpAddress destination) {
            this.source = source;
            this.destination = destination;
        }

        Builder copy() {
            Builder b = new Builder(source, destination);
            b.sourcePort = sourcePort;
            b.destinationPort = destinationPort;
            b.sequence = sequence;
            b.ack = ack;
            b.flags = flags;
            b.window = window;
            b.options = options;
            b.payload = payload;
            b.tos = tos;
            b.ttl = ttl;
            b.id = id;
            b.flowLabel = flowLabel;
            b.dontFragment = dontFragment;
            return b;
        }

        Builder seq(int s) {
            sequence = s;
            return this;
        }

        Builder payload(int n) {
            payload = n;
            return this;
        }

        Builder flags(int f) {
            flags = f;
            return this;
        }

        Builder ack(int a) {
            ack = a;
            return this;
        }

        Builder window(int w) {
            window = w;
            return this;
        }

        Builder options(byte[] o) {
            options = o;
            return this;
        }

        Builder ports(int src, int dst) {
            sourcePort = src;
            destinationPort = dst;
            return this;
        }

        Builder tos(int t) {
            tos = t;
            return this;
        }

        Builder ttl(int t) {
            ttl = t;
            return this;
        }

        Builder id(int i) {
            id = i;
            return this;
        }

        Builder flowLabel(int f) {
            flowLabel = f;
            return this;
        }

        /** The sequence number after this packet's data. */
        int end() {
            return sequence + payload;
        }

        boolean isV4() {
            return source.v4();
        }

        int ipHeaderLength() {
            return isV4() ? Ipv4Header.MIN_LENGTH : Ipv6Header.LENGTH;
        }

        int tcpHeaderLength() {
            return TcpHeader.MIN_LENGTH + options.length;
        }

        int addressOffset() {
            return isV4() ? Ipv4Header.SOURCE_OFFSET : Ipv6Header.SOURCE_OFFSET;
        }

        /** The packet with valid IP and TCP checksums. */
        byte[] bytes() {
            int ihl = ipHeaderLength();
            int thl = tcpHeaderLength();
            int tcpLength = thl + payload;
            byte[] b = new byte[ihl + tcpLength];
            if (isV4()) {
                Ipv4Header.write(b, 0, b.length, id, dontFragment ? Ipv4Header.FLAG_DONT_FRAGMENT : 0, ttl,
                        TcpHeader.PROTOCOL, source, destination);
                b[1] = (byte) tos;
                Bytes.put16(b, 10, 0);
                Bytes.put16(b, 10, Checksum.compute(b, 0, ihl));
            } else {
                Ipv6Header.write(b, 0, tcpLength, TcpHeader.PROTOCOL, ttl, source, destination);
                Bytes.put32(b, 0, 0x60000000 | (tos << 20) | flowLabel);
            }
            System.arraycopy(options, 0, b, ihl + TcpHeader.MIN_LENGTH, options.length);
            TcpHeader.write(b, ihl, sourcePort, destinationPort, sequence, ack, thl, flags, window);
            for (int i = 0; i < payload; i++) {
                b[ihl + thl + i] = dataAt(sequence + i);
            }
            TcpHeader.fillChecksum(b, ihl, tcpLength, source, destination);
            return b;
        }

        /** {@link #bytes()} in a buffer with headroom. */
        PacketBuffer buffer() {
            return PacketBuffer.copyOf(bytes(), HEADROOM);
        }

        /**
         * A super-segment as TCP hands it to a link with offload: cut at {@code mss}, the checksum
         * field holding only the pseudo-header sum (not complemented, as Linux's CHECKSUM_PARTIAL).
         */
        PacketBuffer superSegment(int mss) {
            byte[] b = bytes();
            int t = ipHeaderLength();
            long pseudo = Checksum.pseudoHeader(b, addressOffset(), addressOffset() + source.byteLength(),
                    source.byteLength(), TcpHeader.PROTOCOL, b.length - t);
            Bytes.put16(b, t + 16, Checksum.fold(pseudo));
            return PacketBuffer.copyOf(b, HEADROOM).segmentSize(mss).checksumPartial(true);
        }
    }

    /** True when the TCP checksum of the IP packet {@code b} verifies. */
    static boolean tcpChecksumValid(byte[] b) {
        boolean v4 = (b[0] & 0xff) >>> 4 == 4;
        int ihl = v4 ? (b[0] & 0x0f) * 4 : Ipv6Header.LENGTH;
        int addrLen = v4 ? 4 : 16;
        int addr = v4 ? Ipv4Header.SOURCE_OFFSET : Ipv6Header.SOURCE_OFFSET;
        int tcpLength = b.length - ihl;
        long sum = Checksum.pseudoHeader(b, addr, addr + addrLen, addrLen, TcpHeader.PROTOCOL, tcpLength);
        return Checksum.verifies(Checksum.add(sum, b, ihl, tcpLength));
    }
}
