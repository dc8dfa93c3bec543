package dev.loomstack.tcp;

import dev.loomstack.packet.IpAddress;
import dev.loomstack.stack.NetworkPacket;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.util.ArrayDeque;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A passive open on one port (RFC 9293 section 3.10.1, LISTEN): each SYN becomes a connection in
 * SYN-RECEIVED; once established it waits in the accept queue. SYNs beyond the backlog (half-open
 * plus ready connections) are dropped and counted.
 */
public final class TcpListener implements AutoCloseable {
    private final TcpProtocol protocol;
    private final IpAddress address;
    private final int port;
    private final int backlog;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition ready = lock.newCondition();
    private final ArrayDeque<TcpEndpoint> queue = new ArrayDeque<>();
    private int pending;
    private boolean closed;

    TcpListener(TcpProtocol protocol, IpAddress address, int port, int backlog) {
        this.protocol = protocol;
        this.address = address;
        this.port = port;
        this.backlog = Math.max(1, backlog);
    }

    public int port() {
        return port;
    }

    /** Connections counted against the backlog that have not completed their handshake. */
    int pendingCount() {
        lock.lock();
        try {
            return pending;
        } finally {
            lock.unlock();
        }
    }

    boolean accepts(NetworkPacket p) {
        // A wildcard listener takes both families, as a Linux IPv6 wildcard socket does.
        return address.equals(IpAddress.V4_ANY) || address.equals(IpAddress.V6_ANY) || p.destinationIs(address);
    }

    void synArrived(SynInfo syn) {
        lock.lock();
        try {
            if (closed || pending + queue.size() >= backlog) {
                protocol.stats().listenOverflowSynDrop.increment();
                return;
            }
            pending++;
        } finally {
            lock.unlock();
        }
        TcpEndpoint ep;
        try {
            ep = protocol.accept(syn);
        } catch (IOException e) {
            leavePending(null, false);
            return;
        }
        HalfOpen h = new HalfOpen(ep);
        ep.onEstablished(h::established);
        ep.onClosed(h::closed);
    }

    /**
     * One connection between its SYN and the end of its handshake. It leaves the pending count
     * exactly once: when established (it then waits in the queue, counted there) or when it closes
     * first. A later close of a queued connection is not a second departure.
     *
     * <p>Its callbacks run under the endpoint's lock and then take the listener's; nothing here
     * ever calls into an endpoint while holding the listener's lock, so that is the only order.
     */
    private final class HalfOpen {
        private final TcpEndpoint ep;
        private boolean left;

        HalfOpen(TcpEndpoint ep) {
            this.ep = ep;
        }

        void established() {
            if (leavePending(this, true)) {
                ep.abort();
            }
        }

        void closed() {
            leavePending(this, false);
        }
    }

    /**
     * Takes {@code h} (null: a connection that never started) out of the pending count unless it
     * left already, and queues an established endpoint while the listener is open. Returns true when
     * the endpoint is established but the listener has closed, so the caller must reset it.
     */
    private boolean leavePending(HalfOpen h, boolean established) {
        lock.lock();
        try {
            if (h != null) {
                if (h.left) {
                    return false;
                }
                h.left = true;
            }
            pending--;
            if (!established) {
                return false;
            }
            if (closed) {
                return true;
            }
            queue.add(h.ep);
            ready.signal();
            return false;
        } finally {
            lock.unlock();
        }
    }

    /** The next established connection; blocks up to {@code timeoutNanos} (0: no limit). */
    public TcpEndpoint accept(long timeoutNanos) throws IOException {
        lock.lock();
        try {
            long left = timeoutNanos;
            while (queue.isEmpty()) {
                if (closed) {
                    throw new SocketException("listener closed");
                }
                if (timeoutNanos > 0) {
                    if (left <= 0) {
                        throw new SocketTimeoutException("accept timed out");
                    }
                    left = ready.awaitNanos(left);
                } else {
                    ready.await();
                }
            }
            return queue.poll();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while accepting");
        } finally {
            lock.unlock();
        }
    }

    /**
     * Stops listening and resets the connections nobody accepted. The resets run after the
     * listener's lock is released: a connection's own callbacks take the endpoint's lock first.
     */
    @Override
    public void close() {
        TcpEndpoint[] unaccepted;
        lock.lock();
        try {
            closed = true;
            unaccepted = queue.toArray(new TcpEndpoint[0]);
            queue.clear();
            ready.signalAll();
        } finally {
            lock.unlock();
        }
        protocol.unlisten(this);
        for (TcpEndpoint ep : unaccepted) {
            ep.abort();
        }
    }
}
