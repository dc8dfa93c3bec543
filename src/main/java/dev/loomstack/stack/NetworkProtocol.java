package dev.loomstack.stack;

import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.PacketBuffer;

/** A network-layer protocol (IPv4 or IPv6) as the {@link Stack} sees it. */
public interface NetworkProtocol {
    /** The IP version this protocol handles: 4 or 6. */
    int version();

    /** Handles one inbound packet; the buffer is lent for the call. Never throws for bad input. */
    void receive(PacketBuffer packet);

    /** Prepends this protocol's header (fragmenting as needed) and writes to the link; takes ownership. */
    boolean send(IpAddress source, IpAddress destination, int protocol, PacketBuffer payload);

    /** Answers an ICMP echo request ({@code request[off, off+len)} is its ICMP message) from {@code from}. */
    void sendEchoReply(IpAddress from, IpAddress to, byte[] request, int off, int len);

    /** Releases timers and held fragments. */
    default void close() {}
}
