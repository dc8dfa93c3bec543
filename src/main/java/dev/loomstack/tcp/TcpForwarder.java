package dev.loomstack.tcp;

import dev.loomstack.stack.NetworkPacket;
import dev.loomstack.stack.TransportEndpointId;
import java.lang.System.Logger.Level;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * Turns SYNs for which nothing listens into {@link ForwarderRequest}s (Tailscale's
 * {@code tcp.NewForwarder(stack, rcvWnd, maxInFlight, handler)}). The handler runs on a virtual
 * thread per request. A retransmitted SYN for a four-tuple already in flight is absorbed; past
 * {@code maxInFlight} new SYNs are dropped and counted ({@code forward_max_in_flight_drop}). The
 * limit may be changed while running.
 */
public final class TcpForwarder {
    private static final System.Logger LOG = System.getLogger(TcpForwarder.class.getName());

    private final Consumer<ForwarderRequest> handler;
    private final ConcurrentHashMap<TransportEndpointId, ForwarderRequest> inFlight = new ConcurrentHashMap<>();
    /** Settings for accepted connections, or null for the protocol's own. */
    private final TcpSettings settings;
    private volatile int maxInFlight;
    private volatile SynGate gate = SynGate.OPEN;

    public TcpForwarder(int maxInFlight, Consumer<ForwarderRequest> handler) {
        setMaxInFlight(maxInFlight);
        this.handler = handler;
        this.settings = null;
    }

    /**
     * Tailscale's shape: installs itself on {@code protocol}; accepted connections start with a
     * receive window of {@code receiveWindow} bytes (0 keeps the protocol's default).
     */
    public TcpForwarder(TcpProtocol protocol, int receiveWindow, int maxInFlight, Consumer<ForwarderRequest> handler) {
        setMaxInFlight(maxInFlight);
        this.handler = handler;
        TcpSettings s = protocol.settings();
        this.settings = receiveWindow <= 0 ? null
                : s.withBuffers(s.sendBufferSize(), receiveWindow, Math.max(receiveWindow, s.receiveBufferMax()));
        protocol.setForwarder(this);
    }

    TcpSettings settingsFor(TcpProtocol protocol) {
        return settings != null ? settings : protocol.settings();
    }

    public void setMaxInFlight(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("maxInFlight must be at least 1, got " + n);
        }
        this.maxInFlight = n;
    }

    /** Installs the admission check run before the global limit. */
    public void setGate(SynGate g) {
        this.gate = g == null ? SynGate.OPEN : g;
    }

    public int maxInFlight() {
        return maxInFlight;
    }

    public int inFlight() {
        return inFlight.size();
    }

    void synArrived(TcpProtocol protocol, NetworkPacket p, int srcPort, int dstPort, Segment seg) {
        SynInfo syn = protocol.synInfo(p, srcPort, dstPort);
        if (inFlight.containsKey(syn.id())) {
            return;
        }
        SynGate g = gate;
        if (!g.admit(syn.id())) {
            return;
        }
        if (inFlight.size() >= maxInFlight) {
            protocol.stats().forwardMaxInFlightDrop.increment();
            // Not dispatched: the gate's slot comes back at once.
            g.released(syn.id());
            return;
        }
        ForwarderRequest r = new ForwarderRequest(this, protocol, syn, g);
        if (inFlight.putIfAbsent(syn.id(), r) != null) {
            g.released(syn.id());
            return;
        }
        Thread.ofVirtual().name("tcp-forward " + syn.id()).start(() -> {
            try {
                handler.accept(r);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "forwarder handler failed for " + syn.id(), e);
            } finally {
                // A handler that neither took nor refused the request gives its slot back.
                r.complete(false);
            }
        });
    }

    void released(ForwarderRequest r) {
        inFlight.remove(r.id(), r);
    }

    /**
     * The client reset a four-tuple still in flight: it has gone away, so whatever the handler is
     * waiting for (a dial upstream) is cancelled.
     */
    void resetArrived(TransportEndpointId id) {
        ForwarderRequest r = inFlight.get(id);
        if (r != null) {
            r.cancel();
        }
    }
}
