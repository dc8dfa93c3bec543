package dev.loomstack.engine;

import java.net.InetSocketAddress;

/** What the engine watches of one forwarded flow (TCP or UDP): its upstream socket and its bytes. */
public interface FlowObserver {
    FlowObserver NONE = new FlowObserver() {};

    /** The upstream socket exists; {@code local} is its local address (for the ProxyMap). */
    default void upstreamOpen(InetSocketAddress local) {}

    /** The upstream could not be reached ({@code cancelled}: because the client gave up first). */
    default void dialFailed(boolean cancelled) {}

    default void bytesFromClient(int n) {}

    default void bytesToClient(int n) {}

    /** The flow is over; both sides are closed. */
    default void closed() {}
}
