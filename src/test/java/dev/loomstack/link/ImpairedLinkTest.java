package dev.loomstack.link;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.packet.Bytes;
import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.stack.ManualTimerService;
import dev.loomstack.testing.Await;
import dev.loomstack.testing.LinkSchedulers;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

class ImpairedLinkTest {
    private static final int N = 2000;
    private final PacketBufferPool pool = PacketBufferPool.forMtu(1500, 256);

    private List<Integer> send(Impairment imp, ImpairedLink[] out) {
        List<Integer> got = new CopyOnWriteArrayList<>();
        MemoryLink.Pair pair = MemoryLink.pair(1500, 4096);
        pair.b().start(b -> got.add(Bytes.i32(b.array(), b.start())));
        ImpairedLink link = new ImpairedLink(pair.a(), imp, pool);
        out[0] = link;
        link.start(b -> {});
        for (int i = 0; i < N; i++) {
            PacketBuffer b = pool.acquire();
            Bytes.put32(b.array(), b.append(64), i);
            link.writePacket(b);
        }
        long expected = N - link.lost.sum() + link.duplicated.sum();
        Await.until(Duration.ofSeconds(10), "delivery of " + expected, () -> got.size() == expected);
        link.close();
        pair.close();
        return got;
    }

    @Test
    void noImpairmentPassesEverythingInOrder() {
        ImpairedLink[] l = new ImpairedLink[1];
        List<Integer> got = send(Impairment.none(1), l);
        assertEquals(N, got.size());
        for (int i = 0; i < N; i++) {
            assertEquals(i, got.get(i));
        }
    }

    @Test
    void lossAndDuplicationFollowTheirProbabilitiesAndTheSeed() {
        ImpairedLink[] l = new ImpairedLink[1];
        List<Integer> first = send(Impairment.loss(0.1, 42).withDuplicate(0.05), l);
        long lost = l[0].lost.sum();
        long dup = l[0].duplicated.sum();
        assertTrue(lost > N * 0.06 && lost < N * 0.14, "lost " + lost);
        assertTrue(dup > N * 0.02 && dup < N * 0.09, "duplicated " + dup);
        List<Integer> again = send(Impairment.loss(0.1, 42).withDuplicate(0.05), l);
        assertEquals(first, again, "the same seed gives the same run");
    }

    @Test
    void reorderingLetsLaterPacketsOvertake() {
        ImpairedLink[] l = new ImpairedLink[1];
        List<Integer> got = send(Impairment.none(7).withReorder(0.05), l);
        assertEquals(N, got.size());
        assertTrue(l[0].reordered.sum() > 0);
        assertNotEquals(got.stream().sorted().toList(), got, "some packets arrive out of order");
    }

    @Test
    void corruptionFlipsBitsInCountedPackets() {
        ImpairedLink[] l = new ImpairedLink[1];
        List<Integer> got = send(Impairment.none(3).withCorrupt(1.0), l);
        // Every packet has one flipped bit somewhere in its 64 bytes; the first word often shows it.
        assertEquals(N, l[0].corrupted.sum());
        assertEquals(N, got.size());
    }

    @Test
    void probabilitiesAreValidated() {
        assertThrows(IllegalArgumentException.class, () -> Impairment.loss(1.5, 1));
        assertThrows(IllegalArgumentException.class, () -> Impairment.loss(Double.NaN, 1));
    }

    @Test
    void bottleneckSettingsAreValidated() {
        Impairment none = Impairment.none(1);
        assertThrows(IllegalArgumentException.class, () -> none.withBottleneck(0, Impairment.UNLIMITED_QUEUE));
        assertThrows(IllegalArgumentException.class, () -> none.withBottleneck(-8, Impairment.UNLIMITED_QUEUE));
        assertThrows(IllegalArgumentException.class, () -> none.withBottleneck(1_000_000, -1));
        assertThrows(IllegalArgumentException.class,
                () -> new Impairment(0, 0, 0, 0, 0, 0, false, 1, Impairment.NO_BOTTLENECK, 10_000),
                "a queue limit without a rate has no queue to limit");
        assertThrows(IllegalArgumentException.class, () -> none.withReorderUpTo(0.1, 0),
                "a random extra needs an upper bound");
        assertEquals(1_000_000, none.withBottleneck(8_000_000, 3000).serialisationNanos(1000), "1000 B at 8 Mbit/s");
        assertEquals(0, none.serialisationNanos(1000), "no bottleneck, no serialisation");
    }

