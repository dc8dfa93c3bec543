package dev.loomstack.tcp;

import dev.loomstack.packet.TcpHeader;
import dev.loomstack.stack.TransportEndpointId;
import java.io.IOException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A SYN for which no connection or listener exists, handed to the {@link TcpForwarder}'s handler
 * (Tailscale's {@code tcp.ForwarderRequest}). The handler either takes it with
 * {@link #createEndpoint} or refuses it with {@link #complete}; until then it counts as in flight.
 */
public final class ForwarderRequest {
    private final TcpForwarder forwarder;
    private final TcpProtocol protocol;
    private final SynInfo syn;
    private final SynGate gate;
    private final AtomicBoolean done = new AtomicBoolean();
    private final AtomicBoolean cancelled = new AtomicBoolean();
    private final CopyOnWriteArrayList<Runnable> onCancel = new CopyOnWriteArrayList<>();

    ForwarderRequest(TcpForwarder forwarder, TcpProtocol protocol, SynInfo syn, SynGate gate) {
        this.forwarder = forwarder;
        this.protocol = protocol;
        this.syn = syn;
        this.gate = gate;
    }

    /**
     * Runs {@code r} if the client resets the flow before it is taken (at once if it already has):
     * a handler dialling upstream uses it to abandon the dial.
     */
    public void onCancel(Runnable r) {
        onCancel.add(r);
        if (cancelled.get() && onCancel.remove(r)) {
            r.run();
        }
    }

    /** True once the client has reset the flow while it was in flight. */
    public boolean isCancelled() {
        return cancelled.get();
    }

    void cancel() {
        if (cancelled.compareAndSet(false, true)) {
            for (Runnable r : onCancel) {
                if (onCancel.remove(r)) {
                    r.run();
                }
            }
        }
    }

    /** The flow: local is the address the client connected to, remote is the client. */
    public TransportEndpointId id() {
        return syn.id();
    }

    /**
     * Answers the SYN and waits for the handshake to complete; the request is then complete.
     *
     * @throws IOException when the client resets or never completes the handshake
     */
    public TcpEndpoint createEndpoint() throws IOException {
        if (done.get()) {
            throw new IllegalStateException("request for " + id() + " already completed");
        }
        if (cancelled.get()) {
            finish();
            throw new java.net.SocketException("client " + id().remoteAddress() + " reset before the handshake");
        }
        try {
            TcpEndpoint ep = protocol.accept(syn, forwarder.settingsFor(protocol));
            ep.awaitEstablished(Long.MAX_VALUE);
            return ep;
        } finally {
            finish();
        }
    }

    /** Finishes the request without a connection; with {@code sendReset} the client gets a RST. */
    public void complete(boolean sendReset) {
        if (done.get()) {
            return;
        }
        if (sendReset) {
            TransportEndpointId id = syn.id();
            protocol.sendReset(id.localAddress(), id.localPort(), id.remoteAddress(), id.remotePort(), 0,
                    syn.sequence() + 1, TcpHeader.RST | TcpHeader.ACK);
        }
        finish();
    }

    boolean isDone() {
        return done.get();
    }

    private void finish() {
        if (done.compareAndSet(false, true)) {
            forwarder.released(this);
            gate.released(id());
        }
    }
}
