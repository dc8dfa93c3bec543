package dev.loomstack.udp;

import dev.loomstack.stack.NetworkPacket;
import dev.loomstack.stack.TransportEndpointId;
import dev.loomstack.stack.TransportProtocolHandler.Delivery;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;

/**
 * Hands the first datagram of a flow that no endpoint serves to a handler (Tailscale's
 * {@code udp.NewForwarder}). The flow's connected endpoint is created at once, on the reader thread,
 * and the datagram queued in it, so neither it nor the ones that follow are lost while the handler
 * starts; the handler runs on its own virtual thread and takes the endpoint with
 * {@link UdpForwarderRequest#createEndpoint()}. A handler that returns without taking it closes the
 * flow.
 *
 * <p>At most {@link #maxFlows()} flows may be open at once (from the first datagram until the
 * handler returns, which for a forwarded flow is its whole life): each holds an endpoint, a thread
 * and, once forwarded, a host socket, so a flood of spoofed sources cannot grow memory or use up
 * file descriptors without bound. A flow beyond the limit is dropped and counted on its own
 * ({@link #droppedMaxFlows()}), never as a receive-buffer error. The limit can be changed while
 * running; flows already open keep going when it is lowered.
 */
public final class UdpForwarder {
    /** The limit when the owner sets none (the engine always sets one: {@code loomstack.limits.max-udp-flows}). */
    public static final int DEFAULT_MAX_FLOWS = 65_536;

    private final Consumer<UdpForwarderRequest> handler;
    private volatile int maxFlows;
    private final AtomicInteger open = new AtomicInteger();
    private final LongAdder droppedMaxFlows = new LongAdder();

    public UdpForwarder(Consumer<UdpForwarderRequest> handler) {
        this(handler, DEFAULT_MAX_FLOWS);
    }

    public UdpForwarder(Consumer<UdpForwarderRequest> handler, int maxFlows) {
        if (handler == null) {
            throw new IllegalArgumentException("handler must not be null");
        }
        this.handler = handler;
        setMaxFlows(maxFlows);
    }

    /** Applies a new limit at once; flows already open beyond it run on until they end. */
    public void setMaxFlows(int n) {
        if (n <= 0) {
            throw new IllegalArgumentException("maxFlows must be positive, got " + n);
        }
        maxFlows = n;
    }

    public int maxFlows() {
        return maxFlows;
    }

    /** Flows open now: their handler has not returned. */
    public int openFlows() {
        return open.get();
    }

    /** New flows dropped because {@link #maxFlows()} were open. */
    public long droppedMaxFlows() {
        return droppedMaxFlows.sum();
    }

    Delivery handleNewFlow(UdpProtocol protocol, NetworkPacket pkt, int udpOff, int udpLen, int srcPort, int dstPort) {
        if (open.incrementAndGet() > maxFlows) {
            open.decrementAndGet();
            droppedMaxFlows.increment();
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
                open.decrementAndGet();
                if (!request.taken()) {
                    ep.close();
                }
            }
        });
        return Delivery.DELIVERED;
    }
}