    @Test
    void realTimeBottleneckDeliversEverythingInOrder() {
        ImpairedLink[] l = new ImpairedLink[1];
        // 2000 packets of 64 bytes at 50 Mbit/s: about 20 ms of serialisation.
        List<Integer> got = send(Impairment.none(5).withBottleneck(50_000_000, Impairment.UNLIMITED_QUEUE), l);
        assertEquals(N, got.size());
        for (int i = 0; i < N; i++) {
            assertEquals(i, got.get(i));
        }
    }

    // ---- the manual clock: packets move only when simulated time does --------------------------

    /** Written packets as (tag, arrival time on the manual clock). */
    private record Arrival(int tag, long at) {}

    /** The far end of a manually clocked link: notes what arrives and when, on the caller's thread. */
    private static final class Arrivals implements LinkEndpoint {
        final List<Arrival> got = new ArrayList<>();
        private final ManualTimerService timers;
        private final LinkStats stats = new LinkStats();

        Arrivals(ManualTimerService timers) {
            this.timers = timers;
        }

        @Override
        public int mtu() {
            return 1500;
        }

        @Override
        public String name() {
            return "arrivals";
        }

        @Override
        public void start(NetworkDispatcher dispatcher) {}

        @Override
        public synchronized boolean writePacket(PacketBuffer packet) {
            got.add(new Arrival(Bytes.i32(packet.array(), packet.start()), timers.clock().nanoTime()));
            packet.release();
            return true;
        }

        synchronized List<Arrival> take() {
            List<Arrival> out = List.copyOf(got);
            got.clear();
            return out;
        }

        @Override
        public LinkStats stats() {
            return stats;
        }

        @Override
        public void close() {}
    }

    private static final long MS = 1_000_000;

    private void write(ImpairedLink link, int tag, int size) {
        PacketBuffer b = pool.acquire();
        b.append(size);
        Bytes.put32(b.array(), b.start(), tag);
        link.writePacket(b);
    }

