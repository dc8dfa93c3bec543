package dev.loomstack.link;

import dev.loomstack.packet.Bytes;
import dev.loomstack.packet.Checksum;
import dev.loomstack.packet.Ipv4Header;
import dev.loomstack.packet.Ipv6Header;
import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.packet.UdpHeader;
import dev.loomstack.packet.VirtioNetHeader;
import java.lang.System.Logger.Level;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A Linux TUN device ({@code IFF_TUN | IFF_NO_PI}: raw IP packets, no link header) driven through
 * {@code java.lang.foreign} calls straight on the packets' heap arrays: no byte is copied in user
 * space on the way in or out.
 *
 * <h2>Offloads</h2>
 * With offload asked for (the default), the device is opened with {@code IFF_VNET_HDR}, so a
 * {@code virtio_net_hdr} ({@link VirtioNetHeader}) precedes every packet both ways, and
 * {@code TUNSETOFFLOAD} is asked for partial checksums and TCP segmentation ({@code TUN_F_CSUM |
 * TUN_F_TSO4 | TUN_F_TSO6}) plus UDP segmentation ({@code TUN_F_USO4 | TUN_F_USO6}); a kernel that
 * refuses (EINVAL) is asked again without USO, then for nothing, and the header stays, all zero
 * (see {@link TunDevice}). What was agreed is logged once and is {@link #offloads()}.
 * <ul>
 * <li>Read: the kernel hands over a TCP stream of local origin in super-segments of up to 64 KiB
 * (GSO TCPV4/TCPV6) with its checksum left partial (NEEDS_CSUM): the packet is delivered whole with
 * {@link PacketBuffer#segmentSize()} = gso_size and {@link PacketBuffer#checksumVerified()} (the
 * bytes never left this host, so there is nothing to verify: it is what Linux's own receive path
 * does with CHECKSUM_PARTIAL); DATA_VALID also marks it verified. The IP header of a super-segment
 * is the one Linux's IP layer wrote for the whole packet: IPv4 total length and IPv6 payload length
 * cover it all, and the IPv4 header checksum is valid for it, so the IP layer takes it as is. A UDP
 * super-datagram (USO) is cut here into its datagrams, since UDP has no notion of one. A header
 * the codec refuses is a counted drop ({@link LinkStats#readErrors}). Plain MTU-sized TCP segments
 * (from a peer that cut them itself) are merged per flow within a read burst by a
 * {@link TcpCoalescer} (GRO) before they go up, so TCP takes one segment for many.
 * <li>Write: a packet with a segment size goes out as a GSO super-segment (the kernel cuts it, or
 * hands it whole to a local socket); a packet with a partial checksum as NEEDS_CSUM; anything else
 * with a header of zeros. The header is written into the packet's headroom, in front of the IP
 * header, and the packet goes to the kernel straight from its array. The transport checksum field
 * must hold what {@link VirtioNetHeader} documents: the pseudo-header sum over the whole transport
 * length, not complemented.
 * </ul>
 *
 * <h2>Threads</h2>
 * One platform thread reads: it polls the non-blocking descriptor, then reads every packet the
 * kernel has queued into one reused buffer that is lent to the dispatcher. Writers put packets in a
 * bounded lock-free queue (many producers, one consumer); one platform thread writes them, parking
 * only when the queue is empty. A full queue makes the producer wait, which is the back-pressure
 * transports feel. A packet the reader itself makes while a read is handled (an ACK, data an ACK
 * let out) is written by the reader directly when nothing is queued ahead of it: no hand-off, and
 * no native call on a virtual thread either way.
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
    /** The largest IP packet taken as a TCP super-segment: what an IPv4 total length can say. */
    public static final int MAX_OFFLOAD_SIZE = Ipv4Header.MAX_TOTAL_LENGTH;
    /**
     * The largest IP packet the kernel hands over: a GSO super-segment is at most 64 KiB of skb,
     * IPv6 header included ({@code GSO_LEGACY_MAX_SIZE}); some slack for a kernel that counts otherwise.
     */
    static final int MAX_READ_PACKET = 65536 + 64;
    private static final int POLL_MILLIS = 200;
    /** Packets the writer writes before letting the reader write one of its own. */
    private static final int WRITE_BATCH = 64;
    /** How long a producer facing a full write queue waits before trying again. */
    private static final long FULL_QUEUE_PAUSE_NANOS = TimeUnit.MICROSECONDS.toNanos(20);
    /** At most one line per interval for read errors that are neither transient nor a lost device. */
    static final Duration ERROR_LOG_INTERVAL = Duration.ofSeconds(10);
    /** The reader's pause after such an error, so that a persistent one cannot become a spin. */
    static final Duration ERROR_PAUSE = Duration.ofMillis(100);
    private static final System.Logger LOG = System.getLogger(TunLink.class.getName());
    private static final VarHandle WRITER_PARKED;
    private static final VarHandle WRITING;

    static {
        try {
            WRITER_PARKED = MethodHandles.lookup().findVarHandle(TunLink.class, "writerParked", boolean.class);
            WRITING = MethodHandles.lookup().findVarHandle(TunLink.class, "writing", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final int fd;
    private final String name;
    private final int mtu;
    private final TunOffloads offloads;
    /** Bytes of {@code virtio_net_hdr} in front of every packet: 0 or {@link VirtioNetHeader#LENGTH}. */
    private final int vnetHeader;
    /** Receive coalescing (GRO) of the reader's bursts; null with offload off (plain packets, as before). */
    private final TcpCoalescer coalescer;
    private final PacketBufferPool pool;
    private final LinkStats stats = new LinkStats();
    private final WriteQueue<PacketBuffer> writeQueue;
    private final Thread reader;
    private final Thread writer;
    /** Set by the writer while it parks on an empty queue; a producer that clears it unparks it. */
    @SuppressWarnings("unused")
    private volatile boolean writerParked;
    /**
     * Held (compare-and-set) by whoever takes packets off the queue and writes them, from before the
     * take until the write returned: the writer, or the reader writing its own packet directly.
     * Holding it with the queue empty means every packet queued before has reached the kernel.
     */
    @SuppressWarnings("unused")
    private volatile boolean writing;
    /** The reader's own native-call state and spare buffer, for its direct writes. */
    private final LibC.CallState readerCalls = new LibC.CallState();
    private final PacketBuffer readerSpare = PacketBuffer.unpooled(VirtioNetHeader.LENGTH + MAX_READ_PACKET);
    private volatile NetworkDispatcher dispatcher;
    private volatile boolean closed;
    private boolean fdClosed;
    private final Object lossLock = new Object();
    /** Guarded by {@link #lossLock}; non-null once the device is lost. */
    private volatile String lossCause;
    private final List<LossListener> lossListeners = new ArrayList<>();
    private long lastErrorLogNanos;
    private long errorsNotLogged;

    private TunLink(int fd, String name, int mtu, TunOffloads offloads, PacketBufferPool pool, int writeQueue) {
        this.fd = fd;
        this.name = name;
        this.mtu = mtu;
        this.offloads = offloads;
        this.vnetHeader = offloads.vnetHeader() ? VirtioNetHeader.LENGTH : 0;
        this.coalescer = vnetHeader > 0 ? new TcpCoalescer(stats) : null;
        this.pool = pool;
        this.writeQueue = new WriteQueue<>(writeQueue);
        this.reader = Thread.ofPlatform().daemon().name(name + "-read").unstarted(this::readLoop);
        this.writer = Thread.ofPlatform().daemon().name(name + "-write").unstarted(this::writeLoop);
    }

    /**
     * Creates the device {@code name} with offloads, sets its MTU and brings it up.
     *
     * @throws LinkUnavailableException when the device node is missing or the process lacks the
     *     privilege to create the interface
     * @throws IllegalArgumentException for a name the kernel cannot take
     */
    public static TunLink open(String name, int mtu, PacketBufferPool pool) {
        return open(name, mtu, pool, true);
    }

    /** As {@link #open(String, int, PacketBufferPool)}; {@code offload} false gives plain packets only. */
    public static TunLink open(String name, int mtu, PacketBufferPool pool, boolean offload) {
        return open(name, mtu, pool, offload, DEFAULT_WRITE_QUEUE);
    }

    public static TunLink open(String name, int mtu, PacketBufferPool pool, boolean offload, int writeQueue) {
        TunDevice.Opened device = TunDevice.open(name, mtu, offload);
        return new TunLink(device.fd(), device.name(), mtu, device.offloads(), pool, writeQueue);
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

    /** What the device and its kernel agreed to when it was opened. */
    public TunOffloads offloads() {
        return offloads;
    }

    /** {@value #MAX_OFFLOAD_SIZE} when the kernel takes TCP super-segments both ways (TSO4 and TSO6), else 0. */
    @Override
    public int maxOffloadSize() {
        return offloads.tcpSegmentation() ? MAX_OFFLOAD_SIZE : 0;
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

    // ---- reading -------------------------------------------------------------------------------

    private void readLoop() {
        LibC.CallState cs = new LibC.CallState();
        MemorySegment pfd = Arena.ofAuto().allocate(LibC.POLLFD_SIZE);
        pfd.set(ValueLayout.JAVA_INT, 0, fd);
        int headroom = PacketBufferPool.DEFAULT_HEADROOM;
        // The vnet header is read into the headroom, so the IP packet starts where the layers above expect it.
        PacketBuffer packet = vnetHeader > 0 ? PacketBuffer.unpooled(headroom + MAX_READ_PACKET)
                : pool.acquire(Math.max(pool.bufferSize(), mtu + headroom), headroom);
        byte[] a = packet.array();
        int readAt = headroom - vnetHeader;
        int readMax = a.length - readAt;
        MemorySegment readInto = packet.nativeView(readAt);
        UdpSegments udp = offloads.udpSegmentation() ? new UdpSegments(headroom + MAX_READ_PACKET) : null;
        // Packets go up through the guard, also those the coalescer releases at the end of a burst.
        NetworkDispatcher d = this::deliverGuarded;
        while (!closed) {
            pfd.set(ValueLayout.JAVA_SHORT, 4, (short) LibC.POLLIN);
            pfd.set(ValueLayout.JAVA_SHORT, 6, (short) 0);
            int r = LibC.poll(cs, pfd, 1, POLL_MILLIS);
            if (r < 0) {
                int e = cs.errno();
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
                long n = LibC.read(cs, fd, readInto, readMax);
                if (n < 0) {
                    int e = cs.errno();
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
                int len = (int) n - vnetHeader;
                stats.packetsRead.increment();
                stats.bytesRead.add(len);
                packet.range(headroom, headroom + len);
                packet.clearOffload();
                if (vnetHeader > 0 && !applyVnetHeader(packet, readAt)) {
                    continue;
                }
                if (vnetHeader > 0 && VirtioNetHeader.gsoType(a, readAt) == VirtioNetHeader.GSO_UDP_L4) {
                    if (udp != null) {
                        udp.deliver(packet, VirtioNetHeader.gsoSize(a, readAt), d);
                    } else {
                        stats.readErrors.increment();
                    }
                } else {
                    deliver(d, packet);
                }
            }
            readBurstEnded(d);
        }
    }

    /**
     * Reads the offload marks of the packet in {@code packet} from the header at {@code at}; false
     * (counted) when the header cannot describe it.
     */
    private boolean applyVnetHeader(PacketBuffer packet, int at) {
        byte[] a = packet.array();
        String invalid = VirtioNetHeader.invalidReason(a, at, packet.start(), packet.length());
        if (invalid != null) {
            stats.readErrors.increment();
            LOG.log(Level.DEBUG, () -> name + ": packet with a bad virtio_net_hdr dropped: " + invalid);
            return false;
        }
        int flags = VirtioNetHeader.flags(a, at);
        if ((flags & (VirtioNetHeader.F_NEEDS_CSUM | VirtioNetHeader.F_DATA_VALID)) != 0) {
            // NEEDS_CSUM: of local origin, never checksummed and never needing it (the bytes did
            // not cross a wire); DATA_VALID: the kernel verified it.
            packet.checksumVerified(true);
        }
        int type = VirtioNetHeader.gsoType(a, at) & ~VirtioNetHeader.GSO_ECN;
        if (type == VirtioNetHeader.GSO_TCPV4 || type == VirtioNetHeader.GSO_TCPV6) {
            packet.segmentSize(VirtioNetHeader.gsoSize(a, at));
            stats.gsoSegmentsRead.increment();
        }
        return true;
    }

    /**
     * The one place an inbound packet goes up: through the coalescer (which may hold it until the
     * burst ends, merged with the next segments of its flow) or straight to the dispatcher.
     */
    private void deliver(NetworkDispatcher d, PacketBuffer packet) {
        if (coalescer != null) {
            coalescer.add(packet, d);
        } else {
            d.deliverNetworkPacket(packet);
        }
    }

    /** Hands one packet to the dispatcher. */
    private void deliverGuarded(PacketBuffer packet) {
        try {
            dispatcher.deliverNetworkPacket(packet);
        } catch (RuntimeException e) {
            // A bug in a layer above must not stop the device.
            stats.readErrors.increment();
            LOG.log(Level.ERROR, "dispatching a packet from " + name + " failed", e);
        }
    }

    /**
     * The kernel has nothing more queued (EAGAIN): the end of a read burst. What the coalescer
     * holds goes up now, so coalescing never delays a packet past the burst it came in.
     */
    private void readBurstEnded(NetworkDispatcher d) {
        if (coalescer != null) {
            coalescer.flush(d);
        }
    }

    /**
     * Cuts a UDP super-datagram (GSO UDP_L4) into the datagrams it stands for, as the kernel would
     * for a socket: each gets the headers of the first with its own lengths (and, for IPv4, its
     * own identification and header checksum). Their UDP checksums are left as the kernel left
     * them, partial, and marked verified: the datagrams never left this host. One copy per byte,
     * only for this rare kind of packet (a local application sending with UDP_SEGMENT).
     */
    private final class UdpSegments {
        private final PacketBuffer out;

        UdpSegments(int capacity) {
            out = PacketBuffer.unpooled(capacity);
        }

        void deliver(PacketBuffer in, int size, NetworkDispatcher d) {
            byte[] a = in.array();
            int ip = in.start();
            boolean v4 = (a[ip] & 0xff) >>> 4 == 4;
            int ipHeader = v4 ? (a[ip] & 0x0f) * 4 : Ipv6Header.LENGTH;
            int headers = ipHeader + UdpHeader.LENGTH;
            int payload = in.length() - headers;
            if (payload <= 0 || headers > in.length()) {
                stats.readErrors.increment();
                return;
            }
            byte[] b = out.array();
            int at = PacketBufferPool.DEFAULT_HEADROOM;
            int identification = v4 ? Bytes.u16(a, ip + 4) : 0;
            for (int off = 0, i = 0; off < payload; off += size, i++) {
                int chunk = Math.min(size, payload - off);
                System.arraycopy(a, ip, b, at, headers);
                System.arraycopy(a, ip + headers + off, b, at + headers, chunk);
                int total = headers + chunk;
                if (v4) {
                    Bytes.put16(b, at + 2, total);
                    Bytes.put16(b, at + 4, identification + i);
                    Bytes.put16(b, at + 10, 0);
                    Bytes.put16(b, at + 10, Checksum.compute(b, at, ipHeader));
                } else {
                    Bytes.put16(b, at + 4, total - Ipv6Header.LENGTH);
                }
                Bytes.put16(b, at + ipHeader + 4, UdpHeader.LENGTH + chunk);
                out.range(at, at + total);
                out.clearOffload();
                out.checksumVerified(true);
                TunLink.this.deliver(d, out);
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

    // ---- writing -------------------------------------------------------------------------------

    @Override
    public boolean writePacket(PacketBuffer packet) {
        if (closed || lossCause != null) {
            stats.dropped.increment();
            packet.release();
            return false;
        }
        if (Thread.currentThread() == reader && WRITING.compareAndSet(this, false, true)) {
            // A packet made while handling one read (an ACK, or data the ACK let out): the reader, a
            // platform thread, writes it itself when nothing is queued before it, sparing the
            // hand-off to the writer. The write does not block (O_NONBLOCK, and a TUN write never waits).
            try {
                if (writeQueue.isEmpty()) {
                    writeOne(readerCalls, packet, readerSpare);
                    return true;
                }
            } finally {
                writing = false;
            }
        }
        // Back-pressure while the queue is full, but never past the end of the writer.
        while (!writeQueue.offer(packet)) {
            if (closed || lossCause != null || Thread.currentThread().isInterrupted()) {
                stats.dropped.increment();
                packet.release();
                return false;
            }
            LockSupport.parkNanos(FULL_QUEUE_PAUSE_NANOS);
        }
        // The queue's offer publishes the element with a release store: a full fence keeps the read
        // of the flag after it, so that a writer about to park either sees the packet or is woken.
        VarHandle.fullFence();
        if (writerParked && WRITER_PARKED.compareAndSet(this, true, false)) {
            LockSupport.unpark(writer);
        }
        return true;
    }

    private void writeLoop() {
        LibC.CallState cs = new LibC.CallState();
        // For the rare packet without room in front for the vnet header: copied once, here.
        PacketBuffer spare = PacketBuffer.unpooled(VirtioNetHeader.LENGTH + MAX_READ_PACKET);
        while (!closed) {
            if (!WRITING.compareAndSet(this, false, true)) {
                // The reader is writing one packet of its own: a moment.
                Thread.onSpinWait();
                continue;
            }
            int n = 0;
            try {
                PacketBuffer p;
                while (n < WRITE_BATCH && (p = writeQueue.poll()) != null) {
                    writeOne(cs, p, spare);
                    n++;
                }
            } finally {
                writing = false;
            }
            if (n > 0) {
                continue;
            }
            writerParked = true;
            // Announced, fenced, then looked again: a producer either sees the flag or its packet
            // is seen here. (A slot claimed but not yet filled counts as a packet: looked again.)
            VarHandle.fullFence();
            if (writeQueue.isEmpty()) {
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(POLL_MILLIS));
            }
            writerParked = false;
        }
        PacketBuffer p;
        while ((p = writeQueue.poll()) != null) {
            stats.dropped.increment();
            p.release();
        }
    }

    /** Writes one packet (with its vnet header in front) and releases it. */
    private void writeOne(LibC.CallState cs, PacketBuffer p, PacketBuffer spare) {
        int len = p.length();
        if (lossCause != null || len > MAX_READ_PACKET) {
            stats.dropped.increment();
            p.release();
            return;
        }
        byte[] a = p.array();
        int from = p.start();
        int segmentSize = p.segmentSize();
        PacketBuffer source = p;
        if (vnetHeader > 0) {
            if (p.headroom() < VirtioNetHeader.LENGTH) {
                System.arraycopy(a, from, spare.array(), VirtioNetHeader.LENGTH, len);
                source = spare;
                a = spare.array();
                from = VirtioNetHeader.LENGTH;
            }
            boolean partial = p.checksumPartial() || segmentSize > 0;
            if (partial && !offloads.checksum()
                    || VirtioNetHeader.writeFor(a, from - VirtioNetHeader.LENGTH, from, len, segmentSize, partial,
                            offloads.udpSegmentation()) != null) {
                stats.dropped.increment();
                p.release();
                return;
            }
            from -= VirtioNetHeader.LENGTH;
        } else if (segmentSize > 0 || p.checksumPartial()) {
            // The link said it takes no offload (maxOffloadSize() 0): such a packet breaks that contract.
            stats.dropped.increment();
            p.release();
            return;
        }
        long n = LibC.write(cs, fd, source.nativeView(from), len + vnetHeader);
        p.release();
        if (n == len + vnetHeader) {
            stats.packetsWritten.increment();
            stats.bytesWritten.add(len);
            if (segmentSize > 0) {
                stats.gsoSegmentsWritten.increment();
            }
        } else {
            stats.writeErrors.increment();
            if (n < 0) {
                int e = cs.errno();
                if (deviceGone(e)) {
                    lose("write: " + LibC.describe(e));
                }
            }
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
        LockSupport.unpark(writer);
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
        return "TunLink[" + name + ", mtu " + mtu + ", offload " + offloads + "]";
    }
}
