package dev.loomstack.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.link.Impairment;
import dev.loomstack.stack.Stats;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Loomstack's TCP sender under loss, reordering and delay spikes, simulated: two Loomstack stacks
 * on {@link dev.loomstack.link.ImpairedLink} with the manual clock ({@link SimNetwork}), a fixed
 * 20 ms round trip, a 100 Mbit/s bottleneck each way with a queue of two bandwidth-delay products,
 * MTU 1280 (as Tailscale's). B sends, A receives ({@link SimTransfer}); every transfer is checked
 * byte for byte and ends with the FIN. Runs are deterministic: a seeded generator per direction
 * and no other thread once the connection is open.
 *
 * <p>What is asserted is what RFC 8985 (RACK-TLP), RFC 6937 (PRR) and RFC 2883/3708/5682 (DSACK,
 * undo) promise: goodput near the Mathis model under random loss, a lost retransmission repaired
 * without a retransmission timeout, no retransmission storm from reordering alone, and a spurious
 * timeout undone. {@code -Dloomstack.trace=true} prints a {@link SimTrace} of each sender.
 */
class TcpLossRecoveryTest {
    static final int MTU = 1280;
    static final long RTT_NANOS = Duration.ofMillis(20).toNanos();
    static final long RATE_BITS = 100_000_000;
    /** 100 Mbit/s × 20 ms = 250,000 bytes. */
    static final long BDP_BYTES = RATE_BITS / 8 * RTT_NANOS / 1_000_000_000L;
    static final long QUEUE_BYTES = 2 * BDP_BYTES;
    /**
     * The receive window is capped at about two BDPs, so even a clean slow start cannot fill the
     * bottleneck's queue: every loss in these tests is one the test made.
     */
    static final TcpSettings SETTINGS = TcpSettings.defaults()
            .withBuffers(TcpSettings.DEFAULT_SEND_BUFFER, TcpSettings.DEFAULT_RECEIVE_BUFFER_INITIAL, 512 << 10);
    static final int MIB = 1 << 20;
    /** The Mathis et al. constant for periodic loss with an ACK per segment: sqrt(3/2). */
    static final double MATHIS_C = Math.sqrt(1.5);
    /**
     * The share of min(clean goodput, Mathis rate) a sender must keep under random loss. Linux's
     * RACK-TLP/PRR/CUBIC sender lands near the Mathis rate (CUBIC's TCP-friendly region is
     * Reno-like at these windows); half of it leaves room for delayed ACKs (C falls to about 0.87
     * with one ACK per two segments) and for the odd timeout at 5 %, and still fails a sender
     * that waits out timeouts for its losses.
     */
    static final double REQUIRED_SHARE = 0.5;
    private static final Duration WALL_LIMIT = Duration.ofSeconds(20);

    private static double cleanGoodput = -1;

    /** One way: half the round trip, behind the bottleneck. */
    static Impairment oneWay(long seed) {
        return Impairment.none(seed).withDelay(RTT_NANOS / 2).withBottleneck(RATE_BITS, QUEUE_BYTES);
    }

    static SimNetwork network(Impairment aToB, Impairment bToA) {
        return new SimNetwork(MTU, aToB, bToA, SETTINGS);
    }

    /** Goodput of {@code size} bytes on the clean link, measured once. */
    static synchronized double cleanGoodput() throws Exception {
        if (cleanGoodput < 0) {
            try (SimNetwork net = network(oneWay(1), oneWay(2))) {
                SimTransfer t = SimTransfer.open(net, 16 * MIB);
                t.run(Duration.ofSeconds(30), WALL_LIMIT);
                cleanGoodput = t.goodputBitsPerSecond();
                assertEquals(0, t.senderStats().retransmits.value(), "the clean link loses nothing");
                t.close();
            }
        }
        return cleanGoodput;
    }

    // ---- (a) random loss: goodput against the Mathis model -----------------------------------

    /**
     * Loss {@code p} on every packet both ways (data and ACKs, as the benchmark's nftables rule does).
     * The Mathis model (Mathis, Semke, Mahdavi, Ott 1997) bounds a loss-based sender's rate:
     * <pre>
     *   rate ≈ (MSS / RTT) · C / √p,   C = √(3/2) ≈ 1.22,  MSS = 1228 B (1280 − 40 − 12 for timestamps)
     *   MSS / RTT = 1228 · 8 bit / 20 ms = 491 kbit/s
     *   p = 1 %: 491 k · 1.22 / 0.100 = 5.99 Mbit/s
     *   p = 2 %: 491 k · 1.22 / 0.141 = 4.24 Mbit/s
     *   p = 5 %: 491 k · 1.22 / 0.224 = 2.69 Mbit/s
     * </pre>
     * all far under the clean link's ~90 Mbit/s, so the bar is {@value #REQUIRED_SHARE} × the Mathis rate.
     */
    private void keepsTheMathisShare(double p, long size, long seed) throws Exception {
        keepsTheMathisShare(p, size, RTT_NANOS, cleanGoodput(),
                network(oneWay(seed).withLoss(p), oneWay(seed + 1).withLoss(p)));
    }

    private void keepsTheMathisShare(double p, long size, long rttNanos, double clean, SimNetwork network)
            throws Exception {
        try (SimNetwork net = network) {
            SimTransfer t = SimTransfer.open(net, size);
            SimTrace trace = SimTrace.of(t);
            double mathis = t.sender.snapshot().sendMss() * 8e9 / rttNanos * MATHIS_C / Math.sqrt(p);
            double required = REQUIRED_SHARE * Math.min(clean, mathis);
            // A sender at exactly the required rate would need this long; give it twice that, then stop.
            Duration limit = Duration.ofNanos((long) (2 * size * 8e9 / required));
            try {
                t.run(limit, WALL_LIMIT);
            } finally {
                trace.printIfEnabled(String.format("%.0f %% loss each way", p * 100));
            }
            double goodput = t.goodputBitsPerSecond();
            String figures = String.format("%.0f %% loss: goodput %.2f Mbit/s = %.2f × Mathis (%.2f Mbit/s), "
                            + "%.3f × clean (%.1f Mbit/s); %s", p * 100, goodput / 1e6, goodput / mathis, mathis / 1e6,
                    goodput / clean, clean / 1e6, t.progress());
            System.out.println(figures);
            assertTrue(goodput >= required, "goodput below " + REQUIRED_SHARE + " × min(clean, Mathis): " + figures);
            t.close();
        }
    }

    @Test
    void onePercentLossKeepsHalfTheMathisRate() throws Exception {
        keepsTheMathisShare(0.01, 6 * MIB, 101);
    }

    @Test
    void twoPercentLossKeepsHalfTheMathisRate() throws Exception {
        keepsTheMathisShare(0.02, 6 * MIB, 201);
    }

    @Test
    void fivePercentLossKeepsHalfTheMathisRate() throws Exception {
        keepsTheMathisShare(0.05, 4 * MIB, 501);
    }

    /**
     * The path the benchmark measures: a sub-millisecond round trip (200 µs) at 1 Gbit/s. Here one
     * retransmission timeout (at least 200 ms) costs a thousand round trips, so a sender that
     * leaves a lost repair or a lost tail to the timer falls far below the model:
     * <pre>
     *   MSS / RTT = 1228 · 8 bit / 200 µs = 49.1 Mbit/s
     *   p = 2 %: 49.1 M · 1.22 / 0.141 = 425 Mbit/s
     *   p = 5 %: 49.1 M · 1.22 / 0.224 = 269 Mbit/s
     * </pre>
     * The queue is unbounded, so that the only losses are the random ones; with windows of a few
     * dozen segments under this loss it stays short.
     */
    private void keepsTheMathisShareOnAFastPath(double p, long seed) throws Exception {
        Impairment oneWay = Impairment.none(seed).withDelay(FAST_RTT_NANOS / 2)
                .withBottleneck(FAST_RATE_BITS, Impairment.UNLIMITED_QUEUE);
        keepsTheMathisShare(p, 16 * MIB, FAST_RTT_NANOS, FAST_RATE_BITS,
                new SimNetwork(MTU, oneWay.withLoss(p), oneWay.withSeed(seed + 1).withLoss(p), SETTINGS));
    }

    static final long FAST_RTT_NANOS = Duration.ofMillis(1).toNanos() / 5;
    static final long FAST_RATE_BITS = 1_000_000_000;

    @Test
    void twoPercentLossOnASubMillisecondPathKeepsHalfTheMathisRate() throws Exception {
        keepsTheMathisShareOnAFastPath(0.02, 211);
    }

    @Test
    void fivePercentLossOnASubMillisecondPathKeepsHalfTheMathisRate() throws Exception {
        keepsTheMathisShareOnAFastPath(0.05, 511);
    }

    // ---- (b) a lost retransmission -------------------------------------------------------------

    /**
     * The segment carrying byte 1 MiB is dropped, and so is its first retransmission. RACK (RFC 8985
     * section 6.2) times every transmission, so segments sent after the retransmission and SACKed
     * show it lost one reordering window later; the sender retransmits again without waiting for
     * the retransmission timer. RFC 6675 alone has no such rule and waits out the RTO.
     *
     * <p>The receive window here is the default 6 MiB, so new data keeps flowing during recovery
     * (as it must for anything sent after the retransmission to be SACKed).
     */
    @Test
    void aLostRetransmissionIsRepairedWithoutATimeout() throws Exception {
        repairsLostRetransmissions(MIB);
    }

    /**
     * Two holes in one window, 20 segments apart, and the first retransmission of each lost too:
     * the second repair is sent while SND.UNA still sits at the first hole, so only a rule that
     * times every retransmission (RACK) sees it lost.
     */
    @Test
    void lostRetransmissionsOfTwoHolesAreRepairedWithoutATimeout() throws Exception {
        repairsLostRetransmissions(MIB, MIB + 20 * 1228);
    }

    private void repairsLostRetransmissions(long... offsets) throws Exception {
        Impairment unqueued = Impairment.none(11).withDelay(RTT_NANOS / 2)
                .withBottleneck(RATE_BITS, Impairment.UNLIMITED_QUEUE);
        try (SimNetwork net = new SimNetwork(MTU, unqueued, unqueued.withSeed(12), TcpSettings.defaults())) {
            PacketFilter.DropTransmissions[] drops = new PacketFilter.DropTransmissions[offsets.length];
            for (int i = 0; i < offsets.length; i++) {
                drops[i] = PacketFilter.dropTransmissions(offsets[i], 2);
            }
            net.filter(SimNetwork.Direction.B_TO_A, PacketFilter.firstOf(drops));
            SimTransfer t = SimTransfer.open(net, 4 * MIB);
            SimTrace trace = SimTrace.of(t);
            String title = offsets.length + " segment(s) and their first retransmissions dropped";
            try {
                t.run(Duration.ofSeconds(30), WALL_LIMIT);
            } finally {
                trace.printIfEnabled(title);
            }
            System.out.println(title + ": " + t.progress());
            for (PacketFilter.DropTransmissions d : drops) {
                assertEquals(2, d.dropped(), "the original and its first retransmission were dropped");
            }
            assertEquals(2L * offsets.length, net.filtered(SimNetwork.Direction.B_TO_A), "and nothing else");
            assertEquals(0, net.linkA.tailDropped.sum() + net.linkB.tailDropped.sum(), "no other loss");
            assertEquals(0, t.senderStats().timeouts.value(),
                    "repaired without a retransmission timeout: " + t.progress());
            t.close();
        }
    }

    // ---- (c) reordering only -------------------------------------------------------------------

    /**
     * No loss, but 4 % of packets each way arrive up to 3 ms late (a uniformly random extra): at
     * 100 Mbit/s up to some 30 later packets overtake each, so three duplicate ACKs often come
     * long before the late one. RACK (RFC 8985 section 6.2) learns of reordering when an original,
     * never retransmitted segment is delivered below the highest one delivered (a packet only
     * slightly late shows it; so would a DSACK, RFC 2883, were the receiver to send one) and from
     * then on waits a reordering window of min RTT / 4 = 5 ms, longer than any extra here. So only
     * a handful of segments are sent twice, the window is not cut, and the goodput stays near the
     * clean link's.
     */
    @Test
    void reorderingAloneCausesNoRetransmissionStorm() throws Exception {
        double clean = cleanGoodput();
        long extra = Duration.ofMillis(3).toNanos();
        try (SimNetwork net = network(oneWay(21).withReorderUpTo(0.04, extra), oneWay(22).withReorderUpTo(0.04, extra))) {
            SimTransfer t = SimTransfer.open(net, 16 * MIB);
            SimTrace trace = SimTrace.of(t);
            try {
                // A sender in a retransmission storm needs some 40 s; it may finish, so the failure shows its figures.
                t.run(Duration.ofSeconds(60), WALL_LIMIT);
            } finally {
                trace.printIfEnabled("4 % reordered by up to 3 ms each way");
            }
            Stats.TcpStats s = t.senderStats();
            double retransmitShare = (double) s.retransmits.value() / s.segmentsSent.value();
            String figures = String.format("reordering: %d of %d segments retransmitted (%.2f %%), goodput %.1f Mbit/s"
                            + " = %.2f × clean (%.1f Mbit/s); %s", s.retransmits.value(), s.segmentsSent.value(),
                    retransmitShare * 100, t.goodputBitsPerSecond() / 1e6, t.goodputBitsPerSecond() / clean, clean / 1e6,
                    t.progress());
            System.out.println(figures);
            assertTrue(net.linkB.reordered.sum() > 100, "the data direction was reordered: " + net.linkB.reordered.sum());
            assertEquals(0, net.linkA.lost.sum() + net.linkB.lost.sum() + net.linkA.tailDropped.sum()
                    + net.linkB.tailDropped.sum(), "nothing lost");
            assertTrue(retransmitShare < 0.01, "under 1 % of segments retransmitted: " + figures);
            assertTrue(t.goodputBitsPerSecond() >= 0.8 * clean, "at least 0.8 × the clean goodput: " + figures);
            t.close();
        }
    }

    // ---- (d) a spurious timeout ----------------------------------------------------------------

    /**
     * One second into a clean transfer, every ACK is held for twice the sender's RTO and then
     * released in order, as a radio link or a paused VM does. The RTO fires once (its backed-off
     * successor would come only after the release) and retransmits data that was never lost; the
     * first ACK after the release echoes the original transmission's timestamp (RFC 3522/4015,
     * Eifel) or the DSACK of the retransmission (RFC 3708) shows the timeout was spurious, so the
     * sender counts it and restores the congestion window it had before (Linux's undo).
     */
    @Test
    void aSpuriousTimeoutIsUndone() throws Exception {
        // A queue that holds a whole window: when the held ACKs arrive together, the restored window
        // sends a window's worth at once, which a shorter queue would drop (a loss this test is not about).
        Impairment unqueued = Impairment.none(31).withDelay(RTT_NANOS / 2)
                .withBottleneck(RATE_BITS, Impairment.UNLIMITED_QUEUE);
        try (SimNetwork net = new SimNetwork(MTU, unqueued, unqueued.withSeed(32), SETTINGS)) {
            SimTransfer t = SimTransfer.open(net, 16 * MIB);
            SimTrace trace = SimTrace.of(t);
            try {
                long spikeAt = t.startNanos() + Duration.ofSeconds(1).toNanos();
                t.runUntil(() -> net.now() >= spikeAt, Duration.ofSeconds(5), WALL_LIMIT);
                TcpEndpoint.Snapshot before = t.sender.snapshot();
                long spikeEnd = net.now() + 2 * before.rtoNanos();
                PacketFilter.DelaySpike spike = PacketFilter.delaySpike(net.now(), spikeEnd);
                net.filter(SimNetwork.Direction.A_TO_B, spike);
                // The first ACK after the release echoes a timestamp older than the retransmission:
                // the undo comes with it, and the window is looked at right then (what the burst of
                // released ACKs does to the network afterwards is another matter).
                Stats.TcpStats s = t.senderStats();
                long settled = spikeEnd + 5 * RTT_NANOS;
                t.runUntil(() -> s.spuriousRtoRecovery.value() > 0 || net.now() >= settled, Duration.ofSeconds(10),
                        WALL_LIMIT);
                TcpEndpoint.Snapshot after = t.sender.snapshot();
                String figures = String.format("spike of %d ms holding %d ACKs: cwnd %d before, %d after; ssthresh %d"
                                + " before, %d after; %d timeouts, %d spurious RTOs undone", (spikeEnd - spikeAt) / 1_000_000,
                        spike.held(), before.congestionWindow(), after.congestionWindow(), before.slowStartThreshold(),
                        after.slowStartThreshold(), s.timeouts.value(), s.spuriousRtoRecovery.value());
                System.out.println(figures);
                assertTrue(spike.held() > 0, "the spike held ACKs");
                assertEquals(1, s.timeouts.value(), "the RTO fired once during the spike: " + figures);
                assertEquals(1, s.spuriousRtoRecovery.value(), "the spurious RTO was detected and undone: " + figures);
                assertTrue(after.congestionWindow() >= before.congestionWindow(),
                        "the congestion window is restored: " + figures);
                t.run(Duration.ofSeconds(30), WALL_LIMIT);
            } finally {
                trace.printIfEnabled("ACKs held for twice the RTO");
            }
            assertEquals(0, net.linkA.tailDropped.sum() + net.linkB.tailDropped.sum(), "nothing lost");
            t.close();
        }
    }
}
