package dev.loomstack.testing;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

/**
 * A UDP service for one test: answers each datagram to its sender, on a virtual thread, until
 * closed. The reply is computed from the datagram as text in ISO-8859-1 (one character per byte),
 * so the identity echoes any bytes back unchanged.
 */
public final class UdpEchoServer implements AutoCloseable {
    static final int MAX_DATAGRAM = 2048;

    private final DatagramSocket socket;
    private final AtomicInteger received = new AtomicInteger();

    private UdpEchoServer(DatagramSocket socket) {
        this.socket = socket;
    }

    /** Sends every datagram back unchanged. */
    public static UdpEchoServer start(InetSocketAddress address) throws SocketException {
        return start(address, UnaryOperator.identity());
    }

    /** Answers every datagram with {@code reply} of its text. */
    public static UdpEchoServer start(InetSocketAddress address, UnaryOperator<String> reply) throws SocketException {
        UdpEchoServer server = new UdpEchoServer(new DatagramSocket(address));
        Thread.ofVirtual().name("udp-echo").start(() -> server.serve(reply));
        return server;
    }

    private void serve(UnaryOperator<String> reply) {
        byte[] buf = new byte[MAX_DATAGRAM];
        while (!socket.isClosed()) {
            try {
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                socket.receive(p);
                received.incrementAndGet();
                byte[] out = reply.apply(new String(buf, 0, p.getLength(), StandardCharsets.ISO_8859_1))
                        .getBytes(StandardCharsets.ISO_8859_1);
                socket.send(new DatagramPacket(out, out.length, p.getSocketAddress()));
            } catch (IOException e) {
                return;
            }
        }
    }

    public int port() {
        return socket.getLocalPort();
    }

    /** Datagrams that reached this server. */
    public int received() {
        return received.get();
    }

    @Override
    public void close() {
        socket.close();
    }
}
