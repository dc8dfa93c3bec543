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
            done(null);
            return;
        }
        ep.onEstablished(() -> done(ep));
        ep.onClosed(() -> done(null));
    }

    private void done(TcpEndpoint ep) {
        lock.lock();
        try {
            if (pending > 0) {
                pending--;
            }
            if (ep != null) {
                if (closed) {
                    ep.abort();
                } else {
                    queue.add(ep);
                    ready.signal();
                }
            }
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

    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            for (TcpEndpoint ep : queue) {
                ep.abort();
            }
            queue.clear();
            ready.signalAll();
        } finally {
            lock.unlock();
        }
        protocol.unlisten(this);
    }
}
