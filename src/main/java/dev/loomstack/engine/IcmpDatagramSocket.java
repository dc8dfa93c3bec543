package dev.loomstack.engine;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import dev.loomstack.packet.IpAddress;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * An unprivileged ICMP echo socket ({@code socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)}, Linux's
 * "ping socket"): the kernel fills in the identifier and checksum and hands back only the replies
 * to this socket. The kernel allows it to processes whose group is inside
 * {@code net.ipv4.ping_group_range}; {@link #open} fails otherwise and the caller falls back.
 */
final class IcmpDatagramSocket implements AutoCloseable {
    private static final int AF_INET = 2;
    private static final int AF_INET6 = 10;
    private static final int SOCK_DGRAM = 2;
    private static final int SOCK_CLOEXEC = 0x80000;
    private static final int IPPROTO_ICMP = 1;
    private static final int IPPROTO_ICMPV6 = 58;
    private static final int POLLIN = 0x1;
    private static final int ECHO_REQUEST_V4 = 8;
    private static final int ECHO_REPLY_V4 = 0;
    private static final int ECHO_REQUEST_V6 = 128;
    private static final int ECHO_REPLY_V6 = 129;
    private static final int MAX_REPLY = 2048;

    static {
        Native.register(IcmpDatagramSocket.class, "c");
    }

    private static native int socket(int domain, int type, int protocol) throws LastErrorException;

    private static native long sendto(int fd, ByteBuffer buf, long len, int flags, ByteBuffer addr, int addrLen)
            throws LastErrorException;

    private static native long recv(int fd, ByteBuffer buf, long len, int flags) throws LastErrorException;

    private static native int poll(ByteBuffer fds, long nfds, int timeoutMillis) throws LastErrorException;

    private static native int close(int fd);

    private final int fd;
    private final IpAddress target;

    private IcmpDatagramSocket(int fd, IpAddress target) {
        this.fd = fd;
        this.target = target;
    }

    /** Opens a ping socket for {@code target}'s family; fails when the kernel does not allow one. */
    static IcmpDatagramSocket open(IpAddress target) throws IOException {
        try {
            int fd = target.v4()
                    ? socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_ICMP)
                    : socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_ICMPV6);
            return new IcmpDatagramSocket(fd, target);
        } catch (LastErrorException e) {
            throw new IOException("ICMP datagram socket refused (net.ipv4.ping_group_range): " + e.getMessage());
        }
    }

    /** Sends one echo request and waits up to {@code timeoutMillis} for its reply. */
    boolean ping(int sequence, int timeoutMillis) throws IOException {
        ByteBuffer msg = ByteBuffer.allocateDirect(16).order(ByteOrder.BIG_ENDIAN);
        msg.put((byte) (target.v4() ? ECHO_REQUEST_V4 : ECHO_REQUEST_V6)).put((byte) 0).putShort((short) 0);
        msg.putShort((short) 0).putShort((short) sequence).putLong(System.nanoTime());
        // JNA hands native code the address at the buffer's position: rewind to the start.
        msg.flip();
        ByteBuffer addr = sockaddr(target);
        try {
            sendto(fd, msg, msg.capacity(), 0, addr, addr.capacity());
            ByteBuffer pfd = ByteBuffer.allocateDirect(8).order(ByteOrder.nativeOrder());
            ByteBuffer reply = ByteBuffer.allocateDirect(MAX_REPLY);
            long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
            while (true) {
                int left = (int) ((deadline - System.nanoTime()) / 1_000_000L);
                if (left <= 0) {
                    return false;
                }
                pfd.clear();
                pfd.putInt(0, fd).putShort(4, (short) POLLIN).putShort(6, (short) 0);
                if (poll(pfd, 1, left) <= 0) {
                    continue;
                }
                long n = recv(fd, reply, MAX_REPLY, 0);
                int type = reply.get(0) & 0xff;
                if (n >= 8 && type == (target.v4() ? ECHO_REPLY_V4 : ECHO_REPLY_V6)
                        && (reply.getShort(6) & 0xffff) == (sequence & 0xffff)) {
                    return true;
                }
            }
        } catch (LastErrorException e) {
            throw new IOException("ping " + target + ": " + e.getMessage());
        }
    }

    private static ByteBuffer sockaddr(IpAddress a) {
        byte[] ip = a.toBytes();
        if (a.v4()) {
            ByteBuffer b = ByteBuffer.allocateDirect(16).order(ByteOrder.nativeOrder());
            b.putShort(0, (short) AF_INET);
            b.put(4, ip);
            return b;
        }
        ByteBuffer b = ByteBuffer.allocateDirect(28).order(ByteOrder.nativeOrder());
        b.putShort(0, (short) AF_INET6);
        b.put(8, ip);
        return b;
    }

    @Override
    public void close() {
        close(fd);
    }
}
