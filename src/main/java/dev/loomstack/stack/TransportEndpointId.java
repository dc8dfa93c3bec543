package dev.loomstack.stack;

import dev.loomstack.packet.IpAddress;
import java.net.InetSocketAddress;

/**
 * The four-tuple that names a transport endpoint, from the stack's side: "local" is the address
 * a peer sent to (the node's own address or a subnet destination), "remote" is the peer.
 */
public record TransportEndpointId(IpAddress localAddress, int localPort, IpAddress remoteAddress, int remotePort) {
    public TransportEndpointId {
        if (localAddress == null || remoteAddress == null) {
            throw new IllegalArgumentException("addresses must not be null");
        }
        if ((localPort & ~0xffff) != 0 || (remotePort & ~0xffff) != 0) {
            throw new IllegalArgumentException("port out of range");
        }
    }

    public InetSocketAddress local() {
        return new InetSocketAddress(localAddress.toInetAddress(), localPort);
    }

    public InetSocketAddress remote() {
        return new InetSocketAddress(remoteAddress.toInetAddress(), remotePort);
    }

    /** A hash of the addresses that the demultiplexers can also compute from packet bytes. */
    public static int addressHash(IpAddress a) {
        return (int) (a.high() ^ (a.high() >>> 32) ^ a.low() ^ (a.low() >>> 32));
    }

    /** {@link #addressHash(IpAddress)} of the address stored at {@code off} (4 or 16 bytes). */
    public static int addressHash(byte[] b, int off, int len) {
        if (len == 4) {
            return dev.loomstack.packet.Bytes.i32(b, off);
        }
        long h = dev.loomstack.packet.Bytes.i64(b, off);
        long l = dev.loomstack.packet.Bytes.i64(b, off + 8);
        return (int) (h ^ (h >>> 32) ^ l ^ (l >>> 32));
    }

    @Override
    public String toString() {
        return fmt(remoteAddress, remotePort) + " -> " + fmt(localAddress, localPort);
    }

    private static String fmt(IpAddress a, int port) {
        return a.v4() ? a + ":" + port : "[" + a + "]:" + port;
    }
}
