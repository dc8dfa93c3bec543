package dev.loomstack.tcp;

import dev.loomstack.ip.IpStack;
import dev.loomstack.link.ImpairedLink;
import dev.loomstack.link.Impairment;
import dev.loomstack.link.LinkEndpoint;
import dev.loomstack.link.LinkStats;
import dev.loomstack.link.NetworkDispatcher;
import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.IpPrefix;
import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.packet.TcpHeader;
import dev.loomstack.stack.ManualTimerService;
import dev.loomstack.stack.Stack;
import dev.loomstack.stack.Stats;
import dev.loomstack.testing.LinkSchedulers;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BooleanSupplier;

/**
 * Two Loomstack stacks joined by a simulated link in simulated time. Each direction is an
 * {@link ImpairedLink} on the manual clock (loss, duplication, reordering, corruption, delay and a
 * bottleneck, from a seeded generator) over a plain wire that hands every packet, copied into a
 * pooled buffer, straight to the other stack. Held packets are tasks on one
 * {@link ManualTimerService}, and TCP's own timers run on the same service, so the thread that
 * advances time is the one that delivers packets; a loss scenario that would take minutes of wall
 * time runs in seconds, the same way on every run.
 *
 * <pre>
 *   stack A → tap → ImpairedLink (A→B) → wire → stack B
 *   stack A ← wire ← ImpairedLink (B→A) ← tap ← stack B
 * </pre>
 *
 * <p>The taps see every packet a stack sends (before impairment) and every packet delivered; a
 * {@link PacketFilter} per direction drops or holds chosen packets at the far end of the wire for
 * deterministic scenarios. Applications either run on their own (virtual) threads and block as on a
 * real network while {@link #runUntil} moves time, or are driven step by step from the test's
 * thread ({@link SimTransfer}), which makes a whole transfer deterministic.
 */
final class SimNetwork implements AutoCloseable {
    static final IpAddress A4 = IpAddress.parse("100.64.0.1");
    static final IpAddress B4 = IpAddress.parse("100.64.0.2");
    static final IpAddress A6 = IpAddress.parse("fd7a:115c:a1e0::1");
    static final IpAddress B6 = IpAddress.parse("fd7a:115c:a1e0::2");
    static final long ONE_WAY_DELAY = Duration.ofMillis(5).toNanos();
    static final long REORDER_EXTRA = Duration.ofMillis(3).toNanos();
    static final long STEP = Duration.ofMillis(1).toNanos();

    /** Impairments as probabilities per packet, the same both ways, over {@link #ONE_WAY_DELAY}. */
    record Impair(double loss, double duplicate, double reorder, double corrupt) {
        static final Impair NONE = new Impair(0, 0, 0, 0);

        Impairment oneWay(long seed) {
            return new Impairment(loss, duplicate, reorder, corrupt, ONE_WAY_DELAY, REORDER_EXTRA, seed);
        }
    }

    /** Which way a packet travels. */
    enum Direction {
        A_TO_B, B_TO_A;

        Direction reverse() {
            return this == A_TO_B ? B_TO_A : A_TO_B;
        }
    }

    /** Told about packets on the wire, on the thread that sends or delivers them. */
    interface WireTap {
        /** A stack wrote {@code segment}; it may still be lost on the way. */
        default void sent(Direction direction, WireSegment segment, long now) {}

        /** {@code segment} reaches the other stack now. */
        default void delivered(Direction direction, WireSegment segment, long now) {}
    }

    final ManualTimerService timers = new ManualTimerService();
    final Stats statsA = new Stats();
    final Stats statsB = new Stats();
    final PacketBufferPool pool;
    /** What stack A sends passes through this: it impairs A → B. */
    final ImpairedLink linkA;
    /** What stack B sends passes through this: it impairs B → A. */
    final ImpairedLink linkB;
    final Stack stackA;
    final Stack stackB;
    final TcpProtocol tcpA;
    final TcpProtocol tcpB;
    private final Wire wireA;
    private final Wire wireB;
    private final List<WireTap> taps = new CopyOnWriteArrayList<>();
    /** The sequence number of the latest SYN sent each way (indexed by {@link Direction#ordinal()}). */
    private final Integer[] syn = new Integer[2];

