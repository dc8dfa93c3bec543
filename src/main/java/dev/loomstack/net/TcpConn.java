package dev.loomstack.net;

import dev.loomstack.tcp.TcpEndpoint;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;

/**
 * A blocking stream connection over a Loomstack {@link TcpEndpoint} (Tailscale's {@code gonet.TCPConn}):
 * {@link #getInputStream()} reads until the peer's FIN (-1) and throws on a reset;
 * {@link #getOutputStream()} blocks while the send buffer is full. Waiting parks on the
 * endpoint's lock conditions, so thousands of connections on virtual threads cost little.
 */
public final class TcpConn implements AutoCloseable {
    private final TcpEndpoint endpoint;
    private volatile long readTimeoutNanos;
    private volatile long writeTimeoutNanos;
    private final InputStream in = new In();
    private final OutputStream out = new Out();

    public TcpConn(TcpEndpoint endpoint) {
        this.endpoint = Objects.requireNonNull(endpoint);
    }

    public TcpEndpoint endpoint() {
        return endpoint;
    }

    public InputStream getInputStream() {
        return in;
    }

    public OutputStream getOutputStream() {
        return out;
    }

    /** Zero means no limit. */
    public void setReadTimeout(Duration d) {
        readTimeoutNanos = d.toNanos();
    }

    public void setWriteTimeout(Duration d) {
        writeTimeoutNanos = d.toNanos();
    }

    public InetSocketAddress localAddress() {
        return new InetSocketAddress(endpoint.localAddress().toInetAddress(), endpoint.localPort());
    }

    public InetSocketAddress remoteAddress() {
        return new InetSocketAddress(endpoint.remoteAddress().toInetAddress(), endpoint.remotePort());
    }

    /** Sends FIN after the data written; reading goes on. */
    public void shutdownOutput() {
        endpoint.shutdownOutput();
    }

    public void setNoDelay(boolean on) {
        endpoint.setNagle(!on);
    }

    public void setKeepAlive(boolean on) {
        endpoint.setKeepAlive(on);
    }

    /** Resets the connection instead of closing it gracefully. */
    public void abort() {
        endpoint.abort();
    }

    @Override
    public void close() {
        endpoint.close();
    }

    @Override
    public String toString() {
        return "TcpConn[" + endpoint.id() + "]";
    }

    private final class In extends InputStream {
        private final byte[] one = new byte[1];

        @Override
        public int read() throws IOException {
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            Objects.checkFromIndexSize(off, len, b.length);
            return endpoint.read(b, off, len, readTimeoutNanos);
        }

        @Override
        public int available() {
            return endpoint.available();
        }

        @Override
        public void close() {
            TcpConn.this.close();
        }
    }

    private final class Out extends OutputStream {
        private final byte[] one = new byte[1];

        @Override
        public void write(int b) throws IOException {
            one[0] = (byte) b;
            write(one, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            Objects.checkFromIndexSize(off, len, b.length);
            if (len == 0) {
                return;
            }
            endpoint.write(b, off, len, writeTimeoutNanos);
        }

        @Override
        public void close() {
            shutdownOutput();
        }
    }
}
