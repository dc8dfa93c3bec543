package dev.loomstack.engine;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import dev.loomstack.packet.IpAddress;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * An unprivileged, non-blocking ICMP echo socket ({@code socket(AF_INET, SOCK_DGRAM,
 * IPPROTO_ICMP)}, Linux's "ping socket"): the kernel fills in the identifier and checksum and hands
 * back only the replies to this socket. The kernel allows it to processes whose group is inside
 * {@code net.ipv4.ping_group_range}; {@link #open} fails otherwise and the caller falls back.
 *
 * <p>Nothing here waits: {@link EchoPoller} polls the descriptor on its own platform thread, so no
 * native call ever holds a virtual thread's carrier.
 */
final class IcmpDatagramSocket implements AutoCloseable {
    private static final int AF_INET = 2;
    private static final int AF_INET6 = 10;
    private static final int SOCK_DGRAM = 2;
    private static final int SOCK_NONBLOCK = 0x800;
    private static final int SOCK_CLOEXEC = 0x80000;
    private static final int IPPROTO_ICMP = 1;
    private static final int IPPROTO_ICMPV6 = 58;
    private static final int EAGAIN = 11;
    private static final int EINTR = 4;
    private static final int ECHO_REQUEST_V4 = 8;
    private static final int ECHO_REPLY_V4 = 0;
    private static final int ECHO_REQUEST_V6 = 128;
    private static final int ECHO_REPLY_V6 = 129;
    /** Echo header (RFC 792, RFC 4443 section 4.1) plus an 8-byte timestamp as payload. */
    private static final int REQUEST_LENGTH = 16;
    static final int MAX_REPLY = 2048;

    static {
        Native.register(IcmpDatagramSocket.class, "c");
    }

    private static native int socket(int domain, int type, int protocol) throws LastErrorException;

    private static native long sendto(int fd, ByteBuffer buf, long len, int flags, ByteBuffer addr, int addrLen)
            throws LastErrorException;

    private static native long recv(int fd, ByteBuffer buf, long len, int flags) throws LastErrorException;

    private static native int close(int fd);

    private final int fd;
    private final IpAddress target;
    private boolean closed;

    private IcmpDatagramSocket(int fd, IpAddress target) {
        this.fd = fd;
        this.target = target;
    }

    /** Opens a ping socket for {@code target}'s family; fails when the kernel does not allow one. */
    static IcmpDatagramSocket open(IpAddress target) throws IOException {
        try {
            int fd = target.v4()
                    ? socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP)
                    : socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6);
            return new IcmpDatagramSocket(fd, target);
        } catch (LastErrorException e) {
            throw new IOException("ICMP datagram socket refused (net.ipv4.ping_group_range): " + e.getMessage());
        }
    }

    int fd() {
        return fd;
    }

    IpAddress target() {
        return target;
    }

    /** Sends one echo request; an error from the route (unreachable, blackhole) is thrown at once. */
    void sendEcho(int sequence) throws IOException {
        ByteBuffer msg = ByteBuffer.allocateDirect(REQUEST_LENGTH).order(ByteOrder.BIG_ENDIAN);
        msg.put((byte) (target.v4() ? ECHO_REQUEST_V4 : ECHO_REQUEST_V6)).put((byte) 0).putShort((short) 0);
        msg.putShort((short) 0).putShort((short) sequence).putLong(System.nanoTime());
        // JNA hands native code the address at the buffer's position: rewind to the start.
        msg.flip();
        ByteBuffer addr = sockaddr(target);
        try {
            sendto(fd, msg, REQUEST_LENGTH, 0, addr, addr.capacity());
        } catch (LastErrorException e) {
            throw new IOException("ping " + target + ": " + e.getMessage());
        }
    }

    /**
     * Reads every datagram the kernel has queued (never waits) and reports whether the echo reply
     * with {@code sequence} was among them. An error the kernel queued on the socket (an ICMP
     * destination-unreachable from the path) is thrown: no reply will come.
     *
     * @param scratch a direct buffer of at least {@link #MAX_REPLY} bytes
     */
    boolean receiveReply(int sequence, ByteBuffer scratch) throws IOException {
        int replyType = target.v4() ? ECHO_REPLY_V4 : ECHO_REPLY_V6;
        while (true) {
            long n;
            try {
                n = recv(fd, scratch, MAX_REPLY, 0);
            } catch (LastErrorException e) {
                if (e.getErrorCode() == EAGAIN || e.getErrorCode() == EINTR) {
                    return false;
                }
                throw new IOException("ping " + target + ": " + e.getMessage());
            }
            if (n >= 8 && (scratch.get(0) & 0xff) == replyType
                    && (scratch.getShort(6) & 0xffff) == (sequence & 0xffff)) {
                return true;
            }
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
        if (!closed) {
            closed = true;
            close(fd);
        }
    }
}
