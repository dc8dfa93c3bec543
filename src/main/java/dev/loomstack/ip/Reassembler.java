package dev.loomstack.ip;

import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.stack.TimerService;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Fragment reassembly for one IP version, bounded in memory and time.
 *
 * <ul>
 *   <li>A fragment overlapping another of the same datagram discards the whole datagram, and
 *       fragments of it that arrive later until its timeout (RFC 5722 for IPv6; the same policy
 *       for IPv4, where overlaps only serve to evade inspection). An exact duplicate of a fragment
 *       already held is dropped alone: links do duplicate packets.</li>
 *   <li>A datagram not completed within the timeout is dropped (RFC 791: 15 s minimum, Linux uses
 *       30 s; RFC 8200 section 4.5: 60 s for IPv6).</li>
 *   <li>The bytes held across all datagrams never exceed the cap: the oldest datagrams are
 *       evicted to make room. Each piece is charged its data plus {@link #PIECE_OVERHEAD}, so a
 *       flood of tiny fragments cannot hold several times the cap in array headers.</li>
 *   <li>The number of datagrams held (including those remembered only to drop their late
 *       fragments, and those whose only fragment carries no data) never exceeds
 *       {@link #maxDatagrams()}, the cap divided by {@link #DATAGRAM_FOOTPRINT}: the oldest is
 *       evicted for a new one, as Linux charges each fragment queue's own size to its
 *       {@code ipfrag_high_thresh}.</li>
 * </ul>
 *
 * Fragments are a slow path: each allocates its key and a copy of its data.
 */
public final class Reassembler {
    public static final int DEFAULT_MEMORY_CAP = 4 << 20;
    /** Pieces per datagram beyond which the sender is presumed hostile (tiny-fragment floods). */
    static final int MAX_PIECES = 1024;
    /** The largest reassembled payload (the 16-bit length fields bound it). */
    static final int MAX_DATAGRAM = 65535;
    /** Heap a held piece costs beyond its data: the copy's array header and its slots in the piece arrays. */
    static final int PIECE_OVERHEAD = 32;
    /**
     * Heap one datagram's bookkeeping costs with no data at all (its key, record, piece arrays, map
     * entry and timer), rounded up: the cap divided by this bounds how many datagrams are held.
     */
    static final int DATAGRAM_FOOTPRINT = 512;

    private final long timeoutNanos;
    private final int memoryCap;
    private final TimerService timers;
    private final PacketBufferPool pool;
    private final ReentrantLock lock = new ReentrantLock();
    private final LinkedHashMap<FragmentKey, Datagram> datagrams = new LinkedHashMap<>();
    private final int maxDatagrams;
    private int memory;

    public final LongAdder reassembled = new LongAdder();
    public final LongAdder timeouts = new LongAdder();
    public final LongAdder overlaps = new LongAdder();
    public final LongAdder duplicates = new LongAdder();
    public final LongAdder evictions = new LongAdder();
    public final LongAdder malformed = new LongAdder();

    private final class Datagram implements Runnable {
        final FragmentKey key;
        int[] starts = new int[4];
        int[] ends = new int[4];
        byte[][] data = new byte[4][];
        int count;
        int totalLength = -1;
        int received;
        int bytes;
        byte[] header;
        boolean dead;
        long timer = TimerService.NO_TIMER;

        Datagram(FragmentKey key) {
            this.key = key;
        }

        @Override
        public void run() {
            lock.lock();
            try {
                if (datagrams.get(key) == this) {
                    if (!dead) {
                        timeouts.increment();
                    }
                    forget(this);
                }
            } finally {
                lock.unlock();
            }
        }
    }

    public Reassembler(TimerService timers, PacketBufferPool pool, long timeoutNanos, int memoryCap) {
        if (memoryCap < MAX_DATAGRAM * 2) {
            throw new IllegalArgumentException("memory cap must hold at least two full datagrams");
        }
        this.timers = timers;
        this.pool = pool;
        this.timeoutNanos = timeoutNanos;
        this.memoryCap = memoryCap;
        this.maxDatagrams = memoryCap / DATAGRAM_FOOTPRINT;
    }

    /** Outcome of {@link #add}: a completed datagram or why none is ready. */
    public sealed interface Result {
        /** The datagram is complete: {@code packet} holds the first fragment's header, then all data. Owned by the caller. */
        record Complete(PacketBuffer packet, int headerLength) implements Result {}

        /** Held, waiting for more fragments. */
        record Pending() implements Result {}

        /** Dropped, counted by the reassembler. */
        record Dropped(Reason reason) implements Result {}

        enum Reason { OVERLAP, DUPLICATE, MALFORMED, TOO_LARGE }

        Pending PENDING = new Pending();
    }

    /**
     * Adds one fragment: {@code dataLength} bytes at byte {@code offset} of the datagram's payload,
     * {@code more} the more-fragments flag. The first fragment (offset 0) also gives the header to
     * put in front of the reassembled payload.
     */
    public Result add(FragmentKey key, int offset, boolean more, byte[] b, int dataOffset, int dataLength,
                      byte[] header, int headerOffset, int headerLength) {
        int end = offset + dataLength;
        // RFC 8200 section 4.5 / RFC 791: every fragment but the last carries a multiple of 8 bytes.
        if ((more && (dataLength == 0 || (dataLength & 7) != 0)) || end > MAX_DATAGRAM - headerLength) {
            malformed.increment();
            return new Result.Dropped(end > MAX_DATAGRAM - headerLength ? Result.Reason.TOO_LARGE : Result.Reason.MALFORMED);
        }
        lock.lock();
        try {
            Datagram d = datagrams.get(key);
            if (d == null) {
                if (datagrams.size() >= maxDatagrams) {
                    evictOldest();
                }
                d = new Datagram(key);
                datagrams.put(key, d);
                d.timer = timers.scheduleAfter(timeoutNanos, d);
            }
            if (d.dead) {
                overlaps.increment();
                return new Result.Dropped(Result.Reason.OVERLAP);
            }
            if (!more) {
                if ((d.totalLength >= 0 && d.totalLength != end) || end < maxEnd(d)) {
                    kill(d);
                    malformed.increment();
                    return new Result.Dropped(Result.Reason.MALFORMED);
                }
                d.totalLength = end;
            } else if (d.totalLength >= 0 && end > d.totalLength) {
                kill(d);
                malformed.increment();
                return new Result.Dropped(Result.Reason.MALFORMED);
            }
            for (int i = 0; i < d.count; i++) {
                if (d.starts[i] == offset && d.ends[i] == end) {
                    duplicates.increment();
                    return new Result.Dropped(Result.Reason.DUPLICATE);
                }
                if (offset < d.ends[i] && d.starts[i] < end) {
                    kill(d);
                    overlaps.increment();
                    return new Result.Dropped(Result.Reason.OVERLAP);
                }
            }
            if (d.count == MAX_PIECES) {
                kill(d);
                malformed.increment();
                return new Result.Dropped(Result.Reason.MALFORMED);
            }
            int cost = dataLength + PIECE_OVERHEAD + (offset == 0 ? headerLength : 0);
            makeRoom(cost, d);
            if (d.count == d.starts.length) {
                int n = d.count * 2;
                d.starts = java.util.Arrays.copyOf(d.starts, n);
                d.ends = java.util.Arrays.copyOf(d.ends, n);
                d.data = java.util.Arrays.copyOf(d.data, n);
            }
            byte[] copy = new byte[dataLength];
            System.arraycopy(b, dataOffset, copy, 0, dataLength);
            d.starts[d.count] = offset;
            d.ends[d.count] = end;
            d.data[d.count] = copy;
            d.count++;
            d.received += dataLength;
            if (offset == 0) {
                d.header = new byte[headerLength];
                System.arraycopy(header, headerOffset, d.header, 0, headerLength);
            }
            d.bytes += cost;
            memory += cost;
            if (d.totalLength < 0 || d.received != d.totalLength || d.header == null) {
                return Result.PENDING;
            }
            return complete(d);
        } finally {
            lock.unlock();
        }
    }

    private static int maxEnd(Datagram d) {
        int m = 0;
        for (int i = 0; i < d.count; i++) {
            m = Math.max(m, d.ends[i]);
        }
        return m;
    }

    private Result complete(Datagram d) {
        int hl = d.header.length;
        int headroom = PacketBufferPool.DEFAULT_HEADROOM;
        PacketBuffer p = pool.acquire(headroom + hl + d.totalLength, headroom);
        byte[] a = p.array();
        int at = p.append(hl + d.totalLength);
        System.arraycopy(d.header, 0, a, at, hl);
        for (int i = 0; i < d.count; i++) {
            System.arraycopy(d.data[i], 0, a, at + hl + d.starts[i], d.data[i].length);
        }
        forget(d);
        reassembled.increment();
        return new Result.Complete(p, hl);
    }

    /** Keeps the datagram's key only to drop its later fragments; frees its data. */
    private void kill(Datagram d) {
        d.dead = true;
        memory -= d.bytes;
        d.bytes = 0;
        d.data = null;
        d.count = 0;
        d.starts = new int[0];
        d.ends = new int[0];
    }

    private void forget(Datagram d) {
        datagrams.remove(d.key);
        timers.cancel(d.timer);
        memory -= d.bytes;
        d.bytes = 0;
    }

    private void makeRoom(int cost, Datagram keep) {
        Iterator<Datagram> it = datagrams.values().iterator();
        while (memory + cost > memoryCap && it.hasNext()) {
            Datagram old = it.next();
            if (old == keep || old.bytes == 0) {
                continue;
            }
            it.remove();
            timers.cancel(old.timer);
            memory -= old.bytes;
            old.bytes = 0;
            evictions.increment();
        }
    }

    /** Drops the datagram held longest (live or remembered as discarded) to make room for a new one. */
    private void evictOldest() {
        Iterator<Datagram> it = datagrams.values().iterator();
        Datagram old = it.next();
        it.remove();
        timers.cancel(old.timer);
        memory -= old.bytes;
        old.bytes = 0;
        evictions.increment();
    }

    /** The most datagrams held at once. */
    public int maxDatagrams() {
        return maxDatagrams;
    }

    /** Bytes charged for the fragments held now (data plus per-piece overhead). */
    public int memoryInUse() {
        lock.lock();
        try {
            return memory;
        } finally {
            lock.unlock();
        }
    }

    /** Datagrams being reassembled (or remembered as discarded). */
    public int pending() {
        lock.lock();
        try {
            return datagrams.size();
        } finally {
            lock.unlock();
        }
    }

    /** Drops everything held. */
    public void clear() {
        lock.lock();
        try {
            for (Datagram d : datagrams.values()) {
                timers.cancel(d.timer);
            }
            datagrams.clear();
            memory = 0;
        } finally {
            lock.unlock();
        }
    }
}
