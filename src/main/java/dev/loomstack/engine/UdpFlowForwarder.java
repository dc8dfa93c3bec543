package dev.loomstack.engine;

import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.stack.TransportEndpointId;
import dev.loomstack.udp.UdpEndpoint;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.CancelledKeyException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.time.Duration;
import java.util.Iterator;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * Proxies UDP flows between userspace endpoints (the tailnet clients) and host datagram sockets
 * (the backends), as Tailscale's netstack's {@code forwardUDP} and {@code startPacketCopy}: every
 * datagram in either direction extends the flow's idle timeout, and when the flow idles out or its
 * client side closes, both sides are closed.
 *
 * <p>Memory per flow is what bounds how many can be open, so a flow holds no buffer of its own:
 * the client-to-backend copy runs on the flow's virtual thread and writes each queued datagram
 * straight from the stack's pooled buffer; the backend-to-client copy for every flow runs on one
 * platform thread that waits on all backend sockets with a {@link Selector} and reads into one
 * shared 64 KiB buffer. Backend sockets are non-blocking, so neither side ever blocks in a native
 * call on a virtual thread.
 *
 * <p>A backend socket whose {@code connect} fails is closed at once. An ICMP error the destination
 * sends back (port unreachable, surfacing as {@link PortUnreachableException}) is counted and the
 * flow goes on: the destination may start listening, and replies keep reaching the client for the
 * flow's whole idle window.
 */
public final class UdpFlowForwarder implements AutoCloseable {
    /** Tailscale's netstack's idle timeout for a forwarded UDP flow. */
    public static final Duration IDLE_TIMEOUT = Duration.ofMinutes(2);
    /** DNS flows are short-lived: Tailscale's netstack times them out sooner. */
    public static final Duration DNS_IDLE_TIMEOUT = Duration.ofSeconds(30);
    /** RFC 768 allows up to 65,507 bytes of payload over IPv4; forward any of them. */
    static final int MAX_DATAGRAM = 65_535;
    /** Datagrams read from one backend per wake-up, so a busy flow cannot starve the others. */
    static final int READS_PER_WAKEUP = 16;

    private static final System.Logger LOG = System.getLogger(UdpFlowForwarder.class.getName());
    private static final InetAddress LOOPBACK_V4 = InetAddress.getLoopbackAddress();

    private final Selector selector;
    private final Thread backendReader;
    private final ConcurrentLinkedQueue<Flow> toRegister = new ConcurrentLinkedQueue<>();
    /** The one receive buffer for every backend; touched only by {@link #backendReader}. */
    private final ByteBuffer received = ByteBuffer.allocate(MAX_DATAGRAM);
    private final LongAdder destinationErrors = new LongAdder();
    private final HostPortGuard guard;
    private volatile boolean closed;

    public UdpFlowForwarder(HostPortGuard guard) {
        this.guard = guard;
        try {
            selector = Selector.open();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open a selector for UDP backends", e);
        }
        backendReader = Thread.ofPlatform().daemon().name("loomstack-udp-backends").start(this::readBackends);
    }

    /** The idle timeout for a flow to {@code port}. */
    public static Duration idleTimeoutFor(int port) {
        return port == 53 ? DNS_IDLE_TIMEOUT : IDLE_TIMEOUT;
    }

    /** ICMP errors from destinations (port unreachable) that flows outlived. */
    public long destinationErrors() {
        return destinationErrors.sum();
    }

    /**
     * Where the backend socket binds: the client's own source port on loopback for own-address flows
     * (so the backend sees a stable port), the wildcard otherwise.
     */
    static InetSocketAddress listenAddress(boolean local, InetSocketAddress dial, int clientPort) {
        if (local) {
            return new InetSocketAddress(LOOPBACK_V4, clientPort);
        }
        return new InetSocketAddress(dial.getAddress() instanceof Inet4Address
                ? IpAddress.V4_ANY.toInetAddress() : IpAddress.V6_ANY.toInetAddress(), clientPort);
    }

