package dev.loomstack.engine;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import dev.loomstack.packet.IpAddress;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * One platform thread that waits for every relayed echo reply at once: each ping gets its own
 * non-blocking {@link IcmpDatagramSocket}, and a single {@code poll(2)} covers all of them plus an
 * {@code eventfd(2)} that wakes the loop for new requests or for closing. No ping ever occupies a
 * virtual thread's carrier, however many hosts stay silent.
 *
 * <p>Where the kernel refuses ping sockets the loop starts the {@link PingCommand} instead (the
 * fork happens here, not on the TUN reader that asked).
 */
final class EchoPoller implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(EchoPoller.class.getName());
    private static final int EFD_NONBLOCK = 0x800;
    private static final int EFD_CLOEXEC = 0x80000;
    private static final int POLLIN = 0x1;
    private static final int EINTR = 4;
    private static final int POLLFD_SIZE = 8;
    /** poll(2)'s "no timeout": with nothing waiting only the eventfd wakes the loop. */
    private static final int NO_TIMEOUT = -1;
    /** With pings waiting the loop wakes at least this often, whatever their deadlines. */
    private static final int MAX_POLL_MILLIS = 1000;

    static {
        Native.register(EchoPoller.class, "c");
    }

    private static native int eventfd(int initval, int flags) throws LastErrorException;

    private static native long read(int fd, ByteBuffer buf, long count);

    private static native long write(int fd, ByteBuffer buf, long count);

    private static native int poll(ByteBuffer fds, long nfds, int timeoutMillis) throws LastErrorException;

    private static native int close(int fd);

    /** A ping asked for and the future it completes. */
    private record Request(IpAddress target, CompletableFuture<Boolean> result) {}

    /** A ping whose request is on the wire. */
    private record Waiting(IcmpDatagramSocket socket, int sequence, long deadlineNanos,
                           CompletableFuture<Boolean> result) {}

    private final Duration timeout;
    private final int wakeFd;
    private final Queue<Request> submitted = new ConcurrentLinkedQueue<>();
    private final ByteBuffer wakeValue = ByteBuffer.allocateDirect(8).order(ByteOrder.nativeOrder());
    private final Thread thread;
    private volatile boolean closed;
    /** Guarded by {@link #wakeValue}: a closed descriptor's number may already belong to another file. */
    private boolean wakeFdClosed;
    private int sequence;

    /**
     * Starts the loop's thread.
     *
     * @throws IOException when the kernel refuses the eventfd
     */
    EchoPoller(String threadName, Duration timeout) throws IOException {
        this.timeout = timeout;
        try {
            this.wakeFd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        } catch (LastErrorException e) {
            throw new IOException("eventfd: " + e.getMessage());
        }
        wakeValue.putLong(0, 1);
        this.thread = Thread.ofPlatform().daemon().name(threadName).start(this::run);
    }

    /** Pings {@code target}; the future completes true on its reply, false on silence or error. */
    CompletableFuture<Boolean> ping(IpAddress target) {
        CompletableFuture<Boolean> result = new CompletableFuture<>();
        if (closed) {
            result.complete(false);
            return result;
        }
        submitted.add(new Request(target, result));
        wake();
        if (closed) {
            // Raced with close: the loop may be gone, so nobody else would answer.
            result.complete(false);
        }
        return result;
    }

    private void wake() {
        // An eventfd write of 8 bytes never blocks unless the counter would overflow.
        synchronized (wakeValue) {
            if (!wakeFdClosed) {
                write(wakeFd, wakeValue, 8);
            }
        }
    }

    private void run() {
        List<Waiting> waiting = new ArrayList<>();
        ByteBuffer pollfds = ByteBuffer.allocateDirect(POLLFD_SIZE * (1 + PingRelay.MAX_CONCURRENT))
                .order(ByteOrder.nativeOrder());
        ByteBuffer scratch = ByteBuffer.allocateDirect(IcmpDatagramSocket.MAX_REPLY);
        ByteBuffer sendScratch = ByteBuffer.allocateDirect(IcmpDatagramSocket.SEND_SCRATCH);
        ByteBuffer drain = ByteBuffer.allocateDirect(8);
        try {
            while (!closed) {
                admit(waiting, sendScratch);
                int n = 1 + waiting.size();
                if (pollfds.capacity() < POLLFD_SIZE * n) {
                    pollfds = ByteBuffer.allocateDirect(POLLFD_SIZE * n * 2).order(ByteOrder.nativeOrder());
                }
                pollfd(pollfds, 0, wakeFd);
                for (int i = 0; i < waiting.size(); i++) {
                    pollfd(pollfds, i + 1, waiting.get(i).socket().fd());
                }
                try {
                    poll(pollfds, n, pollMillis(waiting));
                } catch (LastErrorException e) {
                    if (e.getErrorCode() != EINTR) {
                        LOG.log(Level.ERROR, "poll failed, pings are no longer relayed: {0}", e.getMessage());
                        return;
                    }
                    continue;
                }
                if (pollfds.getShort(6) != 0) {
                    read(wakeFd, drain, 8);
                }
                long now = System.nanoTime();
                // Walk back so that removing an entry leaves the unvisited indices in place.
                for (int i = waiting.size() - 1; i >= 0; i--) {
                    Waiting w = waiting.get(i);
                    Boolean outcome = null;
                    if (pollfds.getShort(POLLFD_SIZE * (i + 1) + 6) != 0) {
                        outcome = receive(w, scratch);
                    }
                    if (outcome == null && now - w.deadlineNanos() >= 0) {
                        outcome = false;
                    }
                    if (outcome != null) {
                        waiting.remove(i);
                        w.socket().close();
                        w.result().complete(outcome);
                    }
                }
            }
        } finally {
            // From now on ping() answers false at once: no relay slot can stay taken.
            closed = true;
            for (Waiting w : waiting) {
                w.socket().close();
                w.result().complete(false);
            }
            Request r;
            while ((r = submitted.poll()) != null) {
                r.result().complete(false);
            }
        }
    }

    /** True for the reply, false for an error that rules one out, null while still waiting. */
    private static Boolean receive(Waiting w, ByteBuffer scratch) {
        try {
            return w.socket().receiveReply(w.sequence(), scratch) ? Boolean.TRUE : null;
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "{0}", e.getMessage());
            return false;
        }
    }

    /** Opens a socket and sends the request for each new ping; falls back to the command. */
    private void admit(List<Waiting> waiting, ByteBuffer sendScratch) {
        Request r;
        while ((r = submitted.poll()) != null) {
            IcmpDatagramSocket socket;
            try {
                socket = IcmpDatagramSocket.open(r.target());
            } catch (IOException refused) {
                runCommand(r);
                continue;
            }
            int seq = ++sequence & 0xffff;
            try {
                socket.sendEcho(seq, sendScratch);
            } catch (IOException e) {
                socket.close();
                LOG.log(Level.DEBUG, "{0}", e.getMessage());
                r.result().complete(false);
                continue;
            }
            waiting.add(new Waiting(socket, seq, System.nanoTime() + timeout.toNanos(), r.result()));
        }
    }

    private void runCommand(Request r) {
        PingCommand.run(r.target(), timeout).whenComplete((ok, e) -> {
            if (e != null) {
                LOG.log(Level.DEBUG, "ping {0} failed: {1}", r.target(), e.getMessage());
            }
            r.result().complete(e == null && ok);
        });
    }

    private static void pollfd(ByteBuffer fds, int index, int fd) {
        int at = POLLFD_SIZE * index;
        fds.putInt(at, fd).putShort(at + 4, (short) POLLIN).putShort(at + 6, (short) 0);
    }

    /** Until the earliest deadline (rounded up, so the loop does not wake just before it). */
    private static int pollMillis(List<Waiting> waiting) {
        if (waiting.isEmpty()) {
            return NO_TIMEOUT;
        }
        long now = System.nanoTime();
        long earliest = Long.MAX_VALUE;
        for (Waiting w : waiting) {
            earliest = Math.min(earliest, w.deadlineNanos() - now);
        }
        long millis = (Math.max(0, earliest) + 999_999) / 1_000_000;
        return (int) Math.min(millis, MAX_POLL_MILLIS);
    }

    /** Ends the loop; pings still waiting complete false. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        wake();
        try {
            thread.join(Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (wakeValue) {
            wakeFdClosed = true;
            close(wakeFd);
        }
    }
}
