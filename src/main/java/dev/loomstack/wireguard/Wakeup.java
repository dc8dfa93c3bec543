package dev.loomstack.wireguard;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;

/**
 * Parking for one waiting thread without lost wake-ups or allocation: the waiter announces itself,
 * fences, looks once more for work and only then parks; a producer publishes its work, fences and
 * wakes a waiter it sees announced. One of the two always sees the other.
 */
final class Wakeup {
    private static final VarHandle PARKED;

    static {
        try {
            PARKED = MethodHandles.lookup().findVarHandle(Wakeup.class, "parked", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private volatile Thread waiter;
    @SuppressWarnings("unused")
    private volatile boolean parked;

    /** The waiter, step 1: announce. Then look for work; if there is none, {@link #park}. */
    void announce() {
        waiter = Thread.currentThread();
        parked = true;
        VarHandle.fullFence();
    }

    /** The waiter, step 2: park (at most {@code nanos}), then withdraw the announcement. */
    void park(long nanos) {
        if (parked) {
            LockSupport.parkNanos(nanos);
        }
        parked = false;
    }

    /** The waiter found work after announcing. */
    void cancel() {
        parked = false;
    }

    /** A producer, after publishing: wakes the waiter if it is announced. True if it was. */
    boolean signal() {
        VarHandle.fullFence();
        if (parked && PARKED.compareAndSet(this, true, false)) {
            LockSupport.unpark(waiter);
            return true;
        }
        return false;
    }
}
