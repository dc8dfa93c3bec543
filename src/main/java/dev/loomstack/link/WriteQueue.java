package dev.loomstack.link;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A bounded lock-free queue for many producers and one consumer over a ring of slots: a producer
 * claims a slot by advancing the tail with a compare-and-set, then publishes its element into it
 * with a release store; the consumer takes elements in order, empties the slot and moves the head.
 * No allocation per element, no lock. (Agrona's concurrent queues would do, but they need
 * {@code jdk.internal.misc.Unsafe} exported to them on the command line.)
 *
 * <p>A claimed slot whose element is not yet published reads as empty for a moment: the consumer
 * then sees an empty queue, and the producer's wake-up (after its offer) makes it look again.
 */
final class WriteQueue<E> {
    private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(Object[].class);
    private static final VarHandle HEAD;
    private static final VarHandle TAIL;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            HEAD = l.findVarHandle(WriteQueue.class, "head", long.class);
            TAIL = l.findVarHandle(WriteQueue.class, "tail", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Object[] slots;
    private final int mask;
    private final int capacity;
    /** The next slot the consumer takes; written by the consumer only. */
    @SuppressWarnings("unused")
    private volatile long head;
    /** The next slot a producer claims. */
    @SuppressWarnings("unused")
    private volatile long tail;

    /** A queue that holds {@code capacity} elements (at least 2). */
    WriteQueue(int capacity) {
        if (capacity < 2 || capacity > 1 << 30) {
            throw new IllegalArgumentException("capacity " + capacity);
        }
        this.capacity = capacity;
        int ring = Integer.highestOneBit(capacity - 1) << 1;
        this.slots = new Object[ring];
        this.mask = ring - 1;
    }

    int capacity() {
        return capacity;
    }

    /** Adds {@code e} unless the queue is full; any thread. */
    boolean offer(E e) {
        if (e == null) {
            throw new NullPointerException();
        }
        long t;
        do {
            t = (long) TAIL.getVolatile(this);
            if (t - (long) HEAD.getVolatile(this) >= capacity) {
                return false;
            }
        } while (!TAIL.compareAndSet(this, t, t + 1));
        SLOT.setRelease(slots, (int) t & mask, e);
        return true;
    }

    /** The oldest element, or null when there is none (yet); the consumer thread only. */
    @SuppressWarnings("unchecked")
    E poll() {
        long h = (long) HEAD.getOpaque(this);
        int i = (int) h & mask;
        Object e = SLOT.getAcquire(slots, i);
        if (e == null) {
            return null;
        }
        SLOT.setOpaque(slots, i, null);
        // Releases the slot to producers only after it was emptied.
        HEAD.setVolatile(this, h + 1);
        return (E) e;
    }

    /** True when nothing is claimed or published; a hint, exact only for the consumer at rest. */
    boolean isEmpty() {
        return (long) HEAD.getVolatile(this) == (long) TAIL.getVolatile(this);
    }
}
