package dev.loomstack.tcp;

import dev.loomstack.packet.TcpHeader;
import dev.loomstack.stack.TransportEndpointId;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A SYN for which no connection or listener exists, handed to the {@link TcpForwarder}'s handler
 * (the seed's {@code tcp.ForwarderRequest}). The handler either takes it with
 * {@link #createEndpoint} or refuses it with {@link #complete}; until then it counts as in flight.
 */
public final class ForwarderRequest {
    private final TcpForwarder forwarder;
    private final TcpProtocol protocol;
    private final SynInfo syn;
    private final AtomicBoolean done = new AtomicBoolean();

    ForwarderRequest(TcpForwarder forwarder, TcpProtocol protocol, SynInfo syn) {
        this.forwarder = forwarder;
        this.protocol = protocol;
        this.syn = syn;
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
        }
    }
}