    /**
     * Opens the backend socket bound to {@code listen}, or to a random port when that one is taken
     * (Tailscale's netstack's retry), connected to {@code dial}, non-blocking. On any failure the
     * socket is closed before the exception leaves: a refused {@code connect} (no route, or the
     * broadcast address, which needs {@code SO_BROADCAST}, never set here) leaks nothing.
     */
    static DatagramChannel openBackend(InetSocketAddress listen, InetSocketAddress dial) throws IOException {
        DatagramChannel ch = DatagramChannel.open(dial.getAddress() instanceof Inet4Address
                ? StandardProtocolFamily.INET : StandardProtocolFamily.INET6);
        try {
            try {
                ch.bind(listen);
            } catch (IOException busy) {
                LOG.log(System.Logger.Level.DEBUG, "could not bind {0}: {1}; trying a random port", listen, busy.getMessage());
                ch.bind(new InetSocketAddress(listen.getAddress(), 0));
            }
            ch.connect(dial);
            ch.configureBlocking(false);
            return ch;
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /**
     * Runs the flow on the calling thread until it ends (idle, or its client side closed).
     * {@code observer} learns the backend socket's local address (for the ProxyMap) once it
     * exists, and counts bytes; a backend that cannot be opened ends the flow at once with
     * {@link FlowObserver#dialFailed}, and so does one that turns out to be a denied port of this
     * host (closed before any datagram is sent). Returns false in those cases, true when the flow
     * was forwarded.
     */
    public boolean run(TransportEndpointId id, UdpEndpoint client, InetSocketAddress dial, boolean local,
                    Duration idleTimeout, FlowObserver observer) {
        DatagramChannel backend = null;
        InetSocketAddress upstream;
        try {
            if (closed) {
                throw new ClosedChannelException();
            }
            backend = openBackend(listenAddress(local, dial, id.remotePort()), dial);
            upstream = (InetSocketAddress) backend.getLocalAddress();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "not forwarding {0} to {1}: {2}", id, dial, String.valueOf(e.getMessage()));
            closeQuietly(backend);
            client.close();
            observer.dialFailed(false);
            return false;
        }
        if (guard.refusesConnected(upstream, dial)) {
            LOG.log(System.Logger.Level.DEBUG, "{0} for {1} is a denied port of this host", dial, id);
            closeQuietly(backend);
            client.close();
            observer.dialFailed(false);
            return false;
        }
        observer.upstreamOpen(upstream);
        Flow flow = new Flow(id, client, backend, idleTimeout.toNanos(), observer);
        toRegister.add(flow);
        selector.wakeup();
        try {
            flow.clientToBackend();
        } finally {
            flow.close();
            observer.closed();
        }
        return true;
    }

    private static void closeQuietly(DatagramChannel ch) {
        if (ch == null) {
            return;
        }
        try {
            ch.close();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "closing a UDP backend: {0}", e.getMessage());
        }
    }

    /** The backend reader: waits on every backend socket, copies what arrives to its client. */
    private void readBackends() {
        while (!closed) {
            try {
                selector.select();
            } catch (IOException | RuntimeException e) {
                if (!closed) {
                    LOG.log(System.Logger.Level.ERROR, "UDP backend selector failed; replies stop", e);
                }
                return;
            }
            Flow f;
            while ((f = toRegister.poll()) != null) {
                try {
                    f.backend.register(selector, SelectionKey.OP_READ, f);
                } catch (ClosedChannelException | CancelledKeyException alreadyOver) {
                    // The flow ended before its socket could be watched.
                }
            }
            Iterator<SelectionKey> it = selector.selectedKeys().iterator();
            while (it.hasNext()) {
                SelectionKey key = it.next();
                it.remove();
                ((Flow) key.attachment()).backendToClient(key, received);
            }
        }
    }

