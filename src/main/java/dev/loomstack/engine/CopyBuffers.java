package dev.loomstack.engine;

import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The copy buffers forwarded TCP flows borrow while bytes move, so an idle flow holds none. A
 * buffer is taken for one burst (a read of what is there and its write on the other side) and
 * given back as soon as the source has nothing more, so the number in use follows the flows
 * moving data, not the flows open.
 *
 * <p>Buffers in use are bounded by a budget: past it a flow gets a small unpooled buffer instead,
 * so a crowd of busy flows slows down rather than running the heap out. A few idle buffers are
 * kept for the next burst; the rest go to the garbage collector. Taking and giving back is a scan
 * of a small array of slots with compare-and-set, once per burst, never per packet.
 */
final class CopyBuffers {
    /** A burst copies at most this much at once: a full TCP window's worth of a host socket read. */
    static final int BUFFER_SIZE = 64 << 10;
    /** What a flow copies with when the budget is spent. */
    static final int OVER_BUDGET_SIZE = 4 << 10;
    /** Idle buffers kept for reuse at most. */
    static final int MAX_IDLE = 64;
    /** The share of the maximum heap the pooled buffers in use may come to. */
    static final int HEAP_SHARE_DIVISOR = 8;
    static final int MIN_BUDGET = 16;

    private final AtomicReferenceArray<byte[]> idle;
    private final int budget;
    private final AtomicInteger inUse = new AtomicInteger();

    /** @param budget pooled buffers in use at most (at least 1) */
    CopyBuffers(int budget) {
        if (budget < 1) {
            throw new IllegalArgumentException("the copy buffer budget must be at least 1, got " + budget);
        }
        this.budget = budget;
        this.idle = new AtomicReferenceArray<>(Math.min(MAX_IDLE, budget));
    }

    /** A budget of an eighth of {@code maxHeapBytes}, at least {@link #MIN_BUDGET} buffers. */
    static CopyBuffers forHeap(long maxHeapBytes) {
        return new CopyBuffers((int) Math.max(MIN_BUDGET, Math.min(Integer.MAX_VALUE,
                maxHeapBytes / HEAP_SHARE_DIVISOR / BUFFER_SIZE)));
    }

    /** A buffer for one burst: pooled ({@link #BUFFER_SIZE}) within the budget, small past it. */
    byte[] take() {
        if (inUse.incrementAndGet() > budget) {
            inUse.decrementAndGet();
            return new byte[OVER_BUDGET_SIZE];
        }
        int slots = idle.length();
        int start = ThreadLocalRandom.current().nextInt(slots);
        for (int i = 0; i < slots; i++) {
            int at = (start + i) % slots;
            if (idle.get(at) != null) {
                byte[] b = idle.getAndSet(at, null);
                if (b != null) {
                    return b;
                }
            }
        }
        return new byte[BUFFER_SIZE];
    }

    /** Gives back a buffer {@link #take} returned; the caller no longer touches it. */
    void give(byte[] b) {
        if (b.length != BUFFER_SIZE) {
            return;
        }
        inUse.decrementAndGet();
        int slots = idle.length();
        int start = ThreadLocalRandom.current().nextInt(slots);
        for (int i = 0; i < slots; i++) {
            int at = (start + i) % slots;
            if (idle.get(at) == null && idle.compareAndSet(at, null, b)) {
                return;
            }
        }
        // Enough are idle already: this one goes to the garbage collector.
    }

    /** Pooled buffers lent out now. */
    int inUse() {
        return inUse.get();
    }

    /** Idle pooled buffers kept now. */
    int idle() {
        int n = 0;
        for (int i = 0; i < idle.length(); i++) {
            if (idle.get(i) != null) {
                n++;
            }
        }
        return n;
    }

    int budget() {
        return budget;
    }
}
