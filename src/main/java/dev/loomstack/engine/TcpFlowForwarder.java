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
 */
public final class TcpFlowForwarder {
    /**
     * How long the upstream may take to accept by default ({@code loomstack.tcp.forward.dial-timeout}):
     * Linux's own connect gives up after about two minutes of SYN retries; slow or lossy subnets
     * need more than a few seconds, and a client that gives up sooner resets, which cancels the dial.
     */
    public static final Duration DEFAULT_DIAL_TIMEOUT = Duration.ofSeconds(30);
    static final int COPY_BUFFER = 64 << 10;
    private static final System.Logger LOG = System.getLogger(TcpFlowForwarder.class.getName());

    private final int dialTimeoutMillis;
    private final HostPortGuard guard;

    /**
     * @param dialTimeout how long an upstream may take to accept (positive, at most
     *                    {@link Integer#MAX_VALUE} milliseconds)
     * @param guard       refuses upstreams that turn out to be a denied port of this host
     */
    public TcpFlowForwarder(Duration dialTimeout, HostPortGuard guard) {
        this.dialTimeoutMillis = dialTimeoutMillis(dialTimeout);
        this.guard = guard;
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
        Flow flow = new Flow(client, upstream, observer);
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
        private final AtomicBoolean reset = new AtomicBoolean();

        Flow(TcpConn client, Socket upstream, FlowObserver observer) {
            this.client = client;
            this.upstream = upstream;
            this.observer = observer;
        }

        void clientToUpstream() {
            byte[] buf = new byte[COPY_BUFFER];
            try {
                InputStream in = client.getInputStream();
                OutputStream out = upstream.getOutputStream();
                int n;
                while ((n = in.read(buf)) > 0) {
                    out.write(buf, 0, n);
                    observer.bytesFromClient(n);
                }
                upstream.shutdownOutput();
            } catch (IOException e) {
                resetBoth();
            }
        }

        void upstreamToClient() {
            byte[] buf = new byte[COPY_BUFFER];
            try {
                InputStream in = upstream.getInputStream();
                OutputStream out = client.getOutputStream();
                int n;
                while ((n = in.read(buf)) > 0) {
                    out.write(buf, 0, n);
                    observer.bytesToClient(n);
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
