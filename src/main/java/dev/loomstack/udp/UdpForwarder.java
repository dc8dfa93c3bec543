package dev.loomstack.udp;

import dev.loomstack.stack.NetworkPacket;
import dev.loomstack.stack.TransportEndpointId;
import dev.loomstack.stack.TransportProtocolHandler.Delivery;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;

/**
 * Hands the first datagram of a flow that no endpoint serves to a handler (the seed's
 * {@code udp.NewForwarder}). The flow's connected endpoint is created at once, on the reader thread,
 * and the datagram queued in it, so neither it nor the ones that follow are lost while the handler
 * starts; the handler runs on its own virtual thread and takes the endpoint with
 * {@link UdpForwarderRequest#createEndpoint()}. A handler that returns without taking it closes the
 * flow.
 *
 * <p>At most {@code maxPending} flows may wait for their handler; beyond that new flows are dropped
 * and counted, so a flood of spoofed sources cannot grow memory without bound.
 */
public final class UdpForwarder {
    public static final int DEFAULT_MAX_PENDING = 4096;

    private final Consumer<UdpForwarderRequest> handler;
    private final int maxPending;
    private final AtomicInteger pending = new AtomicInteger();
    private final LongAdder droppedPending = new LongAdder();

    public UdpForwarder(Consumer<UdpForwarderRequest> handler) {
        this(handler, DEFAULT_MAX_PENDING);
    }

    public UdpForwarder(Consumer<UdpForwarderRequest> handler, int maxPending) {
        if (handler == null) {
            throw new IllegalArgumentException("handler must not be null");
        }
        if (maxPending <= 0) {
            throw new IllegalArgumentException("maxPending must be positive");
        }
        this.handler = handler;
        this.maxPending = maxPending;
    }

    /** Flows dropped because too many were waiting for their handler. */
    public long droppedPending() {
        return droppedPending.sum();
    }

    Delivery handleNewFlow(UdpProtocol protocol, NetworkPacket pkt, int udpOff, int udpLen, int srcPort, int dstPort) {
        if (pending.incrementAndGet() > maxPending) {
            pending.decrementAndGet();
            droppedPending.increment();
            protocol.stats().receiveBufferErrors.increment();
            return Delivery.DROPPED;
        }
        // Allocation here is per flow, not per packet: the id and endpoint live as long as the flow.
        TransportEndpointId id = new TransportEndpointId(pkt.destination(), dstPort, pkt.source(), srcPort);
        UdpEndpoint ep = protocol.createConnected(id);
        ep.enqueue(pkt.array(), udpOff + UdpProtocol.HEADER_LENGTH, udpLen - UdpProtocol.HEADER_LENGTH,
                pkt.array(), pkt.sourceOffset(), pkt.addressLength(), srcPort);
        UdpForwarderRequest request = new UdpForwarderRequest(id, ep);
        Thread.ofVirtual().name("udp-flow " + id).start(() -> {
            try {
                handler.accept(request);
            } catch (RuntimeException e) {
                System.getLogger(UdpForwarder.class.getName())
                        .log(System.Logger.Level.WARNING, "UDP flow handler failed for " + id, e);
            } finally {
                pending.decrementAndGet();
                if (!request.taken()) {
                    ep.close();
                }
            }
        });
        return Delivery.DELIVERED;
    }
}
