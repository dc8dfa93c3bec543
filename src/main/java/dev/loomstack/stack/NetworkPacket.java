package dev.loomstack.stack;

import dev.loomstack.packet.Checksum;
import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.PacketBuffer;

/**
 * What the IP layer tells a transport about one validated inbound packet: where the addresses and
 * the transport bytes are inside the buffer. The IP layer reuses one instance per reader thread,
 * so a transport must not keep it (nor the buffer) after {@link TransportProtocolHandler#handlePacket}
 * returns.
 */
public final class NetworkPacket {
    private PacketBuffer buffer;
    private boolean v6;
    private int networkOffset;
    private int sourceOffset;
    private int destinationOffset;
    private int protocol;
    private int transportOffset;
    private int transportLength;
    private int hopLimit;

    /** Fills this context; called by the IP layer. */
    public NetworkPacket set(PacketBuffer buffer, boolean v6, int networkOffset, int sourceOffset, int destinationOffset,
                             int protocol, int transportOffset, int transportLength, int hopLimit) {
        this.buffer = buffer;
        this.v6 = v6;
        this.networkOffset = networkOffset;
        this.sourceOffset = sourceOffset;
        this.destinationOffset = destinationOffset;
        this.protocol = protocol;
        this.transportOffset = transportOffset;
        this.transportLength = transportLength;
        this.hopLimit = hopLimit;
        return this;
    }

    public PacketBuffer buffer() {
        return buffer;
    }

    public byte[] array() {
        return buffer.array();
    }

    public boolean isV6() {
        return v6;
    }

    public int addressLength() {
        return v6 ? 16 : 4;
    }

    /** Offset of the IP header (the start of the original packet, for ICMP errors that quote it). */
    public int networkOffset() {
        return networkOffset;
    }

    public int sourceOffset() {
        return sourceOffset;
    }

    public int destinationOffset() {
        return destinationOffset;
    }

    public int protocol() {
        return protocol;
    }

    public int transportOffset() {
        return transportOffset;
    }

    public int transportLength() {
        return transportLength;
    }

    public int hopLimit() {
        return hopLimit;
    }

    /** Allocates; for slow paths (a new connection) only. */
    public IpAddress source() {
        return IpAddress.read(buffer.array(), sourceOffset, addressLength());
    }

    /** Allocates; for slow paths (a new connection) only. */
    public IpAddress destination() {
        return IpAddress.read(buffer.array(), destinationOffset, addressLength());
    }

    public boolean sourceIs(IpAddress a) {
        return a.equalsAt(buffer.array(), sourceOffset, addressLength());
    }

    public boolean destinationIs(IpAddress a) {
        return a.equalsAt(buffer.array(), destinationOffset, addressLength());
    }

    /** The pseudo-header sum for this packet's addresses and protocol over {@code length} bytes. */
    public long pseudoHeaderSum(int length) {
        return Checksum.pseudoHeader(buffer.array(), sourceOffset, destinationOffset, addressLength(), protocol, length);
    }

    /** True when the transport bytes, with their checksum field, verify against the pseudo-header. */
    public boolean transportChecksumValid() {
        long sum = Checksum.add(pseudoHeaderSum(transportLength), buffer.array(), transportOffset, transportLength);
        return Checksum.verifies(sum);
    }
}
