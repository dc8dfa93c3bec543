package dev.loomstack.link;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The few libc calls a TUN device needs, bound with {@code java.lang.foreign} downcalls made once.
 * {@code errno} is captured by the call itself ({@link Linker.Option#captureCallState}) into the
 * caller's {@link CallState}, so nothing between the call and the read of errno can change it.
 *
 * <p>{@link #read} and {@link #write} are <em>critical</em> calls with heap access: the kernel
 * copies straight from and into the Java array, with no copy through native memory. That is only
 * right for calls that return at once, which they do on the link's {@code O_NONBLOCK} descriptor;
 * the GC is held off for their duration. {@link #poll}, which waits, is an ordinary downcall.
 */
final class LibC {
    static final int O_RDWR = 0x2;
    static final int O_NONBLOCK = 0x800;
    static final int O_CLOEXEC = 0x80000;
    static final int AF_INET = 2;
    static final int SOCK_DGRAM = 2;
    static final int POLLIN = 0x1;
    static final int EPERM = 1;
    static final int ENOENT = 2;
    static final int EINTR = 4;
    static final int ENXIO = 6;
    static final int EBADF = 9;
    static final int EAGAIN = 11;
    static final int EACCES = 13;
    static final int EBUSY = 16;
    static final int ENODEV = 19;
    static final int EINVAL = 22;
    /** "File descriptor in bad state": a TUN descriptor whose device was deleted. */
    static final int EBADFD = 77;
    /** {@code struct pollfd}: int fd, short events, short revents. */
    static final int POLLFD_SIZE = 8;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option ERRNO_OPTION = Linker.Option.captureCallState("errno");

    // open(2) and ioctl(2) are variadic in C: the arguments after the fixed ones are passed as such.
    private static final MethodHandle OPEN = downcall("open",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), ERRNO_OPTION, Linker.Option.firstVariadicArg(2));
    private static final MethodHandle CLOSE = downcall("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle SOCKET = downcall("socket",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), ERRNO_OPTION);
    private static final MethodHandle IOCTL_POINTER = downcall("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), ERRNO_OPTION, Linker.Option.firstVariadicArg(2));
    private static final MethodHandle IOCTL_VALUE = downcall("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), ERRNO_OPTION, Linker.Option.firstVariadicArg(2));
    private static final MethodHandle READ = downcall("read",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), ERRNO_OPTION, Linker.Option.critical(true));
    private static final MethodHandle WRITE = downcall("write",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), ERRNO_OPTION, Linker.Option.critical(true));
    private static final MethodHandle POLL = downcall("poll",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), ERRNO_OPTION);
    private static final MethodHandle STRERROR = downcall("strerror", FunctionDescriptor.of(ADDRESS, JAVA_INT));

    private LibC() {}

    private static MethodHandle downcall(String name, FunctionDescriptor fd, Linker.Option... options) {
        MemorySegment symbol = LINKER.defaultLookup().find(name)
                .orElseThrow(() -> new LinkUnavailableException("libc has no " + name));
        return LINKER.downcallHandle(symbol, fd, options);
    }

    /**
     * Where a call leaves {@code errno}: native memory owned by one thread, allocated once so a
     * call costs no allocation. Not for sharing between threads.
     */
    static final class CallState {
        private final MemorySegment segment = Arena.ofAuto().allocate(CALL_STATE);

        /** The {@code errno} of this state's last failing call. */
        int errno() {
            return (int) ERRNO.get(segment, 0L);
        }
    }

    static int open(CallState s, String path, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            return (int) OPEN.invokeExact(s.segment, arena.allocateFrom(path), flags, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int close(int fd) {
        try {
            return (int) CLOSE.invokeExact(fd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int socket(CallState s, int domain, int type, int protocol) {
        try {
            return (int) SOCKET.invokeExact(s.segment, domain, type, protocol);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code ioctl(fd, request, pointer)}: the argument is a structure (an ifreq) or an int in native memory. */
    static int ioctl(CallState s, int fd, long request, MemorySegment argument) {
        try {
            return (int) IOCTL_POINTER.invokeExact(s.segment, fd, request, argument);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code ioctl(fd, request, value)}: requests that take their argument by value ({@code TUNSETOFFLOAD}). */
    static int ioctlValue(CallState s, int fd, long request, long value) {
        try {
            return (int) IOCTL_VALUE.invokeExact(s.segment, fd, request, value);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Reads into {@code buffer[offset .. offset + count)} directly; the descriptor must not block. */
    static long read(CallState s, int fd, MemorySegment buffer, int count) {
        try {
            return (long) READ.invokeExact(s.segment, fd, buffer, (long) count);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Writes {@code buffer[offset .. offset + count)} directly; the descriptor must not block. */
    static long write(CallState s, int fd, MemorySegment buffer, int count) {
        try {
            return (long) WRITE.invokeExact(s.segment, fd, buffer, (long) count);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code poll(struct pollfd *fds, nfds_t n, int timeoutMillis)} over native memory holding pollfds. */
    static int poll(CallState s, MemorySegment fds, long nfds, int timeoutMillis) {
        try {
            return (int) POLL.invokeExact(s.segment, fds, nfds, timeoutMillis);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static String describe(int errno) {
        try {
            MemorySegment s = (MemorySegment) STRERROR.invokeExact(errno);
            return s.equals(MemorySegment.NULL) ? "errno " + errno : s.reinterpret(256).getString(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }
}
