package dev.loomstack.stack;

import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.packet.PacketBufferPool;

/** How a transport sends: the IP layer prepends the header, fragments if needed, and writes to the link. */
public interface NetworkOutput {
    /** IP header bytes a transport must leave free in front of its header (covers IPv6 without extensions). */
    int MAX_IP_HEADER = 60;

    /** Buffers with enough headroom for the IP header. */
    PacketBufferPool pool();

    /** The link MTU: the largest IP packet sent without fragmenting. */
    int mtu();

    /**
     * The largest IP packet a transport may hand over as one TCP super-segment (with a segment
     * size and a partial checksum) for the link to cut; 0 when the link cannot, and every packet
     * must fit {@link #mtu()}.
     */
    default int maxOffloadSize() {
        return 0;
    }

    /**
     * Sends {@code packet} (transport header and payload, checksum already filled in) from
     * {@code source} to {@code destination}; takes ownership. Returns false when the packet could
     * not be sent (no route, link closed), counted in {@link Stats}.
     */
    boolean send(IpAddress source, IpAddress destination, int protocol, PacketBuffer packet);

    /** Counters shared by every layer. */
    Stats stats();

    /** The stack's timers. */
    TimerService timers();
}
