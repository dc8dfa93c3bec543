package dev.loomstack.link;

import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.packet.PacketBufferPool;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A Linux TUN device ({@code IFF_TUN | IFF_NO_PI}: raw IP packets, no link header) driven through
 * JNA. One platform thread reads: it polls the non-blocking descriptor, then reads every packet the
 * kernel has queued into a direct buffer and copies it into one reused {@link PacketBuffer} that is
 * lent to the dispatcher. One platform thread writes from a bounded queue; a full queue blocks the
 * producer, which is the back-pressure transports feel.
 *
 * <p>The device is not persistent: closing the descriptor makes the kernel delete it. When the
 * device is deleted under us ({@code ip link del}, or deleting the network namespace it was moved
 * to, which deletes virtual devices rather than handing them back), the kernel detaches the
 * descriptor: {@code poll} reports {@code POLLERR} and every read and write fails with
 * {@code EBADFD}. That is a loss for good: it is logged once, the reader ends, writes are dropped
 * and the {@link LossListener}s are told. Other read errors are counted, logged at most once per
 * {@link #ERROR_LOG_INTERVAL} and followed by a pause, never a spin.
 */
public final class TunLink implements LinkEndpoint {
    public static final String DEVICE = "/dev/net/tun";
    public static final int DEFAULT_WRITE_QUEUE = 2048;
    /** Linux {@code IFNAMSIZ} minus the terminating NUL. */
    public static final int MAX_NAME_LENGTH = 15;
    private static final long TUNSETIFF = 0x400454caL;
    private static final long SIOCGIFFLAGS = 0x8913L;
    private static final long SIOCSIFFLAGS = 0x8914L;
    private static final long SIOCSIFMTU = 0x8922L;
    private static final short IFF_TUN = 0x0001;
    private static final short IFF_NO_PI = 0x1000;
    private static final short IFF_UP = 0x1;
    private static final short IFF_RUNNING = 0x40;
    private static final int IFREQ_SIZE = 40;
    private static final int IFREQ_UNION = 16;
    private static final int POLL_MILLIS = 200;
    /** At most one line per interval for read errors that are neither transient nor a lost device. */
    static final Duration ERROR_LOG_INTERVAL = Duration.ofSeconds(10);
    /** The reader's pause after such an error, so that a persistent one cannot become a spin. */
    static final Duration ERROR_PAUSE = Duration.ofMillis(100);
    private static final System.Logger LOG = System.getLogger(TunLink.class.getName());

    private final int fd;
    private final String name;
    private final int mtu;
    private final PacketBufferPool pool;
    private final LinkStats stats = new LinkStats();
    private final ArrayBlockingQueue<PacketBuffer> writeQueue;
    private final Thread reader;
    private final Thread writer;
    private volatile NetworkDispatcher dispatcher;
    private volatile boolean closed;
    private boolean fdClosed;
    private final Object lossLock = new Object();
    /** Guarded by {@link #lossLock}; non-null once the device is lost. */
    private volatile String lossCause;
    private final List<LossListener> lossListeners = new ArrayList<>();
    private long lastErrorLogNanos;
    private long errorsNotLogged;

    private TunLink(int fd, String name, int mtu, PacketBufferPool pool, int writeQueue) {
        this.fd = fd;
        this.name = name;
        this.mtu = mtu;
        this.pool = pool;
        this.writeQueue = new ArrayBlockingQueue<>(writeQueue);
        this.reader = Thread.ofPlatform().daemon().name(name + "-read").unstarted(this::readLoop);
        this.writer = Thread.ofPlatform().daemon().name(name + "-write").unstarted(this::writeLoop);
    }

    /**
     * Creates the device {@code name}, sets its MTU and brings it up.
     *
     * @throws LinkUnavailableException when the device node is missing or the process lacks the
     *     privilege to create the interface
     * @throws IllegalArgumentException for a name the kernel cannot take
     */
    public static TunLink open(String name, int mtu, PacketBufferPool pool) {
        return open(name, mtu, pool, DEFAULT_WRITE_QUEUE);
    }

    public static TunLink open(String name, int mtu, PacketBufferPool pool, int writeQueue) {
        byte[] nameBytes = name.getBytes(StandardCharsets.US_ASCII);
        if (name.isEmpty() || nameBytes.length > MAX_NAME_LENGTH || name.contains("/") || name.contains(" ")) {
            throw new IllegalArgumentException("TUN device name must be 1-" + MAX_NAME_LENGTH
                    + " characters without '/' or spaces, got '" + name + "'");
        }
        if (mtu < 68 || mtu > 65535) {
            throw new IllegalArgumentException("MTU must be between 68 and 65535, got " + mtu);
        }
        int fd = LibC.open(DEVICE, LibC.O_RDWR | LibC.O_NONBLOCK | LibC.O_CLOEXEC);
        if (fd < 0) {
            int e = LibC.errno();
            throw new LinkUnavailableException(switch (e) {
                case LibC.ENOENT, LibC.ENODEV -> "cannot open " + DEVICE + ": " + LibC.describe(e)
                        + " — load the tun module (modprobe tun) or pass the device to the container (--device /dev/net/tun)";
                case LibC.EPERM, LibC.EACCES -> "cannot open " + DEVICE + ": " + LibC.describe(e)
                        + " — run as root or grant CAP_NET_ADMIN, and make the device readable and writable";
                default -> "cannot open " + DEVICE + ": " + LibC.describe(e);
            });
        }
        try {
            ByteBuffer ifr = ifreq(nameBytes);
            ifr.putShort(IFREQ_UNION, (short) (IFF_TUN | IFF_NO_PI));
            if (LibC.ioctl(fd, TUNSETIFF, ifr) < 0) {
                int e = LibC.errno();
                throw new LinkUnavailableException(switch (e) {
                    case LibC.EPERM, LibC.EACCES -> "cannot create TUN device " + name + ": " + LibC.describe(e)
                            + " — the process needs CAP_NET_ADMIN (run as root or add --cap-add NET_ADMIN)";
                    case LibC.EBUSY -> "cannot create TUN device " + name + ": " + LibC.describe(e)
                            + " — another process holds a device of that name; pick another loomstack.tun.name";
                    default -> "cannot create TUN device " + name + ": " + LibC.describe(e);
                });
            }
            String actual = readName(ifr);
            configure(actual, mtu);
            LOG.log(Level.INFO, () -> "TUN device " + actual + " created (mtu " + mtu + ") and up");
            return new TunLink(fd, actual, mtu, pool, writeQueue);
        } catch (RuntimeException e) {
            LibC.close(fd);
            throw e;
        }
    }

    private static ByteBuffer ifreq(byte[] nameBytes) {
        ByteBuffer ifr = ByteBuffer.allocateDirect(IFREQ_SIZE).order(ByteOrder.nativeOrder());
        ifr.put(0, nameBytes);
        return ifr;
    }

    private static String readName(ByteBuffer ifr) {
        byte[] n = new byte[16];
        ifr.get(0, n);
        int len = 0;
        while (len < n.length && n[len] != 0) {
            len++;
        }
        return new String(n, 0, len, StandardCharsets.US_ASCII);
    }

    /** MTU and IFF_UP are interface settings, changed through any socket's ioctls (netdevice(7)). */
    private static void configure(String name, int mtu) {
        int s = LibC.socket(LibC.AF_INET, LibC.SOCK_DGRAM, 0);
        if (s < 0) {
            throw new LinkUnavailableException("cannot open a control socket: " + LibC.describe(LibC.errno()));
        }
        try {
            byte[] nb = name.getBytes(StandardCharsets.US_ASCII);
            ByteBuffer ifr = ifreq(nb);
            ifr.putInt(IFREQ_UNION, mtu);
            if (LibC.ioctl(s, SIOCSIFMTU, ifr) < 0) {
                throw new LinkUnavailableException("cannot set MTU " + mtu + " on " + name + ": "
                        + LibC.describe(LibC.errno()));
            }
            ifr = ifreq(nb);
            if (LibC.ioctl(s, SIOCGIFFLAGS, ifr) < 0) {
                throw new LinkUnavailableException("cannot read flags of " + name + ": " + LibC.describe(LibC.errno()));
            }
            ifr.putShort(IFREQ_UNION, (short) (ifr.getShort(IFREQ_UNION) | IFF_UP | IFF_RUNNING));
            if (LibC.ioctl(s, SIOCSIFFLAGS, ifr) < 0) {
                throw new LinkUnavailableException("cannot bring " + name + " up: " + LibC.describe(LibC.errno()));
            }
        } finally {
            LibC.close(s);
        }
    }

    @Override
    public int mtu() {
        return mtu;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public LinkStats stats() {
        return stats;
    }

    @Override
    public void start(NetworkDispatcher d) {
        if (dispatcher != null) {
            throw new IllegalStateException(name + " already started");
        }
        dispatcher = d;
        reader.start();
        writer.start();
    }

    private void readLoop() {
        ByteBuffer in = ByteBuffer.allocateDirect(mtu);
        ByteBuffer pfd = ByteBuffer.allocateDirect(8).order(ByteOrder.nativeOrder());
        pfd.putInt(0, fd);
        PacketBuffer packet = pool.acquire(Math.max(pool.bufferSize(), mtu + PacketBufferPool.DEFAULT_HEADROOM),
                PacketBufferPool.DEFAULT_HEADROOM);
        int headroom = PacketBufferPool.DEFAULT_HEADROOM;
        NetworkDispatcher d = dispatcher;
        while (!closed) {
            pfd.putShort(4, (short) LibC.POLLIN);
            pfd.putShort(6, (short) 0);
            int r = LibC.poll(pfd, 1, POLL_MILLIS);
            if (r < 0) {
                int e = LibC.errno();
                if (e != LibC.EINTR) {
                    readFailed("poll", e);
                }
                continue;
            }
            if (r == 0) {
                continue;
            }
            // Drain what the kernel has queued before polling again. POLLERR and POLLNVAL also
            // land here: the read then names the error.
            while (!closed) {
                long n = LibC.read(fd, in, mtu);
                if (n < 0) {
                    int e = LibC.errno();
                    if (e == LibC.EAGAIN || e == LibC.EINTR) {
                        break;
                    }
                    stats.readErrors.increment();
                    if (deviceGone(e)) {
                        lose("read: " + LibC.describe(e));
                        return;
                    }
                    readFailed("read", e);
                    break;
                }
                if (n == 0) {
                    break;
                }
                int len = (int) n;
                in.get(0, packet.array(), headroom, len);
                packet.range(headroom, headroom + len);
                stats.packetsRead.increment();
                stats.bytesRead.add(len);
                try {
                    d.deliverNetworkPacket(packet);
                } catch (RuntimeException e) {
                    // A bug in a layer above must not stop the device.
                    stats.readErrors.increment();
                    LOG.log(Level.ERROR, "dispatching a packet from " + name + " failed", e);
                }
            }
        }
    }

    /**
     * Errors after which the descriptor will never work again. {@code EBADFD}: the kernel detached
     * the descriptor from a deleted device (tun_get() finds no device); {@code EBADF}: the
     * descriptor itself is gone; {@code ENODEV}/{@code ENXIO}: no device behind it. Not
     * {@code EIO}: a write to a device that is merely down gets it, and an operator can bring it up.
     */
    static boolean deviceGone(int errno) {
        return errno == LibC.EBADFD || errno == LibC.EBADF || errno == LibC.ENODEV || errno == LibC.ENXIO;
    }

    /** An unexpected error of the reader: logged at most once per interval, then a pause. */
    private void readFailed(String call, int errno) {
        long now = System.nanoTime();
        if (lastErrorLogNanos == 0 || now - lastErrorLogNanos >= ERROR_LOG_INTERVAL.toNanos()) {
            long notLogged = errorsNotLogged;
            LOG.log(Level.WARNING, () -> call + " on " + name + " failed: " + LibC.describe(errno) + " ("
                    + notLogged + " more such errors since the last line)");
            lastErrorLogNanos = now;
            errorsNotLogged = 0;
        } else {
            errorsNotLogged++;
        }
        LockSupport.parkNanos(ERROR_PAUSE.toNanos());
    }

    /** The device is gone: told once (log and listeners), unless we are closing it ourselves. */
    private void lose(String cause) {
        List<LossListener> toTell;
        String full = "TUN device " + name + " is gone (" + cause + ")";
        synchronized (lossLock) {
            if (closed || lossCause != null) {
                return;
            }
            lossCause = full;
            toTell = List.copyOf(lossListeners);
        }
        LOG.log(Level.ERROR, () -> full + ": the link is down for good; packets to it are dropped");
        for (LossListener l : toTell) {
            tell(l, full);
        }
    }

    private static void tell(LossListener l, String cause) {
        try {
            l.linkLost(cause);
        } catch (RuntimeException e) {
            LOG.log(Level.ERROR, "a link-loss listener failed", e);
        }
    }

    @Override
    public void onLoss(LossListener listener) {
        String cause;
        synchronized (lossLock) {
            if (lossCause == null) {
                lossListeners.add(listener);
                return;
            }
            cause = lossCause;
        }
        tell(listener, cause);
    }

    @Override
    public boolean isLost() {
        return lossCause != null;
    }

    @Override
    public boolean writePacket(PacketBuffer packet) {
        if (closed || lossCause != null) {
            stats.dropped.increment();
            packet.release();
            return false;
        }
        try {
            // Back-pressure while the queue is full, but never past the end of the writer.
            while (!writeQueue.offer(packet, POLL_MILLIS, TimeUnit.MILLISECONDS)) {
                if (closed || lossCause != null) {
                    stats.dropped.increment();
                    packet.release();
                    return false;
                }
            }
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stats.dropped.increment();
            packet.release();
            return false;
        }
    }

    private void writeLoop() {
        ByteBuffer out = ByteBuffer.allocateDirect(65535);
        while (!closed) {
            PacketBuffer p;
            try {
                p = writeQueue.poll(POLL_MILLIS, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                break;
            }
            if (p == null) {
                continue;
            }
            int len = p.length();
            if (len > out.capacity() || lossCause != null) {
                stats.dropped.increment();
                p.release();
                continue;
            }
            out.put(0, p.array(), p.start(), len);
            p.release();
            long n = LibC.write(fd, out, len);
            if (n == len) {
                stats.packetsWritten.increment();
                stats.bytesWritten.add(len);
            } else {
                stats.writeErrors.increment();
                if (n < 0) {
                    int e = LibC.errno();
                    if (deviceGone(e)) {
                        lose("write: " + LibC.describe(e));
                    }
                }
            }
        }
        PacketBuffer p;
        while ((p = writeQueue.poll()) != null) {
            stats.dropped.increment();
            p.release();
        }
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        writer.interrupt();
        joinQuietly(reader);
        joinQuietly(writer);
        synchronized (this) {
            if (!fdClosed) {
                fdClosed = true;
                // A non-persistent device goes with its last descriptor; the owner logs its removal.
                LibC.close(fd);
            }
        }
    }

    private static void joinQuietly(Thread t) {
        if (t.isAlive() && Thread.currentThread() != t) {
            try {
                t.join(TimeUnit.SECONDS.toMillis(5));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public String toString() {
        return "TunLink[" + name + ", mtu " + mtu + "]";
    }
}
