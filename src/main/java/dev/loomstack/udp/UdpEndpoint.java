package dev.loomstack.udp;

import dev.loomstack.packet.Bytes;
import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.PacketBuffer;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.channels.ClosedChannelException;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A UDP endpoint of the userspace stack: bound to a local address and port, optionally connected
 * to one remote. Received datagrams wait in a queue bounded in bytes (a full queue drops and counts,
 * as a kernel socket does); readers block on a {@link Condition}, which parks virtual threads cheaply.
 *
 * <p>Each queued datagram is a pooled {@link PacketBuffer} whose first {@link #META_SIZE} bytes hold
 * the sender's address and port, so receiving allocates nothing per datagram.
 */
public final class UdpEndpoint implements AutoCloseable {
    /** Linux's default {@code net.core.rmem_default}: what one endpoint may hold unread. */
    public static final int DEFAULT_RECEIVE_BUFFER = 212_992;

    static final int META_SIZE = 32;
    private static final int META_ADDR = 0;
    private static final int META_ADDR_LEN = 16;
    private static final int META_PORT = 18;

    private final UdpProtocol protocol;
    private final IpAddress localAddress;
    private final int localPort;
    private volatile IpAddress remoteAddress;
    private volatile int remotePort;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition readable = lock.newCondition();
    private final ArrayDeque<PacketBuffer> queue = new ArrayDeque<>();
    private int queuedBytes;
    private int receiveBufferSize = DEFAULT_RECEIVE_BUFFER;
    private boolean closed;
    private volatile long lastActivityNanos;

    /** Next endpoint in the same demultiplexer bucket; guarded by the protocol's table lock. */
    UdpEndpoint nextInBucket;

    UdpEndpoint(UdpProtocol protocol, IpAddress localAddress, int localPort, IpAddress remoteAddress, int remotePort) {
        this.protocol = protocol;
        this.localAddress = localAddress;
        this.localPort = localPort;
        this.remoteAddress = remoteAddress;
        this.remotePort = remotePort;
        this.lastActivityNanos = System.nanoTime();
    }

    public IpAddress localAddress() {
        return localAddress;
    }

    public int localPort() {
        return localPort;
    }

    /** The connected peer, or null when unconnected. */
    public IpAddress remoteAddress() {
        return remoteAddress;
    }

    public int remotePort() {
        return remotePort;
    }

    public boolean isConnected() {
        return remoteAddress != null;
    }

    /** When a datagram last went through this endpoint in either direction ({@link System#nanoTime()}). */
    public long lastActivityNanos() {
        return lastActivityNanos;
    }

    public void setReceiveBufferSize(int bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("receive buffer must be positive");
        }
        lock.lock();
        try {
            receiveBufferSize = bytes;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Enqueues a datagram copied from {@code src}; called on the link reader thread, never blocks.
     * Returns false (the caller counts a receive-buffer error) when the queue is full or closed.
     */
    boolean enqueue(byte[] src, int off, int len, byte[] addrSrc, int addrOff, int addrLen, int fromPort) {
        lock.lock();
        try {
            if (closed || (queuedBytes + len > receiveBufferSize && !queue.isEmpty())) {
                return false;
            }
            PacketBuffer b = protocol.output().pool().acquire(META_SIZE + len, 0);
            byte[] a = b.array();
            System.arraycopy(addrSrc, addrOff, a, META_ADDR, addrLen);
            a[META_ADDR_LEN] = (byte) addrLen;
            Bytes.put16(a, META_PORT, fromPort);
            System.arraycopy(src, off, a, META_SIZE, len);
            b.range(META_SIZE, META_SIZE + len);
            queue.addLast(b);
            queuedBytes += len;
            lastActivityNanos = System.nanoTime();
            readable.signal();
            return true;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Reads one datagram into {@code dst}, waiting at most {@code timeoutNanos} (0 waits forever).
     * A datagram longer than {@code len} is truncated, as with a datagram socket. Returns the
     * number of bytes copied; the sender is reported to {@code from} when non-null.
     */
    public int receive(byte[] dst, int off, int len, long timeoutNanos, Sender from) throws IOException {
        PacketBuffer b = receivePacket(timeoutNanos);
        try {
            int n = Math.min(len, b.length());
            System.arraycopy(b.array(), b.start(), dst, off, n);
            if (from != null) {
                byte[] a = b.array();
                from.address = IpAddress.read(a, META_ADDR, a[META_ADDR_LEN]);
                from.port = Bytes.u16(a, META_PORT);
            }
            return n;
        } finally {
            b.release();
        }
    }

    /**
     * Takes the next datagram itself, waiting at most {@code timeoutNanos} (0 waits forever): a
     * pooled buffer whose range is the payload, which the caller must {@link PacketBuffer#release()}.
     * A forwarder copies it straight to its socket, so it needs no receive buffer of its own.
     */
    public PacketBuffer receivePacket(long timeoutNanos) throws IOException {
        lock.lock();
        try {
            long remaining = timeoutNanos;
            while (queue.isEmpty()) {
                if (closed) {
                    throw new ClosedChannelException();
                }
                if (timeoutNanos <= 0) {
                    readable.await();
                } else {
                    if (remaining <= 0) {
                        throw new SocketTimeoutException("UDP receive timed out");
                    }
                    remaining = readable.awaitNanos(remaining);
                }
            }
            PacketBuffer b = queue.pollFirst();
            queuedBytes -= b.length();
            return b;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("UDP receive interrupted");
        } finally {
            lock.unlock();
        }
    }

    /** Sends to the connected peer. */
    public void send(byte[] src, int off, int len) throws IOException {
        IpAddress to = remoteAddress;
        if (to == null) {
            throw new IllegalStateException("endpoint is not connected");
        }
        send(src, off, len, to, remotePort);
    }

    /** Sends one datagram from this endpoint's address and port. */
    public void send(byte[] src, int off, int len, IpAddress to, int toPort) throws IOException {
        if (isClosed()) {
            throw new ClosedChannelException();
        }
        if (localAddress.isUnspecified()) {
            throw new IllegalStateException("bind to a specific address to send");
        }
        protocol.send(localAddress, localPort, to, toPort, src, off, len);
        lastActivityNanos = System.nanoTime();
    }

    /** Restricts the endpoint to one peer, as {@code connect(2)} on a datagram socket. */
    public void connect(IpAddress address, int port) {
        protocol.connect(this, address, port);
    }

    void setRemote(IpAddress address, int port) {
        this.remoteAddress = address;
        this.remotePort = port;
    }

    public boolean isClosed() {
        lock.lock();
        try {
            return closed;
        } finally {
            lock.unlock();
        }
    }

    /** Unbinds, drops what is queued and wakes every reader with {@link ClosedChannelException}. Idempotent. */
    @Override
    public void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            PacketBuffer b;
            while ((b = queue.pollFirst()) != null) {
                b.release();
            }
            queuedBytes = 0;
            readable.signalAll();
        } finally {
            lock.unlock();
        }
        protocol.unregister(this);
    }

    /** Where a received datagram came from; reusable across calls. */
    public static final class Sender {
        public IpAddress address;
        public int port;
    }

    @Override
    public String toString() {
        return "udp " + localAddress + ":" + localPort + (remoteAddress == null ? "" : " <-> " + remoteAddress + ":" + remotePort);
    }
}
