package dev.loomstack.wireguard;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;

/**
 * The datagram socket under a {@link WireGuardLink}: a real UDP socket
 * ({@link DatagramChannelTransport}) or an in-memory network for tests ({@link MemoryUdpNetwork}).
 * One thread receives; any thread sends. Neither call may block for long: a datagram that cannot be
 * sent is lost, as UDP loses it.
 */
interface UdpTransport extends AutoCloseable {
    /**
     * Receives one datagram into {@code into} (from its position to its limit; a longer datagram
     * is cut) and returns its source, or null once the transport is closed. Blocks until one arrives.
     */
    InetSocketAddress receive(ByteBuffer into) throws IOException;

    /** Sends the bytes from {@code from}'s position to its limit to {@code to}. */
    void send(ByteBuffer from, InetSocketAddress to) throws IOException;

    /** The local port. */
    int localPort();

    @Override
    void close();
}
