package dev.loomstack.udp;

import dev.loomstack.stack.TransportEndpointId;

/** The first datagram of a new UDP flow, waiting for its handler to take the flow. */
public final class UdpForwarderRequest {
    private final TransportEndpointId id;
    private final UdpEndpoint endpoint;
    private volatile boolean taken;

    UdpForwarderRequest(TransportEndpointId id, UdpEndpoint endpoint) {
        this.id = id;
        this.endpoint = endpoint;
    }

    /** The flow: local is the destination the peer sent to, remote is the peer. */
    public TransportEndpointId id() {
        return id;
    }

    /** Takes the flow: its connected endpoint, holding the first datagram. The caller must close it. */
    public UdpEndpoint createEndpoint() {
        taken = true;
        return endpoint;
    }

    boolean taken() {
        return taken;
    }
}
