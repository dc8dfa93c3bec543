package dev.loomstack.engine;

import dev.loomstack.packet.IpAddress;
import dev.loomstack.stack.TransportEndpointId;
import dev.loomstack.udp.UdpEndpoint;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Proxies one UDP flow between a userspace endpoint (the tailnet client) and a host datagram socket
 * (the backend), as the seed's {@code forwardUDP} and {@code startPacketCopy}: two virtual threads
 * copy datagrams, every datagram in either direction extends the idle timeout, and when either side
 * fails or the flow idles out both sides are closed.
 */
public final class UdpFlowForwarder {
    /** The seed's idle timeout for a forwarded UDP flow. */
    public static final Duration IDLE_TIMEOUT = Duration.ofMinutes(2);
    /** DNS flows are short-lived: the seed times them out sooner. */
    public static final Duration DNS_IDLE_TIMEOUT = Duration.ofSeconds(30);
    /** RFC 768 allows up to 65,507 bytes of payload over IPv4; forward any of them. */
    static final int MAX_DATAGRAM = 65_535;

    private static final System.Logger LOG = System.getLogger(UdpFlowForwarder.class.getName());
    private static final InetAddress LOOPBACK_V4 = InetAddress.getLoopbackAddress();

    private UdpFlowForwarder() {}

    /** The idle timeout for a flow to {@code port}. */
    public static Duration idleTimeoutFor(int port) {
        return port == 53 ? DNS_IDLE_TIMEOUT : IDLE_TIMEOUT;
    }

    /**
     * Where the backend socket binds: the client's own source port on loopback for own-address flows
     * (so the backend sees a stable port), the wildcard otherwise.
     */
    static InetSocketAddress listenAddress(boolean local, InetSocketAddress dial, int clientPort) {
        if (local) {
            return new InetSocketAddress(LOOPBACK_V4, clientPort);
        }
        return new InetSocketAddress(dial.getAddress() instanceof java.net.Inet4Address
                ? IpAddress.V4_ANY.toInetAddress() : IpAddress.V6_ANY.toInetAddress(), clientPort);
    }

    /**
     * Opens the backend socket bound to {@code listen}, or to a random port when that one is taken
     * (the seed's retry), connected to {@code dial}.
     */
    static DatagramSocket openBackend(InetSocketAddress listen, InetSocketAddress dial) throws SocketException {
        DatagramSocket s;
        try {
            s = new DatagramSocket(listen);
        } catch (SocketException busy) {
            LOG.log(System.Logger.Level.DEBUG, "could not bind {0}: {1}; trying a random port", listen, busy.getMessage());
            s = new DatagramSocket(new InetSocketAddress(listen.getAddress(), 0));
        }
        s.connect(dial);
        return s;
    }

    /**
     * Runs the flow until it ends; returns when both copies have stopped. {@code observer} learns
     * the backend socket's local address (for the ProxyMap) once it exists, and counts bytes.
     * A backend that turns out to be a denied port of this host ({@code guard}) is closed before
     * any datagram is sent.
     */
    public static void run(TransportEndpointId id, UdpEndpoint client, InetSocketAddress dial, boolean local,
                           Duration idleTimeout, HostPortGuard guard, FlowObserver observer) {
        DatagramSocket backend;
        try {
            backend = openBackend(listenAddress(local, dial, id.remotePort()), dial);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "could not create a UDP socket, not forwarding {0}: {1}", id, e.getMessage());
            client.close();
            observer.dialFailed(false);
            return;
        }
        if (guard.refusesConnected((InetSocketAddress) backend.getLocalSocketAddress(), dial)) {
            LOG.log(System.Logger.Level.DEBUG, "{0} for {1} is a denied port of this host", dial, id);
            backend.close();
            client.close();
            observer.dialFailed(false);
            return;
        }
        observer.upstreamOpen((InetSocketAddress) backend.getLocalSocketAddress());
        Flow flow = new Flow(id, client, backend, idleTimeout.toNanos(), observer);
        Thread toBackend = Thread.ofVirtual().name("udp-copy " + id + " ->").start(flow::clientToBackend);
        flow.backendToClient();
        try {
            toBackend.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            flow.close();
        }
        observer.closed();
    }

    private static final class Flow {
        private final TransportEndpointId id;
        private final UdpEndpoint client;
        private final DatagramSocket backend;
        private final long idleNanos;
        private final AtomicLong lastActivity = new AtomicLong(System.nanoTime());
        private final AtomicBoolean closed = new AtomicBoolean();

        private final FlowObserver observer;

        Flow(TransportEndpointId id, UdpEndpoint client, DatagramSocket backend, long idleNanos, FlowObserver observer) {
            this.observer = observer;
            this.id = id;
            this.client = client;
            this.backend = backend;
            this.idleNanos = idleNanos;
        }

        /** Time left before the flow idles out; 0 or less when it has. */
        private long remaining() {
            return lastActivity.get() + idleNanos - System.nanoTime();
        }

        private void extend() {
            lastActivity.set(System.nanoTime());
        }

        void clientToBackend() {
            byte[] buf = new byte[MAX_DATAGRAM];
            DatagramPacket out = new DatagramPacket(buf, 0);
            try {
                while (!closed.get()) {
                    long left = remaining();
                    if (left <= 0) {
                        LOG.log(System.Logger.Level.DEBUG, "UDP flow {0} timed out", id);
                        return;
                    }
                    int n;
                    try {
                        n = client.receive(buf, 0, buf.length, left, null);
                    } catch (SocketTimeoutException idle) {
                        continue;
                    }
                    out.setData(buf, 0, n);
                    backend.send(out);
                    observer.bytesFromClient(n);
                    extend();
                }
            } catch (IOException e) {
                if (!closed.get()) {
                    LOG.log(System.Logger.Level.DEBUG, "UDP flow {0} client side ended: {1}", id, e.getMessage());
                }
            } finally {
                close();
            }
        }

        void backendToClient() {
            byte[] buf = new byte[MAX_DATAGRAM];
            DatagramPacket in = new DatagramPacket(buf, buf.length);
            try {
                while (!closed.get()) {
                    long left = remaining();
                    if (left <= 0) {
                        return;
                    }
                    backend.setSoTimeout((int) Math.max(1, Math.min(Integer.MAX_VALUE, TimeUnit.NANOSECONDS.toMillis(left))));
                    in.setLength(buf.length);
                    try {
                        backend.receive(in);
                    } catch (SocketTimeoutException idle) {
                        continue;
                    }
                    client.send(buf, 0, in.getLength());
                    observer.bytesToClient(in.getLength());
                    extend();
                }
            } catch (IOException e) {
                if (!closed.get()) {
                    LOG.log(System.Logger.Level.DEBUG, "UDP flow {0} backend side ended: {1}", id, e.getMessage());
                }
            } finally {
                close();
            }
        }

        void close() {
            if (closed.compareAndSet(false, true)) {
                client.close();
                backend.close();
            }
        }
    }
}