    private static long impairedThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals("arrivals-impaired")).count();
    }

    @Test
    void manualClockHoldsPacketsUntilSimulatedTimeReachesThem() {
        ManualTimerService timers = new ManualTimerService();
        Arrivals far = new Arrivals(timers);
        ImpairedLink link = new ImpairedLink(far, Impairment.none(1).withDelay(10 * MS), pool,
                LinkSchedulers.on(timers));
        assertEquals(0, impairedThreads(), "no thread of the link's own");
        for (int i = 0; i < 3; i++) {
            write(link, i, 100);
        }
        assertEquals(3, timers.pending(), "each held packet is a task on the timer service");
        timers.advanceNanos(10 * MS - 1);
        assertEquals(List.of(), far.take(), "nothing arrives before the delay has passed in simulated time");
        timers.advanceNanos(1);
        assertEquals(List.of(new Arrival(0, 10 * MS), new Arrival(1, 10 * MS), new Arrival(2, 10 * MS)), far.take(),
                "all three at 10 ms, in the order written");
        link.close();
        write(link, 9, 100);
        timers.advanceNanos(20 * MS);
        assertEquals(List.of(), far.take(), "a closed link carries nothing");
    }

    /** A link and every packet that came out of it. */
    private record SpacedRun(ImpairedLink link, List<Arrival> arrivals) {}

    /**
     * Writes {@code count} 100-byte packets tagged 0.. through a link with {@code impairment} on a
     * manual clock, one every 0.1 ms, then lets 20 ms pass; all of them must have arrived.
     */
    private SpacedRun spacedRun(Impairment impairment, int count) {
        ManualTimerService timers = new ManualTimerService();
        Arrivals far = new Arrivals(timers);
        ImpairedLink link = new ImpairedLink(far, impairment, pool, LinkSchedulers.on(timers));
        for (int i = 0; i < count; i++) {
            write(link, i, 100);
            timers.advanceNanos(MS / 10);
        }
        timers.advanceNanos(20 * MS);
        List<Arrival> got = far.take();
        assertEquals(count, got.size());
        return new SpacedRun(link, got);
    }

    @Test
    void manualClockReorderingIsRepeatableAndLetsLaterPacketsOvertake() {
        List<List<Arrival>> runs = new ArrayList<>();
        for (int run = 0; run < 2; run++) {
            SpacedRun r = spacedRun(Impairment.none(11).withDelay(5 * MS).withReorder(0.1, 3 * MS), 200);
            List<Arrival> got = r.arrivals();
            assertTrue(r.link().reordered.sum() > 0);
            for (Arrival a : got) {
                long sent = a.tag() * (MS / 10);
                long late = a.at() - sent;
                assertTrue(late == 5 * MS || late == 8 * MS, "held the delay, or the delay and the reordering extra: " + a);
            }
            assertNotEquals(got.stream().sorted((x, y) -> Integer.compare(x.tag(), y.tag())).toList(), got,
                    "later packets overtake reordered ones");
            runs.add(got);
        }
        assertEquals(runs.get(0), runs.get(1), "the same seed and clock give the same run");
    }

    @Test
    void uniformReorderingHoldsEachReorderedPacketARandomExtraUpToTheBound() {
        SpacedRun r = spacedRun(Impairment.none(13).withDelay(5 * MS).withReorderUpTo(0.2, 3 * MS), 500);
        List<Arrival> got = r.arrivals();
        ImpairedLink link = r.link();
        java.util.Set<Long> extras = new java.util.TreeSet<>();
        for (Arrival a : got) {
            long extra = a.at() - a.tag() * (MS / 10) - 5 * MS;
            assertTrue(extra >= 0 && extra <= 3 * MS, "within (0, 3 ms] or none: " + a);
            if (extra > 0) {
                extras.add(extra);
            }
        }
        assertEquals(link.reordered.sum(), got.stream().filter(a -> a.at() - a.tag() * (MS / 10) > 5 * MS).count());
        assertTrue(extras.size() > 10, "extras spread over the range: " + extras.size());
        assertTrue(extras.stream().anyMatch(e -> e < MS) && extras.stream().anyMatch(e -> e > 2 * MS),
                "some held briefly, some long");
    }

    @Test
    void bottleneckSerialisesPacketsOneAfterAnother() {
        ManualTimerService timers = new ManualTimerService();
        Arrivals far = new Arrivals(timers);
        // 8 Mbit/s: a 1000-byte packet takes 1 ms to leave; then 2 ms on the wire.
        ImpairedLink link = new ImpairedLink(far,
                Impairment.none(1).withDelay(2 * MS).withBottleneck(8_000_000, Impairment.UNLIMITED_QUEUE), pool,
                LinkSchedulers.on(timers));
        for (int i = 0; i < 5; i++) {
            write(link, i, 1000);
        }
        timers.advanceNanos(20 * MS);
        assertEquals(List.of(new Arrival(0, 3 * MS), new Arrival(1, 4 * MS), new Arrival(2, 5 * MS),
                new Arrival(3, 6 * MS), new Arrival(4, 7 * MS)), far.take(), "departures 1 ms apart, each then 2 ms late");
        write(link, 5, 500);
        timers.advanceNanos(10 * MS);
        assertEquals(List.of(new Arrival(5, 20 * MS + MS / 2 + 2 * MS)), far.take(),
                "an idle bottleneck starts at once: 0.5 ms for 500 bytes, then the delay");
        assertEquals(0, link.tailDropped.sum());
    }

    @Test
    void fullBottleneckQueueDropsTheTailAndCountsIt() {
        ManualTimerService timers = new ManualTimerService();
        Arrivals far = new Arrivals(timers);
        // 1 ms per 1000-byte packet; at most 3000 bytes may wait, the arriving packet included.
        ImpairedLink link = new ImpairedLink(far, Impairment.none(1).withBottleneck(8_000_000, 3000), pool,
                LinkSchedulers.on(timers));
        for (int i = 0; i < 10; i++) {
            write(link, i, 1000);
        }
        assertEquals(7, link.tailDropped.sum(), "three fit, the seven behind them are dropped");
        assertEquals(0, link.lost.sum(), "tail drops are not random loss");
        timers.advanceNanos(MS + MS / 2);
        // The queue now holds the rest of packet 1 and all of packet 2: 1500 bytes, so 1000 more fit.
        write(link, 10, 1000);
        write(link, 11, 1000);
        assertEquals(8, link.tailDropped.sum(), "the second of the two does not fit");
        timers.advanceNanos(10 * MS);
        assertEquals(List.of(new Arrival(0, MS), new Arrival(1, 2 * MS), new Arrival(2, 3 * MS), new Arrival(10, 4 * MS)),
                far.take());
    }

    // ---- segmentation offload: super-segments cut before the impairments ------------------------

    /** The far end of an offload run: keeps a copy of every packet, refuses any larger than its MTU. */
    private static final class Wire implements LinkEndpoint {
        static final int MTU = 1280;
        final List<byte[]> got = new ArrayList<>();
        private final LinkStats stats = new LinkStats();

        @Override
        public int mtu() {
            return MTU;
        }

        @Override
        public String name() {
            return "wire";
        }

        @Override
        public void start(NetworkDispatcher dispatcher) {}

        @Override
        public synchronized boolean writePacket(PacketBuffer packet) {
            if (packet.length() > MTU || packet.segmentSize() > 0 || packet.checksumPartial()) {
                stats.dropped.increment();
            } else {
                got.add(packet.toByteArray());
            }
            packet.release();
            return true;
        }

        @Override
        public LinkStats stats() {
            return stats;
        }

        @Override
        public void close() {}
    }

    private ImpairedLink offloading(Wire far, Impairment impairment) {
        return new ImpairedLink(far, impairment, PacketBufferPool.forMtu(Wire.MTU, 256),
                LinkSchedulers.on(new ManualTimerService())).withSegmentationOffload();
    }

    @Test
    void offloadIsOfferedOnlyWhenAsked() {
        Wire far = new Wire();
        ImpairedLink plain = new ImpairedLink(far, Impairment.none(1), pool, LinkSchedulers.on(new ManualTimerService()));
        assertEquals(0, plain.maxOffloadSize(), "by default the link takes what its inner link takes: no offload");
        assertEquals(65535, offloading(far, Impairment.none(1)).maxOffloadSize());
    }

    @Test
    void superSegmentsAreCutIntoMtuPacketsThatAddUpToTheOriginal() {
        Wire far = new Wire();
        ImpairedLink link = offloading(far, Impairment.none(1));
        int mss = 1208;
        TcpPackets.Builder v4 = TcpPackets.v4().payload(30 * mss + 5);
        TcpPackets.Builder v6 = TcpPackets.v6().payload(20 * mss);
        assertTrue(link.writePacket(v4.superSegment(mss)));
        assertTrue(link.writePacket(v6.superSegment(mss)));
        TcpPackets.Builder small = TcpPackets.v4().ports(1, 2).payload(100);
        assertTrue(link.writePacket(small.superSegment(mss)));

        assertEquals(31 + 20 + 1, far.got.size());
        assertEquals(0, far.stats().dropped.sum(), "every packet fits the inner link's MTU, checksum complete");
        assertEquals(3, link.superSegmentsCut.sum());
        for (byte[] p : far.got) {
            assertTrue(TcpPackets.tcpChecksumValid(p));
        }
        List<byte[]> merged = new ArrayList<>();
        TcpCoalescer gro = new TcpCoalescer(new LinkStats());
        for (byte[] p : far.got) {
            gro.add(PacketBuffer.copyOf(p, 0), d -> merged.add(d.toByteArray()));
        }
        gro.flush(d -> merged.add(d.toByteArray()));
        assertEquals(3, merged.size());
        assertArrayEquals(v4.bytes(), merged.get(0));
        assertArrayEquals(v6.bytes(), merged.get(1));
        assertArrayEquals(small.bytes(), merged.get(2));
    }

    @Test
    void lossStrikesEachMtuPacketOfASuperSegmentOnItsOwn() {
        Wire far = new Wire();
        ImpairedLink link = offloading(far, Impairment.loss(0.1, 42));
        int mss = 1000;
        int perSuperSegment = 20;
        int superSegments = 100;
        int partlyLost = 0;
        for (int i = 0; i < superSegments; i++) {
            int before = far.got.size();
            link.writePacket(TcpPackets.v4().seq(i * perSuperSegment * mss).payload(perSuperSegment * mss)
                    .superSegment(mss));
            int arrived = far.got.size() - before;
            if (arrived > 0 && arrived < perSuperSegment) {
                partlyLost++;
            }
        }
        long lost = link.lost.sum();
        assertEquals(superSegments * perSuperSegment, far.got.size() + lost, "each MTU packet arrives or is lost");
        assertTrue(lost > 140 && lost < 260, "about 10 % of 2000 packets lost: " + lost);
        assertTrue(partlyLost > 50, "super-segments lose some of their packets, not all or none: " + partlyLost);
    }

    @Test
    void aMarkedPacketThatCannotBeCutIsDroppedAndCounted() {
        Wire far = new Wire();
        ImpairedLink link = offloading(far, Impairment.none(1));
        byte[] notTcp = TcpPackets.v4().payload(3000).bytes();
        notTcp[9] = 1;
        link.writePacket(PacketBuffer.copyOf(notTcp, 0).segmentSize(1000));
        assertEquals(1, link.uncuttable.sum());
        assertEquals(1, far.stats().dropped.sum());
        assertTrue(far.got.isEmpty());
    }
}
