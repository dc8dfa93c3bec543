package dev.loomstack.engine;

import dev.loomstack.net.TcpConn;
import dev.loomstack.tcp.ForwarderRequest;
import dev.loomstack.tcp.TcpEndpoint;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Proxies one TCP flow, as Tailscale's {@code forwardTCP}: the upstream is dialled first, so a
 * refused or unreachable upstream answers the client with a RST and no handshake ever completes;
 * then the client's handshake completes and two virtual threads copy bytes, carrying half-closes
 * across and turning a reset on one side into a reset on the other.
 *
 * <p>An idle flow costs what its two endpoints and two parked virtual threads must: the copiers
 * wait for data holding no copy buffer (the client side on the endpoint's condition, the upstream
 * side in a read of a {@link #FIRST_READ}-byte array) and borrow a 64 KiB {@link CopyBuffers}
 * buffer only while a burst moves.
 *
 * <p>The copy buffers are heap arrays. The JDK moves a heap array's bytes through a per-carrier
 * direct buffer for each socket call, but the endpoint's send and receive rings are heap arrays
 * too, so a direct copy buffer would only move that copy from the JDK into this class (one
 * loopback read measured 6.3 GB/s into a heap array and 6.1 to 6.8 GB/s into a direct buffer,
 * several times what a flow moves).
 */
public final class TcpFlowForwarder {
    /**
     * How long the upstream may take to accept by default ({@code loomstack.tcp.forward.dial-timeout}):
     * Linux's own connect gives up after about two minutes of SYN retries; slow or lossy subnets
     * need more than a few seconds, and a client that gives up sooner resets, which cancels the dial.
     */
    public static final Duration DEFAULT_DIAL_TIMEOUT = Duration.ofSeconds(30);
    /**
     * The array an idle flow's upstream-to-client copier blocks reading into (the host socket's
     * read needs one even to wait); bursts longer than this continue through {@link CopyBuffers}.
     */
    static final int FIRST_READ = 512;
    private static final System.Logger LOG = System.getLogger(TcpFlowForwarder.class.getName());

    private final int dialTimeoutMillis;
    private final HostPortGuard guard;
    private final CopyBuffers buffers;

    /** As {@link #TcpFlowForwarder(Duration, HostPortGuard, CopyBuffers)} with a budget from this JVM's heap. */
    public TcpFlowForwarder(Duration dialTimeout, HostPortGuard guard) {
        this(dialTimeout, guard, CopyBuffers.forHeap(Runtime.getRuntime().maxMemory()));
    }

    /**
     * @param dialTimeout how long an upstream may take to accept (positive, at most
     *                    {@link Integer#MAX_VALUE} milliseconds)
     * @param guard       refuses upstreams that turn out to be a denied port of this host
     * @param buffers     the copy buffers flows borrow while bytes move
     */
    TcpFlowForwarder(Duration dialTimeout, HostPortGuard guard, CopyBuffers buffers) {
        this.dialTimeoutMillis = dialTimeoutMillis(dialTimeout);
        this.guard = guard;
        this.buffers = buffers;
    }

    /** The copy buffers this forwarder's flows borrow. */
    CopyBuffers buffers() {
        return buffers;
    }

    /** {@code timeout} as a socket connect timeout; rejects what is not positive or too long. */
    static int dialTimeoutMillis(Duration timeout) {
        if (timeout.compareTo(Duration.ofMillis(1)) < 0 || timeout.compareTo(Duration.ofMillis(Integer.MAX_VALUE)) > 0) {
            throw new IllegalArgumentException("the dial timeout must be between 1 ms and "
                    + Integer.MAX_VALUE + " ms, got " + timeout);
        }
        return (int) timeout.toMillis();
    }

    /** Runs the flow to its end on the calling thread (one of the two copies runs here). */
    public void run(ForwarderRequest request, InetSocketAddress dial, boolean keepAlive, FlowObserver observer) {
        Socket upstream = new Socket();
        // A client that resets while we dial has gone away: abandon the dial (closing the socket
        // ends a pending connect at once).
        request.onCancel(() -> closeQuietly(upstream));
        try {
            upstream.connect(dial, dialTimeoutMillis);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "dial {0} for {1} failed: {2}", dial, request.id(), e.getMessage());
            closeQuietly(upstream);
            observer.dialFailed(request.isCancelled());
            request.complete(!request.isCancelled());
            return;
        }
        if (guard.refusesConnected((InetSocketAddress) upstream.getLocalSocketAddress(), dial)) {
            // The host's own service answered: leave it at once, with a reset rather than a
            // close, and answer the client with a RST as for a refused dial.
            LOG.log(System.Logger.Level.DEBUG, "{0} for {1} is a denied port of this host", dial, request.id());
            abort(upstream);
            observer.dialFailed(false);
            request.complete(true);
            return;
        }
        TcpEndpoint ep;
        try {
            ep = request.createEndpoint();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "handshake with {0} failed: {1}", request.id(), e.getMessage());
            closeQuietly(upstream);
            return;
        }
        observer.upstreamOpen((InetSocketAddress) upstream.getLocalSocketAddress());
        ep.setKeepAlive(keepAlive);
        try {
            upstream.setTcpNoDelay(true);
        } catch (IOException ignored) {
            // Only latency is at stake.
        }
        TcpConn client = new TcpConn(ep);
        client.setNoDelay(true);
        Flow flow = new Flow(client, upstream, observer, buffers);
        Thread up = Thread.ofVirtual().name("tcp-copy " + request.id() + " ->").start(flow::clientToUpstream);
        flow.upstreamToClient();
        try {
            up.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        flow.closeBoth();
        observer.closed();
    }

    /** Closes {@code s} with a RST (SO_LINGER 0), so its peer sees no orderly end. */
    private static void abort(Socket s) {
        try {
            s.setSoLinger(true, 0);
        } catch (IOException ignored) {
            // The socket may already be closed.
        }
        closeQuietly(s);
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // Closing is best effort.
        }
    }

    private static final class Flow {
        private final TcpConn client;
        private final Socket upstream;
        private final FlowObserver observer;
        private final CopyBuffers buffers;
        private final AtomicBoolean reset = new AtomicBoolean();

        Flow(TcpConn client, Socket upstream, FlowObserver observer, CopyBuffers buffers) {
            this.client = client;
            this.upstream = upstream;
            this.observer = observer;
            this.buffers = buffers;
        }

        /**
         * Waits on the endpoint with no buffer (its lock's condition); once bytes are there, copies
         * bursts through a borrowed buffer until the endpoint has nothing more, then gives it back.
         */
        void clientToUpstream() {
            TcpEndpoint ep = client.endpoint();
            try {
                OutputStream out = upstream.getOutputStream();
                while (true) {
                    ep.awaitReadable(0);
                    byte[] buf = buffers.take();
                    try {
                        do {
                            int n = ep.read(buf, 0, buf.length, 0);
                            if (n < 0) {
                                upstream.shutdownOutput();
                                return;
                            }
                            out.write(buf, 0, n);
                            observer.bytesFromClient(n);
                        } while (ep.available() > 0);
                    } finally {
                        buffers.give(buf);
                    }
                }
            } catch (IOException e) {
                resetBoth();
            }
        }

        /**
         * A host socket has no wait-without-reading, so an idle flow blocks reading into its own
         * small array; a read that fills it means more is queued, and the rest of the burst goes
         * through a borrowed buffer while the socket has bytes ready ({@code FIONREAD}).
         */
        void upstreamToClient() {
            byte[] first = new byte[FIRST_READ];
            try {
                InputStream in = upstream.getInputStream();
                OutputStream out = client.getOutputStream();
                while (true) {
                    int n = in.read(first);
                    if (n < 0) {
                        break;
                    }
                    out.write(first, 0, n);
                    observer.bytesToClient(n);
                    if (n < first.length || in.available() == 0) {
                        continue;
                    }
                    byte[] buf = buffers.take();
                    try {
                        do {
                            n = in.read(buf);
                            if (n < 0) {
                                break;
                            }
                            out.write(buf, 0, n);
                            observer.bytesToClient(n);
                        } while (in.available() > 0);
                    } finally {
                        buffers.give(buf);
                    }
                    if (n < 0) {
                        break;
                    }
                }
                client.shutdownOutput();
            } catch (IOException e) {
                resetBoth();
            }
        }

        /** A reset (or failure) on either side resets the other: neither may think the data arrived. */
        void resetBoth() {
            if (reset.compareAndSet(false, true)) {
                client.abort();
                abort(upstream);
            }
        }

        void closeBoth() {
            client.close();
            closeQuietly(upstream);
        }
    }
}