    SimNetwork(int mtu, Impairment aToB, Impairment bToA, TcpSettings settings) {
        pool = PacketBufferPool.forMtu(mtu, 4096);
        wireA = new Wire("sim-a", mtu, Direction.A_TO_B);
        wireB = new Wire("sim-b", mtu, Direction.B_TO_A);
        wireA.peer = wireB;
        wireB.peer = wireA;
        linkA = new ImpairedLink(wireA, aToB, pool, LinkSchedulers.on(timers));
        linkB = new ImpairedLink(wireB, bToA, pool, LinkSchedulers.on(timers));
        stackA = IpStack.create(new Tap(linkA, Direction.A_TO_B), pool, statsA, timers);
        stackB = IpStack.create(new Tap(linkB, Direction.B_TO_A), pool, statsB, timers);
        tcpA = new TcpProtocol(stackA, settings);
        tcpB = new TcpProtocol(stackB, settings);
        stackA.registerTransport(tcpA);
        stackB.registerTransport(tcpB);
        stackA.addAddress(IpPrefix.host(A4));
        stackA.addAddress(IpPrefix.host(A6));
        stackB.addAddress(IpPrefix.host(B4));
        stackB.addAddress(IpPrefix.host(B6));
        stackA.start();
        stackB.start();
    }

    /** The same impairment both ways, each direction with its own generator. */
    SimNetwork(int mtu, Impair impair, long seed, TcpSettings settings) {
        this(mtu, impair.oneWay(seed), impair.oneWay(seed * 31 + 17), settings);
    }

    SimNetwork(Impair impair, long seed) {
        this(1500, impair, seed, TcpSettings.defaults());
    }

    /** Replaces the filter on {@code d}'s packets ({@link PacketFilter#PASS_ALL} removes it). */
    void filter(Direction d, PacketFilter f) {
        (d == Direction.A_TO_B ? wireA : wireB).filter = f;
    }

    /** Packets the filters dropped on {@code d}. */
    long filtered(Direction d) {
        return (d == Direction.A_TO_B ? wireA : wireB).filtered.sum();
    }

    void tap(WireTap t) {
        taps.add(t);
    }

    long now() {
        return timers.clock().nanoTime();
    }

    /** Advances simulated time in small steps until {@code done} holds or either limit passes. */
    void runUntil(BooleanSupplier done, Duration simulatedLimit, Duration wallLimit) {
        long simEnd = timers.clock().nanoTime() + simulatedLimit.toNanos();
        long wallEnd = System.nanoTime() + wallLimit.toNanos();
        while (!done.getAsBoolean()) {
            if (timers.clock().nanoTime() > simEnd) {
                throw new AssertionError("not done within " + simulatedLimit + " of simulated time");
            }
            if (System.nanoTime() > wallEnd) {
                throw new AssertionError("not done within " + wallLimit + " of wall time");
            }
            timers.advanceNanos(STEP);
            // Let application threads react before time moves on.
            Thread.yield();
        }
    }

    @Override
    public void close() {
        tcpA.close();
        tcpB.close();
        linkA.close();
        linkB.close();
    }

    /** Notes the SYNs that make stream offsets, and shows taps what a stack sends, before impairment. */
    private final class Tap implements LinkEndpoint {
        private final ImpairedLink next;
        private final Direction direction;
        private final WireSegment segment = new WireSegment();

        Tap(ImpairedLink next, Direction direction) {
            this.next = next;
            this.direction = direction;
        }

        @Override
        public int mtu() {
            return next.mtu();
        }

        @Override
        public String name() {
            return next.name();
        }

        @Override
        public void start(NetworkDispatcher dispatcher) {
            next.start(dispatcher);
        }

