package dev.loomstack.engine;

import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/** The forwarded flows now open, for operators (the REST API's flow list). */
public final class FlowRegistry {
    private final ConcurrentHashMap<Long, Entry> open = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();
    private final Clock clock;
    private final java.util.concurrent.locks.ReentrantLock lock = new java.util.concurrent.locks.ReentrantLock();
    private final java.util.concurrent.locks.Condition changed = lock.newCondition();

    public FlowRegistry(Clock clock) {
        this.clock = clock;
    }

    /** One open flow; counts bytes and leaves the registry when closed. */
    public final class Entry implements AutoCloseable {
        final long id;
        final FlowInfo.Protocol protocol;
        final InetSocketAddress client;
        final InetSocketAddress destination;
        final Instant opened;
        final LongAdder fromClient = new LongAdder();
        final LongAdder toClient = new LongAdder();
        volatile String state = "dialing";

        Entry(long id, FlowInfo.Protocol protocol, InetSocketAddress client, InetSocketAddress destination) {
            this.id = id;
            this.protocol = protocol;
            this.client = client;
            this.destination = destination;
            this.opened = clock.instant();
        }

        public void state(String s) {
            state = s;
        }

        public void bytesFromClient(int n) {
            fromClient.add(n);
        }

        public void bytesToClient(int n) {
            toClient.add(n);
        }

        FlowInfo info() {
            return new FlowInfo(id, protocol, client, destination, state, fromClient.sum(), toClient.sum(), opened);
        }

        @Override
        public void close() {
            if (open.remove(id, this)) {
                lock.lock();
                try {
                    changed.signalAll();
                } finally {
                    lock.unlock();
                }
            }
        }
    }

    public Entry open(FlowInfo.Protocol protocol, InetSocketAddress client, InetSocketAddress destination) {
        Entry e = new Entry(ids.incrementAndGet(), protocol, client, destination);
        open.put(e.id, e);
        return e;
    }

    /** Flows opened so far (the ids handed out). */
    public long opened() {
        return ids.get();
    }

    public int size() {
        return open.size();
    }

    /** Waits until no flow is open or {@code timeout} passes; returns the number still open. */
    public int awaitEmpty(java.time.Duration timeout) throws InterruptedException {
        long left = timeout.toNanos();
        lock.lock();
        try {
            while (!open.isEmpty() && left > 0) {
                left = changed.awaitNanos(left);
            }
            return open.size();
        } finally {
            lock.unlock();
        }
    }

    /** Every open flow, oldest first. */
    public List<FlowInfo> snapshot() {
        List<FlowInfo> out = new ArrayList<>(open.size());
        for (Entry e : open.values()) {
            out.add(e.info());
        }
        out.sort(Comparator.comparingLong(FlowInfo::id));
        return out;
    }
}
