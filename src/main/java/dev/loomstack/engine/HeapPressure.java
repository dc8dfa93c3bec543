package dev.loomstack.engine;

import com.sun.management.GarbageCollectionNotificationInfo;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.util.ArrayList;
import java.util.List;
import javax.management.ListenerNotFoundException;
import javax.management.Notification;
import javax.management.NotificationEmitter;
import javax.management.NotificationListener;

/**
 * Whether the heap is short, judged by what its old generation still holds after the last
 * collection that collected it (what is live, not garbage waiting for the next cycle; young
 * collections leave that figure alone, so promoted garbage never raises pressure): reaching
 * {@code percent} of the maximum heap raises pressure; a later collection leaving less than
 * {@link #LOW_MARK_GAP} points below the mark lowers it again, so a heap hovering at the mark does
 * not flap. New forwarded flows are refused while it is raised (see {@link FlowAcceptor}), before
 * the heap runs out rather than after.
 *
 * <p>The JVM reports each collection to a listener on its collectors' beans (a JMX notification
 * on its service thread), which reads the old pool's collection usage: nothing is checked per
 * packet, and a flow's admission reads one volatile flag.
 */
public final class HeapPressure implements AutoCloseable {
    /** The default high mark, {@code loomstack.limits.heap-pressure-percent}. */
    public static final int DEFAULT_PERCENT = 85;
    /** Marks allowed: below 50 a normal heap would refuse flows, above 99 nothing is left to refuse in time. */
    public static final int MIN_PERCENT = 50;
    public static final int MAX_PERCENT = 99;
    /** Points below the high mark the heap must fall to after a collection before flows are taken again. */
    public static final int LOW_MARK_GAP = 10;
    private static final System.Logger LOG = System.getLogger(HeapPressure.class.getName());

    private final long maxHeap;
    private final long highBytes;
    private final long lowBytes;
    private final int percent;
    /** The pools whose usage after their collection counts: the old generation, else every heap pool. */
    private final List<MemoryPoolMXBean> pools = new ArrayList<>();
    private final List<NotificationEmitter> emitters = new ArrayList<>();
    private final NotificationListener listener = this::collected;
    private volatile boolean high;
    private volatile long lastUsedAfterGc = -1;

    /**
     * Listens to every collector of this JVM.
     *
     * @param percent the high mark, percent of the maximum heap ({@link #MIN_PERCENT} to {@link #MAX_PERCENT})
     */
    public HeapPressure(int percent) {
        this(percent, Runtime.getRuntime().maxMemory());
        pools.addAll(oldGeneration());
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            if (gc instanceof NotificationEmitter emitter) {
                emitter.addNotificationListener(listener, null, null);
                emitters.add(emitter);
            }
        }
    }

    /**
     * The heap pools where long-lived objects end up (G1 "G1 Old Gen", Parallel "PS Old Gen",
     * Serial "Tenured Gen", generational ZGC "ZGC Old Generation"); for a collector with one
     * generation (Shenandoah, ZGC without generations), every heap pool with a collection usage.
     */
    static List<MemoryPoolMXBean> oldGeneration() {
        List<MemoryPoolMXBean> heap = new ArrayList<>();
        List<MemoryPoolMXBean> old = new ArrayList<>();
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() != MemoryType.HEAP || !pool.isCollectionUsageThresholdSupported()) {
                continue;
            }
            heap.add(pool);
            String name = pool.getName();
            if (name.contains("Old") || name.contains("Tenured")) {
                old.add(pool);
            }
        }
        return old.isEmpty() ? heap : old;
    }

    /** Not listening: {@link #afterCollection} is told each heap reading (tests). */
    HeapPressure(int percent, long maxHeap) {
        requireValidPercent(percent);
        this.percent = percent;
        this.maxHeap = maxHeap;
        this.highBytes = maxHeap / 100 * percent;
        this.lowBytes = maxHeap / 100 * (percent - LOW_MARK_GAP);
    }

    public static void requireValidPercent(int percent) {
        if (percent < MIN_PERCENT || percent > MAX_PERCENT) {
            throw new IllegalArgumentException("the heap pressure mark must be between " + MIN_PERCENT + " and "
                    + MAX_PERCENT + " percent, got " + percent);
        }
    }

    /** True while new flows must be refused. */
    public boolean high() {
        return high;
    }

    public int percent() {
        return percent;
    }

    /** Heap in use after the last collection seen, or -1 before the first. */
    public long lastUsedAfterGc() {
        return lastUsedAfterGc;
    }

    private void collected(Notification n, Object handback) {
        if (!GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(n.getType())) {
            return;
        }
        long used = 0;
        for (MemoryPoolMXBean pool : pools) {
            MemoryUsage u = pool.getCollectionUsage();
            if (u != null) {
                used += u.getUsed();
            }
        }
        afterCollection(used);
    }

    /** One collection left {@code usedBytes} of heap in use. */
    void afterCollection(long usedBytes) {
        lastUsedAfterGc = usedBytes;
        if (!high && usedBytes >= highBytes) {
            high = true;
            LOG.log(System.Logger.Level.WARNING, "heap {0} MiB of {1} MiB in use after a collection (mark {2} %): "
                    + "refusing new flows", usedBytes >> 20, maxHeap >> 20, percent);
        } else if (high && usedBytes < lowBytes) {
            high = false;
            LOG.log(System.Logger.Level.INFO, "heap {0} MiB of {1} MiB in use after a collection: taking new flows "
                    + "again", usedBytes >> 20, maxHeap >> 20);
        }
    }

    /** Stops listening. */
    @Override
    public void close() {
        for (NotificationEmitter e : emitters) {
            try {
                e.removeNotificationListener(listener);
            } catch (ListenerNotFoundException ignored) {
                // Already removed.
            }
        }
        emitters.clear();
    }
}