        @Override
        public boolean writePacket(PacketBuffer packet) {
            synchronized (this) {
                Integer own = syn[direction.ordinal()];
                segment.parse(packet.array(), packet.start(), packet.length(), own, syn[direction.reverse().ordinal()]);
                if (segment.tcp() && segment.has(TcpHeader.SYN)) {
                    syn[direction.ordinal()] = segment.seq();
                    segment.parse(packet.array(), packet.start(), packet.length(), segment.seq(),
                            syn[direction.reverse().ordinal()]);
                }
                for (WireTap t : taps) {
                    t.sent(direction, segment, now());
                }
            }
            return next.writePacket(packet);
        }

        @Override
        public LinkStats stats() {
            return next.stats();
        }

        @Override
        public void close() {
            next.close();
        }
    }

    /**
     * The far end of one direction: applies the scenario's filter, then copies each packet into a
     * pooled buffer and hands it to the peer stack's dispatcher on the calling (time-advancing) thread.
     */
    private final class Wire implements LinkEndpoint {
        private record Held(long until, PacketBuffer packet) {}

        private final String name;
        private final int mtu;
        private final Direction direction;
        private final LinkStats stats = new LinkStats();
        private final WireSegment segment = new WireSegment();
        private final ArrayDeque<Held> held = new ArrayDeque<>();
        final LongAdder filtered = new LongAdder();
        volatile PacketFilter filter = PacketFilter.PASS_ALL;
        Wire peer;
        private volatile NetworkDispatcher dispatcher;

        Wire(String name, int mtu, Direction direction) {
            this.name = name;
            this.mtu = mtu;
            this.direction = direction;
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
        public void start(NetworkDispatcher d) {
            dispatcher = d;
        }

        @Override
        public boolean writePacket(PacketBuffer packet) {
            stats.packetsWritten.increment();
            stats.bytesWritten.add(packet.length());
            long now = now();
            synchronized (this) {
                PacketFilter.Verdict v = filter.judge(parse(packet), now);
                if (v.drop()) {
                    filtered.increment();
                    packet.release();
                    return true;
                }
                long until = Math.max(now, v.holdUntilNanos());
                if (until > now || !held.isEmpty()) {
                    // Behind a held packet everything waits, so a spike never reorders.
                    held.add(new Held(until, packet));
                    if (until > now) {
                        timers.scheduleAt(until, this::releaseHeld);
                    }
                    return true;
                }
                deliver(packet, now);
            }
            return true;
        }

        private WireSegment parse(PacketBuffer p) {
            return segment.parse(p.array(), p.start(), p.length(), syn[direction.ordinal()],
                    syn[direction.reverse().ordinal()]);
        }

        private synchronized void releaseHeld() {
            long now = now();
            Held h;
            while ((h = held.peek()) != null && h.until() <= now) {
                held.poll();
                deliver(h.packet(), now);
            }
        }

        /** Called holding this wire's monitor: one packet at a time, in order. */
        private void deliver(PacketBuffer packet, long now) {
            NetworkDispatcher d = peer.dispatcher;
            int len = packet.length();
            int headroom = PacketBufferPool.DEFAULT_HEADROOM;
            PacketBuffer copy = pool.acquire(len + headroom, headroom);
            System.arraycopy(packet.array(), packet.start(), copy.array(), copy.append(len), len);
            packet.release();
            if (!taps.isEmpty()) {
                parse(copy);
                for (WireTap t : taps) {
                    t.delivered(direction, segment, now);
                }
            }
            peer.stats.packetsRead.increment();
            peer.stats.bytesRead.add(len);
            try {
                if (d != null) {
                    d.deliverNetworkPacket(copy);
                }
            } finally {
                copy.release();
            }
        }

        @Override
        public LinkStats stats() {
            return stats;
        }

        @Override
        public synchronized void close() {
            Held h;
            while ((h = held.poll()) != null) {
                h.packet().release();
            }
        }
    }
}
