package dev.loomstack.engine;

import dev.loomstack.net.TcpConn;
import dev.loomstack.net.UdpConn;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;
import java.util.function.Consumer;

/**
 * Handlers the embedding application registers for flows it serves itself: per-flow deciders for
 * TCP and UDP (asked first), and intercepted own-address TCP ports (Tailscale's peerAPI, SSH and
 * web-server cases), which are taken even when own addresses are not otherwise processed.
 */
public final class FlowHandlers {
    /** Decides on a new flow from {@code client} to {@code destination}. */
    @FunctionalInterface
    public interface Decider<C> extends BiFunction<InetSocketAddress, InetSocketAddress, FlowDecision<C>> {}

    private volatile Decider<TcpConn> tcp = (c, d) -> FlowDecision.pass();
    private volatile Decider<UdpConn> udp = (c, d) -> FlowDecision.pass();
    private final Map<Integer, Consumer<TcpConn>> interceptedTcp = new ConcurrentHashMap<>();
    private final Runnable onInterceptedChange;

    FlowHandlers(Runnable onInterceptedChange) {
        this.onInterceptedChange = onInterceptedChange;
    }

    public void setTcpDecider(Decider<TcpConn> d) {
        tcp = d == null ? (c, x) -> FlowDecision.pass() : d;
    }

    public void setUdpDecider(Decider<UdpConn> d) {
        udp = d == null ? (c, x) -> FlowDecision.pass() : d;
    }

    /** Serves own-address TCP {@code port} with {@code handler} instead of forwarding it. */
    public void interceptTcpPort(int port, Consumer<TcpConn> handler) {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port out of range: " + port);
        }
        interceptedTcp.put(port, handler);
        onInterceptedChange.run();
    }

    public void releaseTcpPort(int port) {
        interceptedTcp.remove(port);
        onInterceptedChange.run();
    }

    java.util.Set<Integer> interceptedTcpPorts() {
        return java.util.Set.copyOf(interceptedTcp.keySet());
    }

    Consumer<TcpConn> interceptedTcp(int port) {
        return interceptedTcp.get(port);
    }

    FlowDecision<TcpConn> tcpFor(InetSocketAddress client, InetSocketAddress destination) {
        return tcp.apply(client, destination);
    }

    FlowDecision<UdpConn> udpFor(InetSocketAddress client, InetSocketAddress destination) {
        return udp.apply(client, destination);
    }
}
