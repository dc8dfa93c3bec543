package dev.loomstack.link;

import dev.loomstack.packet.Ipv4Header;
import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.packet.PacketBufferPool;
import java.util.SplittableRandom;
import java.util.concurrent.DelayQueue;
import java.util.concurrent.Delayed;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A decorator that impairs the packets written to another link: drops, duplicates, corrupts,
 * delays and reorders them as an {@link Impairment} says, optionally behind a bottleneck of fixed
 * rate with a bounded queue, with a seeded generator so a failing run can be repeated. Inbound
 * packets pass through untouched (impair the other end for that direction).
 *
 * <p>Two ways to hold delayed packets, so the writer never sleeps:
 * <ul>
 *   <li>real time ({@link #ImpairedLink(LinkEndpoint, Impairment, PacketBufferPool)}): a delay queue
 *       drained by one thread of the link's own;</li>
 *   <li>a {@link LinkScheduler} ({@link #ImpairedLink(LinkEndpoint, Impairment, PacketBufferPool, LinkScheduler)}):
 *       each held packet is a task on the scheduler, written to the inner link on the thread that
 *       runs the task; no thread of the link's own. With a simulation's manual clock, packets move
 *       only when simulated time does, and a run is the same every time.</li>
 * </ul>
 *
 * <p>With {@link #withSegmentationOffload()} the link offers TCP segmentation offload
 * ({@link #maxOffloadSize()} 65,535) over an inner link that takes none: a super-segment written
 * to it is cut into MTU-sized packets by a {@link TcpSegmenter} (and a partial checksum
 * completed) before the impairments apply, so each MTU packet is lost, delayed or reordered on its
 * own, as on a real path behind a sender that uses GSO.
 */
public final class ImpairedLink implements LinkEndpoint {
    private final LinkEndpoint inner;
    private final Impairment impairment;
    private final PacketBufferPool pool;
    private final ReentrantLock lock = new ReentrantLock();
    private final SplittableRandom random;
    /** Null in real-time mode. */
    private final LinkScheduler scheduler;
    private final TcpSegmenter segmenter;
    /** Writes one cut segment through the impairments; made once, so cutting allocates nothing. */
    private final TcpSegmenter.SegmentSink impairedWrite = this::writeImpaired;
    private volatile boolean segmentationOffload;
    /** Real-time mode only. */
    private final DelayQueue<Held> held;
    /** Real-time mode only. */
    private final Thread releaser;
    private volatile boolean closed;
    /** When the bottleneck finishes serialising the last packet accepted; guarded by {@link #lock}. */
    private long lastDeparture = Long.MIN_VALUE;
    private long order;

    public final LongAdder lost = new LongAdder();
    public final LongAdder duplicated = new LongAdder();
    public final LongAdder reordered = new LongAdder();
    public final LongAdder corrupted = new LongAdder();
    /** Packets dropped because the bottleneck's queue was full (not part of {@link #lost}). */
    public final LongAdder tailDropped = new LongAdder();
    /** Packets written with a segment size (super-segments) and cut here into MTU packets (with {@link #withSegmentationOffload()}). */
    public final LongAdder superSegmentsCut = new LongAdder();
    /** Packets with offload marks that could not be cut (malformed, or not TCP/UDP); dropped. */
    public final LongAdder uncuttable = new LongAdder();

    private record Held(long due, long order, PacketBuffer packet) implements Delayed {
        @Override
        public long getDelay(TimeUnit unit) {
            return unit.convert(due - System.nanoTime(), TimeUnit.NANOSECONDS);
        }

        @Override
        public int compareTo(Delayed o) {
            Held h = (Held) o;
            return due != h.due ? Long.compare(due, h.due) : Long.compare(order, h.order);
        }
    }

    /** Holds delayed packets in real time, on a thread of the link's own. */
    public ImpairedLink(LinkEndpoint inner, Impairment impairment, PacketBufferPool pool) {
        this.inner = inner;
        this.impairment = impairment;
        this.pool = pool;
        this.random = new SplittableRandom(impairment.seed());
        this.scheduler = null;
        this.segmenter = new TcpSegmenter(pool);
        this.held = new DelayQueue<>();
        this.releaser = Thread.ofPlatform().daemon().name(inner.name() + "-impaired").start(this::releaseLoop);
    }

    /**
     * Holds delayed packets as tasks on {@code scheduler}, in its time; starts no thread. A packet
     * is written to {@code inner} by whoever runs the task.
     */
    public ImpairedLink(LinkEndpoint inner, Impairment impairment, PacketBufferPool pool, LinkScheduler scheduler) {
        if (scheduler == null) {
            throw new IllegalArgumentException(
                    "a scheduler is needed; use the three-argument constructor for real time");
        }
        this.inner = inner;
        this.impairment = impairment;
        this.pool = pool;
        this.random = new SplittableRandom(impairment.seed());
        this.scheduler = scheduler;
        this.segmenter = new TcpSegmenter(pool);
        this.held = null;
        this.releaser = null;
    }

    public Impairment impairment() {
        return impairment;
    }

    /**
     * Makes the link take TCP super-segments of up to 65,535 bytes and cut them itself before
     * impairing each MTU packet. Call it before the link is given to a stack (the stack asks
     * {@link #maxOffloadSize()} when it sends). Returns this link.
     */
    public ImpairedLink withSegmentationOffload() {
        segmentationOffload = true;
        return this;
    }

    @Override
    public int maxOffloadSize() {
        return segmentationOffload ? Ipv4Header.MAX_TOTAL_LENGTH : 0;
    }

    @Override
    public int mtu() {
        return inner.mtu();
    }

    @Override
    public String name() {
        return inner.name();
    }

    @Override
    public LinkStats stats() {
        return inner.stats();
    }

    @Override
    public void onLoss(LossListener listener) {
        inner.onLoss(listener);
    }

    @Override
    public boolean isLost() {
        return inner.isLost();
    }

    @Override
    public void start(NetworkDispatcher dispatcher) {
        inner.start(dispatcher);
    }

    private long now() {
        return scheduler != null ? scheduler.nanoTime() : System.nanoTime();
    }

    @Override
    public boolean writePacket(PacketBuffer packet) {
        if (segmentationOffload && TcpSegmenter.needs(packet)) {
            if (closed) {
                packet.release();
                return false;
            }
            boolean cut = packet.segmentSize() > 0;
            if (segmenter.segment(packet, impairedWrite) < 0) {
                uncuttable.increment();
                inner.stats().dropped.increment();
                return true;
            }
            if (cut) {
                superSegmentsCut.increment();
            }
            return !closed;
        }
        return writeImpaired(packet);
    }

    /** Impairs one packet that the inner link can carry as it is. */
    private boolean writeImpaired(PacketBuffer packet) {
        if (closed) {
            packet.release();
            return false;
        }
        PacketBuffer copy = null;
        lock.lock();
        try {
            long now = now();
            long departure = now;
            if (impairment.hasBottleneck()) {
                long start = Math.max(now, lastDeparture);
                if (impairment.hasQueueLimit()
                        && queuedBytes(start - now) + packet.length() > impairment.queueLimitBytes()) {
                    tailDropped.increment();
                    packet.release();
                    return true;
                }
                departure = start + impairment.serialisationNanos(packet.length());
                lastDeparture = departure;
            }
            // Random loss, duplication and corruption happen on the wire, after the bottleneck.
            if (chance(impairment.loss())) {
                lost.increment();
                packet.release();
                return true;
            }
            if (chance(impairment.duplicate())) {
                duplicated.increment();
                copy = pool.acquire(packet.length() + packet.headroom(), packet.headroom());
                System.arraycopy(packet.array(), packet.start(), copy.array(), copy.append(packet.length()),
                        packet.length());
            }
            if (chance(impairment.corrupt()) && packet.length() > 0) {
                corrupted.increment();
                int at = packet.start() + random.nextInt(packet.length());
                packet.array()[at] ^= (byte) (1 << random.nextInt(8));
            }
            long arrival = departure + impairment.delayNanos();
            long due = arrival;
            if (chance(impairment.reorder())) {
                reordered.increment();
                due += impairment.reorderUniform() ? 1 + random.nextLong(impairment.reorderNanos())
                        : impairment.reorderNanos();
            }
            if (due > now) {
                hold(due, packet);
                if (copy != null) {
                    hold(arrival, copy);
                }
                return true;
            }
        } finally {
            lock.unlock();
        }
        boolean ok = inner.writePacket(packet);
        if (copy != null) {
            inner.writePacket(copy);
        }
        return ok;
    }

    /** Bytes waiting for the bottleneck when it is busy for {@code busyNanos} more. */
    private long queuedBytes(long busyNanos) {
        return (long) (busyNanos * (double) impairment.rateBitsPerSecond() / 8e9);
    }

    /** Called with the lock held, so packets due at the same time keep the order they were written in. */
    private void hold(long due, PacketBuffer packet) {
        if (scheduler != null) {
            scheduler.runAt(due, () -> release(packet));
        } else {
            held.add(new Held(due, order++, packet));
        }
    }

    private void release(PacketBuffer packet) {
        if (closed) {
            packet.release();
        } else {
            inner.writePacket(packet);
        }
    }

    private boolean chance(double p) {
        return p > 0 && random.nextDouble() < p;
    }

    private void releaseLoop() {
        while (!closed) {
            try {
                Held h = held.poll(100, TimeUnit.MILLISECONDS);
                if (h != null) {
                    inner.writePacket(h.packet());
                }
            } catch (InterruptedException e) {
                break;
            }
        }
        Held h;
        while ((h = held.poll()) != null) {
            h.packet().release();
        }
    }

    /** Stops the link; packets still held are released unwritten. */
    @Override
    public void close() {
        closed = true;
        if (releaser != null) {
            releaser.interrupt();
            try {
                releaser.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        inner.close();
    }
}
