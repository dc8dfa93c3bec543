package dev.loomstack.link;

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
 * delays and reorders them as an {@link Impairment} says, with a seeded generator so a failing run
 * can be repeated. Inbound packets pass through untouched (impair the other end for that
 * direction). Delayed packets wait in a delay queue drained by one thread, so the writer never
 * sleeps.
 */
public final class ImpairedLink implements LinkEndpoint {
    private final LinkEndpoint inner;
    private final Impairment impairment;
    private final PacketBufferPool pool;
    private final ReentrantLock lock = new ReentrantLock();
    private final SplittableRandom random;
    private final DelayQueue<Held> held = new DelayQueue<>();
    private final Thread releaser;
    private volatile boolean closed;

    public final LongAdder lost = new LongAdder();
    public final LongAdder duplicated = new LongAdder();
    public final LongAdder reordered = new LongAdder();
    public final LongAdder corrupted = new LongAdder();

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

    private long order;

    public ImpairedLink(LinkEndpoint inner, Impairment impairment, PacketBufferPool pool) {
        this.inner = inner;
        this.impairment = impairment;
        this.pool = pool;
        this.random = new SplittableRandom(impairment.seed());
        this.releaser = Thread.ofPlatform().daemon().name(inner.name() + "-impaired").start(this::releaseLoop);
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

    @Override
    public boolean writePacket(PacketBuffer packet) {
        PacketBuffer copy = null;
        long delay;
        lock.lock();
        try {
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
            delay = impairment.delayNanos();
            if (chance(impairment.reorder())) {
                reordered.increment();
                delay += impairment.reorderNanos();
            }
            if (delay > 0) {
                held.add(new Held(System.nanoTime() + delay, order++, packet));
                if (copy != null) {
                    held.add(new Held(System.nanoTime() + impairment.delayNanos(), order++, copy));
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

    @Override
    public void close() {
        closed = true;
        releaser.interrupt();
        try {
            releaser.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        inner.close();
    }
}
