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
    private static final int SOCKADDR_IN_LENGTH = 16;
    private static final int SOCKADDR_IN6_LENGTH = 28;
    /** Room for the request and the largest socket address, built before each send. */
    static final int SEND_SCRATCH = REQUEST_LENGTH + SOCKADDR_IN6_LENGTH;
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

    /**
     * Sends one echo request; an error from the route (unreachable, blackhole) is thrown at once.
     *
     * @param scratch a direct buffer of at least {@link #SEND_SCRATCH} bytes, reused across sends
     */
    void sendEcho(int sequence, ByteBuffer scratch) throws IOException {
        // JNA hands native code the address at a buffer's position: both views start at theirs.
        ByteBuffer msg = scratch.clear().slice(0, REQUEST_LENGTH).order(ByteOrder.BIG_ENDIAN);
        msg.put(0, (byte) (target.v4() ? ECHO_REQUEST_V4 : ECHO_REQUEST_V6)).put(1, (byte) 0).putShort(2, (short) 0);
        msg.putShort(4, (short) 0).putShort(6, (short) sequence).putLong(8, System.nanoTime());
        int addrLength = target.v4() ? SOCKADDR_IN_LENGTH : SOCKADDR_IN6_LENGTH;
        ByteBuffer addr = scratch.slice(REQUEST_LENGTH, addrLength).order(ByteOrder.nativeOrder());
        sockaddr(target, addr);
        try {
            sendto(fd, msg, REQUEST_LENGTH, 0, addr, addrLength);
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

    /** {@code struct sockaddr_in} or {@code sockaddr_in6} (port 0: ping sockets ignore it). */
    private static void sockaddr(IpAddress a, ByteBuffer b) {
        for (int i = 0; i < b.capacity(); i++) {
            b.put(i, (byte) 0);
        }
        if (a.v4()) {
            b.putShort(0, (short) AF_INET);
            b.put(4, a.toBytes());
        } else {
            b.putShort(0, (short) AF_INET6);
            b.put(8, a.toBytes());
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            close(fd);
        }
    }
}
