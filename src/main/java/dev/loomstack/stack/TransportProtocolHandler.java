package dev.loomstack.stack;

/** A transport protocol (TCP, UDP) as the IP layer sees it: a demultiplexer for its packets. */
public interface TransportProtocolHandler {
    /** IANA protocol number: 6 for TCP, 17 for UDP. */
    int protocolNumber();

    /**
     * Handles one inbound packet addressed to this stack. Counts its own malformed/checksum drops.
     * The packet is lent for the duration of the call.
     */
    Delivery handlePacket(NetworkPacket packet);

    /**
     * An ICMP error (destination unreachable, packet too big, time exceeded) quoting a packet this
     * protocol sent; {@code quoted} describes the quoted IP packet, {@code type}/{@code code} are the
     * ICMP (v4 or v6, see {@link NetworkPacket#isV6()}) values. Default: ignored.
     */
    default void handleControlPacket(NetworkPacket quoted, int type, int code, long info) {}

    /** The outcome of {@link #handlePacket}. */
    enum Delivery {
        /** An endpoint (or forwarder) took the packet. */
        DELIVERED,
        /** Dropped and counted by the transport (malformed, bad checksum, hostile). */
        DROPPED,
        /** No endpoint for the destination port: the IP layer answers with ICMP port unreachable. */
        PORT_UNREACHABLE
    }
}
