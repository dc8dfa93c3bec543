package dev.loomstack.tcp;

import dev.loomstack.ip.IpStack;
import dev.loomstack.link.LinkEndpoint;
import dev.loomstack.link.LinkStats;
import dev.loomstack.link.NetworkDispatcher;
import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.IpPrefix;
import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.stack.ManualTimerService;
import dev.loomstack.stack.Stack;
import dev.loomstack.stack.Stats;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BooleanSupplier;

/**
 * Two Loomstack stacks joined by a simulated link in simulated time: every packet is delivered by
 * a task on one {@link ManualTimerService} after a one-way delay, after a seeded generator has
 * decided whether to drop, duplicate, reorder or corrupt it. TCP's own timers run on the same
 * service, so a loss scenario that would take minutes of wall time runs in seconds, and the
 * network's behaviour is the same on every run. Applications run on their own (virtual) threads
 * and block as they would on a real network; {@link #runUntil} moves time.
 */
final class SimNetwork implements AutoCloseable {
    static final IpAddress A4 = IpAddress.parse("100.64.0.1");
    static final IpAddress B4 = IpAddress.parse("100.64.0.2");
    static final IpAddress A6 = IpAddress.parse("fd7a:115c:a1e0::1");
    static final IpAddress B6 = IpAddress.parse("fd7a:115c:a1e0::2");
    static final long ONE_WAY_DELAY = Duration.ofMillis(5).toNanos();
    static final long REORDER_EXTRA = Duration.ofMillis(3).toNanos();
    static final long STEP = Duration.ofMillis(1).toNanos();

    /** Impairments as probabilities per packet. */
    record Impair(double loss, double duplicate, double reorder, double corrupt) {
        static final Impair NONE = new Impair(0, 0, 0, 0);
    }

    final ManualTimerService timers = new ManualTimerService();
    final Stats statsA = new Stats();
    final Stats statsB = new Stats();
    final PacketBufferPool pool;
    final SimLink linkA;
    final SimLink linkB;
    final Stack stackA;
    final Stack stackB;
    final TcpProtocol tcpA;
    final TcpProtocol tcpB;

    SimNetwork(int mtu, Impair impair, long seed, TcpSettings settings) {
        pool = PacketBufferPool.forMtu(mtu, 4096);
        Random random = new Random(seed);
        linkA = new SimLink("sim-a", mtu, impair, random);
        linkB = new SimLink("sim-b", mtu, impair, random);
        linkA.peer = linkB;
        linkB.peer = linkA;
        stackA = IpStack.create(linkA, pool, statsA, timers);
        stackB = IpStack.create(linkB, pool, statsB, timers);
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

    SimNetwork(Impair impair, long seed) {
        this(1500, impair, seed, TcpSettings.defaults());
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
    }

    /** A link whose packets reach the peer through timer tasks. */
    final class SimLink implements LinkEndpoint {
        private final String name;
        private final int mtu;
        private final Impair impair;
        private final Random random;
        private final LinkStats stats = new LinkStats();
        final LongAdder lost = new LongAdder();
        final LongAdder duplicated = new LongAdder();
        final LongAdder reordered = new LongAdder();
        final LongAdder corrupted = new LongAdder();
        SimLink peer;
        private volatile NetworkDispatcher dispatcher;
        private volatile boolean down;

        SimLink(String name, int mtu, Impair impair, Random random) {
            this.name = name;
            this.mtu = mtu;
            this.impair = impair;
            this.random = random;
        }

        /** Stops carrying packets in both directions (a cut cable). */
        void setDown(boolean d) {
            down = d;
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
            byte[] bytes = packet.toByteArray();
            packet.release();
            stats.packetsWritten.increment();
            if (down || peer.down) {
                lost.increment();
                return true;
            }
            boolean drop;
            boolean dup;
            boolean reorder;
            boolean corrupt;
            int corruptAt;
            synchronized (random) {
                drop = random.nextDouble() < impair.loss();
                dup = random.nextDouble() < impair.duplicate();
                reorder = random.nextDouble() < impair.reorder();
                corrupt = random.nextDouble() < impair.corrupt();
                corruptAt = random.nextInt(bytes.length * 8);
            }
            if (drop) {
                lost.increment();
                return true;
            }
            if (corrupt) {
                corrupted.increment();
                bytes[corruptAt / 8] ^= (byte) (1 << (corruptAt % 8));
            }
            long delay = ONE_WAY_DELAY + (reorder ? REORDER_EXTRA : 0);
            if (reorder) {
                reordered.increment();
            }
            timers.scheduleAfter(delay, () -> peer.deliver(bytes));
            if (dup) {
                duplicated.increment();
                timers.scheduleAfter(delay + 1000, () -> peer.deliver(bytes));
            }
            return true;
        }

        private void deliver(byte[] bytes) {
            NetworkDispatcher d = dispatcher;
            if (d != null) {
                PacketBuffer b = pool.acquire(bytes.length + PacketBufferPool.DEFAULT_HEADROOM,
                        PacketBufferPool.DEFAULT_HEADROOM);
                System.arraycopy(bytes, 0, b.array(), b.append(bytes.length), bytes.length);
                try {
                    d.deliverNetworkPacket(b);
                } finally {
                    b.release();
                }
            }
        }

        @Override
        public LinkStats stats() {
            return stats;
        }

        @Override
        public void close() {}
    }
}
