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
 * Proxies one TCP flow, as the seed's {@code forwardTCP}: the upstream is dialled first, so a
 * refused or unreachable upstream answers the client with a RST and no handshake ever completes;
 * then the client's handshake completes and two virtual threads copy bytes, carrying half-closes
 * across and turning a reset on one side into a reset on the other.
 */
public final class TcpFlowForwarder {
    /** How long the upstream may take to accept, as the seed's dial deadline. */
    public static final Duration DIAL_TIMEOUT = Duration.ofSeconds(5);
    static final int COPY_BUFFER = 64 << 10;
    private static final System.Logger LOG = System.getLogger(TcpFlowForwarder.class.getName());

    private TcpFlowForwarder() {}

    /** Runs the flow to its end on the calling thread (one of the two copies runs here). */
    public static void run(ForwarderRequest request, InetSocketAddress dial, boolean keepAlive, FlowObserver observer) {
        Socket upstream = new Socket();
        // A client that resets while we dial has gone away: abandon the dial (closing the socket
        // ends a pending connect at once).
        request.onCancel(() -> closeQuietly(upstream));
        try {
            upstream.connect(dial, (int) DIAL_TIMEOUT.toMillis());
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "dial {0} for {1} failed: {2}", dial, request.id(), e.getMessage());
            closeQuietly(upstream);
            observer.dialFailed(request.isCancelled());
            request.complete(!request.isCancelled());
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
                try {
                    upstream.setSoLinger(true, 0);
                } catch (IOException ignored) {
                    // The socket may already be closed.
                }
                closeQuietly(upstream);
            }
        }

        void closeBoth() {
            client.close();
            closeQuietly(upstream);
        }
    }
}
