package dev.loomstack.link;

import com.sun.jna.Native;
import java.nio.ByteBuffer;

/**
 * The few libc calls a TUN device needs, bound with JNA direct mapping (no reflection or varargs
 * marshalling per call). {@code errno} is read with {@link Native#getLastError()} right after a
 * failing call, on the same thread.
 */
final class LibC {
    static final int O_RDWR = 0x2;
    static final int O_NONBLOCK = 0x800;
    static final int O_CLOEXEC = 0x80000;
    static final int AF_INET = 2;
    static final int SOCK_DGRAM = 2;
    static final int POLLIN = 0x1;
    static final int EINTR = 4;
    static final int EAGAIN = 11;
    static final int ENOENT = 2;
    static final int EPERM = 1;
    static final int EACCES = 13;
    static final int EBUSY = 16;
    static final int ENODEV = 19;
    static final int ENXIO = 6;
    static final int EBADF = 9;
    /** "File descriptor in bad state": a TUN descriptor whose device was deleted. */
    static final int EBADFD = 77;

    static {
        Native.register("c");
    }

    private LibC() {}

    static native int open(String path, int flags);

    static native int close(int fd);

    static native int socket(int domain, int type, int protocol);

    /** {@code ioctl(fd, request, struct ifreq *)}: the argument is the 40-byte ifreq. */
    static native int ioctl(int fd, long request, ByteBuffer ifreq);

    static native long read(int fd, ByteBuffer buf, long count);

    static native long write(int fd, ByteBuffer buf, long count);

    /** {@code poll(struct pollfd *fds, nfds_t n, int timeoutMillis)} over a direct buffer of pollfds. */
    static native int poll(ByteBuffer fds, long nfds, int timeoutMillis);

    static native String strerror(int errnum);

    static int errno() {
        return Native.getLastError();
    }

    static String describe(int errno) {
        String s = strerror(errno);
        return s == null ? "errno " + errno : s;
    }
}
