package dev.loomstack.packet;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A bounded many-producer many-consumer queue on a ring of slots, each with a sequence number
 * that says whose turn it is (Dmitry Vyukov's bounded MPMC queue). Offer and poll take no lock and
 * allocate nothing: a producer claims a position by compare-and-set and publishes the element with
 * a release store of the slot's sequence; a consumer does the mirror image. A full queue refuses
 * the offer, an empty one returns null, so callers decide what to do instead of waiting.
 *
 * <p>For pools of reusable objects (packet buffers, ring chunks) shared by the reader, writer and
 * timer threads. (Agrona's queues would do, but need the JDK's internal Unsafe, which a plain
 * module-less launch does not export.)
 */
public final class ConcurrentBoundedQueue<E> {
    private final int mask;
    /** The capacity asked for; the ring itself has at least two slots, which the turn scheme needs. */
    private final int limit;
    private final AtomicReferenceArray<E> items;
    private final AtomicLongArray turns;
    private final AtomicLong tail = new AtomicLong();
    private final AtomicLong head = new AtomicLong();

    /**
     * A queue of {@code capacity} elements. The ring has a power of two slots, at least two (with
     * one slot a full and an emptied slot would have the same turn); a capacity below the slots is
     * kept by refusing offers at it, exactly when single-threaded and within the slots always.
     */
    public ConcurrentBoundedQueue(int capacity) {
        if (capacity <= 0 || capacity > 1 << 30) {
            throw new IllegalArgumentException("capacity " + capacity);
        }
        int n = Math.max(2, Integer.highestOneBit(capacity));
        if (n < capacity) {
            n <<= 1;
        }
        limit = capacity;
        mask = n - 1;
        items = new AtomicReferenceArray<>(n);
        turns = new AtomicLongArray(n);
        for (int i = 0; i < n; i++) {
            turns.set(i, i);
        }
    }

    public int capacity() {
        return limit;
    }

    /** Adds {@code e} unless the queue is full; returns whether it was added. */
    public boolean offer(E e) {
        if (limit <= mask && size() >= limit) {
            return false;
        }
        long pos = tail.get();
        while (true) {
            int i = (int) pos & mask;
            long turn = turns.getAcquire(i);
            long d = turn - pos;
            if (d == 0) {
                if (tail.compareAndSet(pos, pos + 1)) {
                    items.setPlain(i, e);
                    turns.setRelease(i, pos + 1);
                    return true;
                }
                pos = tail.get();
            } else if (d < 0) {
                return false; // the slot still holds the element offered one lap ago: full
            } else {
                pos = tail.get();
            }
        }
    }

    /** Takes the oldest element, or null when the queue is empty. */
    public E poll() {
        long pos = head.get();
        while (true) {
            int i = (int) pos & mask;
            long turn = turns.getAcquire(i);
            long d = turn - (pos + 1);
            if (d == 0) {
                if (head.compareAndSet(pos, pos + 1)) {
                    E e = items.getPlain(i);
                    items.setPlain(i, null);
                    turns.setRelease(i, pos + mask + 1);
                    return e;
                }
                pos = head.get();
            } else if (d < 0) {
                return null; // nothing published in this slot yet: empty
            } else {
                pos = head.get();
            }
        }
    }

    /** Elements held now (a snapshot under concurrent use). */
    public int size() {
        long n = tail.get() - head.get();
        return (int) Math.max(0, Math.min(n, mask + 1));
    }
}
