package dev.loomstack.net;

import dev.loomstack.packet.IpAddress;
import dev.loomstack.udp.UdpEndpoint;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * A datagram connection over a userspace {@link UdpEndpoint} (Tailscale's {@code gonet.UDPConn}):
 * blocking reads with an optional timeout, writes to the connected peer or to any address.
 * Safe to use from virtual threads.
 */
public final class UdpConn implements Closeable {
    private final UdpEndpoint endpoint;
    private final UdpEndpoint.Sender sender = new UdpEndpoint.Sender();
    private volatile long readTimeoutNanos;

    public UdpConn(UdpEndpoint endpoint) {
        this.endpoint = endpoint;
    }

    public UdpEndpoint endpoint() {
        return endpoint;
    }

    /** Read timeout; {@link Duration#ZERO} waits forever. */
    public void setReadTimeout(Duration timeout) {
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("negative timeout");
        }
        this.readTimeoutNanos = timeout.toNanos();
    }

    /** Reads one datagram; {@link java.net.SocketTimeoutException} when the read timeout passes. */
    public int read(byte[] buf, int off, int len) throws IOException {
        return endpoint.receive(buf, off, len, readTimeoutNanos, null);
    }

    /**
     * Reads one datagram and reports its sender. Not for concurrent use by several readers: the
     * sender holder is shared.
     */
    public Datagram readFrom(byte[] buf, int off, int len) throws IOException {
        int n = endpoint.receive(buf, off, len, readTimeoutNanos, sender);
        return new Datagram(n, new InetSocketAddress(sender.address.toInetAddress(), sender.port));
    }

    public void write(byte[] buf, int off, int len) throws IOException {
        endpoint.send(buf, off, len);
    }

    public void writeTo(byte[] buf, int off, int len, InetSocketAddress to) throws IOException {
        endpoint.send(buf, off, len, IpAddress.of(to.getAddress()), to.getPort());
    }

    public InetSocketAddress localAddress() {
        return new InetSocketAddress(endpoint.localAddress().toInetAddress(), endpoint.localPort());
    }

    /** The connected peer, or null. */
    public InetSocketAddress remoteAddress() {
        IpAddress r = endpoint.remoteAddress();
        return r == null ? null : new InetSocketAddress(r.toInetAddress(), endpoint.remotePort());
    }

    @Override
    public void close() {
        endpoint.close();
    }

    /** A received datagram's length and sender. */
    public record Datagram(int length, InetSocketAddress sender) {}
}
