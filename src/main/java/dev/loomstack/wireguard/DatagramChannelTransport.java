package dev.loomstack.wireguard;

import dev.loomstack.link.LinkUnavailableException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;

/**
 * A UDP socket through the JDK's {@link DatagramChannel}, in blocking mode on the link's platform
 * threads. A wildcard listen address binds one IPv6 socket that takes IPv4 too (dual-stack,
 * IPv4 peers appear as plain IPv4 addresses); a specific address binds its family only.
 *
 * <p>The JDK reads and writes heap buffers through a per-thread cached direct buffer and keeps the
 * last source and target address, so a steady flow with one peer allocates nothing. It has no
 * {@code recvmmsg}/{@code sendmmsg}: one system call per datagram.
 */
final class DatagramChannelTransport implements UdpTransport {
    /** Socket buffers asked for (the kernel caps them at net.core.rmem_max / wmem_max). */
    static final int SOCKET_BUFFER = 4 << 20;
    private final DatagramChannel channel;
    private final int port;

    private DatagramChannelTransport(DatagramChannel channel, int port) {
        this.channel = channel;
        this.port = port;
    }

    /** @throws LinkUnavailableException naming the address when it cannot be bound */
    static DatagramChannelTransport bind(InetSocketAddress listen) {
        DatagramChannel ch = null;
        try {
            boolean wildcard = listen.getAddress() == null || listen.getAddress().isAnyLocalAddress();
            if (wildcard) {
                ch = DatagramChannel.open();
                ch.bind(new InetSocketAddress(listen.getPort()));
            } else {
                ch = DatagramChannel.open(listen.getAddress() instanceof java.net.Inet4Address
                        ? StandardProtocolFamily.INET : StandardProtocolFamily.INET6);
                ch.bind(listen);
            }
            ch.setOption(StandardSocketOptions.SO_RCVBUF, SOCKET_BUFFER);
            ch.setOption(StandardSocketOptions.SO_SNDBUF, SOCKET_BUFFER);
            ch.configureBlocking(true);
            int port = ((InetSocketAddress) ch.getLocalAddress()).getPort();
            return new DatagramChannelTransport(ch, port);
        } catch (IOException | RuntimeException e) {
            if (ch != null) {
                try {
                    ch.close();
                } catch (IOException ignored) {
                    // already failing
                }
            }
            throw new LinkUnavailableException("cannot bind the WireGuard UDP socket to " + listen + ": " + e.getMessage());
        }
    }

    @Override
    public InetSocketAddress receive(ByteBuffer into) throws IOException {
        try {
            SocketAddress from = channel.receive(into);
            return (InetSocketAddress) from;
        } catch (ClosedChannelException e) {
            return null;
        }
    }

    @Override
    public void send(ByteBuffer from, InetSocketAddress to) throws IOException {
        try {
            channel.send(from, to);
        } catch (java.nio.channels.UnsupportedAddressTypeException | java.nio.channels.UnresolvedAddressException e) {
            // An IPv6 endpoint on a socket bound to an IPv4 address (or the reverse): this datagram
            // cannot go, which is a send error like any other, not a bug.
            throw new IOException("cannot send to " + to + " from " + channel.getLocalAddress(), e);
        }
    }

    @Override
    public int localPort() {
        return port;
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing left to release
        }
    }
}
