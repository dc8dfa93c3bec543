package dev.loomstack.link;

import dev.loomstack.packet.PacketBuffer;

/** Receives the packets a {@link LinkEndpoint} reads. */
@FunctionalInterface
public interface NetworkDispatcher {
    /**
     * Handles one inbound IP packet. The buffer is lent for the duration of the call: the
     * dispatcher copies whatever it needs to keep, and must not throw for malformed input.
     */
    void deliverNetworkPacket(PacketBuffer packet);
}
