package dev.loomstack.tcp;

import dev.loomstack.stack.TransportEndpointId;

/**
 * Admission for new forwarded connections, consulted before the {@link TcpForwarder}'s own global
 * limit (Tailscale's {@code wrapTCPProtocolHandler}): a gate may refuse a SYN (per-client limits)
 * and learns when an admitted one stops being in flight, whatever the outcome.
 */
public interface SynGate {
    SynGate OPEN = new SynGate() {
        @Override
        public boolean admit(TransportEndpointId id) {
            return true;
        }

        @Override
        public void released(TransportEndpointId id) {}
    };

    /** A new four-tuple's first SYN; false drops it. Called once per in-flight four-tuple. */
    boolean admit(TransportEndpointId id);

    /** The four-tuple admitted earlier is no longer in flight (taken, refused or not dispatched). */
    void released(TransportEndpointId id);
}