    /** Stops the backend reader; flows still running end when their client sides close. */
    @Override
    public void close() {
        closed = true;
        selector.wakeup();
        try {
            backendReader.join(Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            selector.close();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "closing the UDP backend selector: {0}", e.getMessage());
        }
    }

    private final class Flow {
        private final TransportEndpointId id;
        private final UdpEndpoint client;
        private final DatagramChannel backend;
        private final long idleNanos;
        private final FlowObserver observer;
        private volatile long lastActivity = System.nanoTime();
        private final AtomicBoolean over = new AtomicBoolean();

        Flow(TransportEndpointId id, UdpEndpoint client, DatagramChannel backend, long idleNanos, FlowObserver observer) {
            this.id = id;
            this.client = client;
            this.backend = backend;
            this.idleNanos = idleNanos;
            this.observer = observer;
        }

        /** Time left before the flow idles out; 0 or less when it has. */
        private long remaining() {
            return lastActivity + idleNanos - System.nanoTime();
        }

        private void extend() {
            lastActivity = System.nanoTime();
        }

        /** Client to backend, on the flow's thread, until the flow idles out or the client side closes. */
        void clientToBackend() {
            try {
                while (!over.get()) {
                    long left = remaining();
                    if (left <= 0) {
                        LOG.log(System.Logger.Level.DEBUG, "UDP flow {0} timed out", id);
                        return;
                    }
                    PacketBuffer datagram;
                    try {
                        datagram = client.receivePacket(left);
                    } catch (SocketTimeoutException idle) {
                        continue;
                    }
                    int n = datagram.length();
                    try {
                        // A full socket buffer drops the datagram (write returns 0), as UDP may.
                        backend.write(ByteBuffer.wrap(datagram.array(), datagram.start(), n));
                    } catch (PortUnreachableException icmp) {
                        // An earlier datagram drew an ICMP error; this one was not sent. Count it, go on.
                        destinationErrors.increment();
                        continue;
                    } finally {
                        datagram.release();
                    }
                    observer.bytesFromClient(n);
                    extend();
                }
            } catch (IOException e) {
                if (!over.get()) {
                    LOG.log(System.Logger.Level.DEBUG, "UDP flow {0} ended: {1}", id, e.getMessage());
                }
            }
        }

        /** Backend to client, on the backend reader: what has arrived, at most {@link #READS_PER_WAKEUP}. */
        void backendToClient(SelectionKey key, ByteBuffer buf) {
            for (int i = 0; i < READS_PER_WAKEUP && !over.get(); i++) {
                buf.clear();
                int n;
                try {
                    n = backend.read(buf);
                } catch (PortUnreachableException icmp) {
                    // The destination answered a datagram with ICMP port unreachable: reading
                    // consumed the error; the flow stays, as the destination may yet listen.
                    destinationErrors.increment();
                    continue;
                } catch (IOException e) {
                    if (!over.get()) {
                        LOG.log(System.Logger.Level.DEBUG, "UDP flow {0} backend failed: {1}", id, e.getMessage());
                    }
                    key.cancel();
                    close();
                    return;
                }
                if (n <= 0) {
                    return;
                }
                try {
                    client.send(buf.array(), 0, n);
                } catch (IOException | RuntimeException e) {
                    // The client side closed: the flow is ending on its own thread.
                    return;
                }
                observer.bytesToClient(n);
                extend();
            }
        }

        /** Closes both sides (idempotent) and wakes the flow thread and the backend reader. */
        void close() {
            if (over.compareAndSet(false, true)) {
                client.close();
                try {
                    backend.close();
                } catch (IOException e) {
                    LOG.log(System.Logger.Level.DEBUG, "closing the backend of {0}: {1}", id, e.getMessage());
                }
                // A registered channel's descriptor is released when the selector drops its key.
                selector.wakeup();
            }
        }
    }
}
