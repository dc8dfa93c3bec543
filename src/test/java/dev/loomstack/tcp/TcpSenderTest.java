package dev.loomstack.tcp;

import static dev.loomstack.packet.TcpHeader.PSH;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.packet.TcpOptions;
import dev.loomstack.stack.ManualClock;
import dev.loomstack.stack.Stats;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The send half on its own, with a wire that records what it is asked to send. */
class TcpSenderTest {
    private static final int ISS = 5_000;
    private static final int FIRST = ISS + 1;
    private static final int MSS = 1_000;
    /** RFC 6928 for this MSS: min(10 SMSS, max(2 SMSS, 14600)). */
    private static final int INITIAL_WINDOW = 10 * MSS;

    /** A segment the sender asked for, with the bytes it would carry. */
    record Sent(int seq, int len, int flags, byte[] payload) {}

    /** The endpoint's side of {@link TcpSender.Wire}, reduced to a log. */
    static final class RecordingWire implements TcpSender.Wire {
        TcpSender sender;
        final List<Sent> data = new ArrayList<>();
        final List<Integer> fins = new ArrayList<>();
        int zeroWindows;
        int windowOpenings;
        int sackRoom;

        @Override
        public void emitData(int seq, int flags, int bufferOffset, int len) {
            byte[] payload = new byte[len];
            sender.peek(bufferOffset, payload, 0, len);
            data.add(new Sent(seq, len, flags, payload));
        }

        @Override
        public void emitFin(int seq) {
            fins.add(seq);
        }

        @Override
        public int sackOptionRoom() {
            return sackRoom;
        }

        @Override
        public void segmentSent(boolean newData) {
        }

        @Override
        public void zeroWindow() {
            zeroWindows++;
        }

        @Override
        public void windowOpened() {
            windowOpenings++;
        }

        long lossTimer;

        @Override
        public void lossDetectionTimer(long delayNanos) {
            lossTimer = delayNanos;
        }
    }

    private final ManualClock clock = new ManualClock(1_000_000_000L);
    private final Stats.TcpStats stats = new Stats().tcp;
    private final RecordingWire wire = new RecordingWire();

    /** A synchronized sender: SYN acknowledged, peer window {@code window}, NewReno, SACK agreed. */
    private TcpSender sender(boolean nagle, int window) {
        return sender(nagle, window, true);
    }

    private TcpSender sender(boolean nagle, int window, boolean sack) {
        NegotiatedOptions options = new NegotiatedOptions(TcpSettings.defaults(), clock, MSS);
        // The peer offers its MSS and perhaps SACK, neither window scaling nor timestamps.
        assertEquals(MSS, options.agree(true, MSS, -1, sack, false, 0));
        TcpSender s = new TcpSender(1 << 20, nagle, new RttEstimator(), options, stats, clock, wire);
        wire.sender = s;
        s.open(ISS);
        s.negotiated(0, MSS, CongestionControlAlgorithm.NEWRENO.create(MSS));
        s.peerWindow(window);
        s.windowUpdateMark(0, ISS);
        s.acknowledgeSyn(FIRST);
        return s;
    }

    private static byte[] bytes(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 7);
        }
        return b;
    }

    @Test
    void segmentsAreAtMostOneMssAndCarryTheBufferedBytesInOrder() {
        TcpSender s = sender(false, 65535);
        byte[] data = bytes(3 * MSS + 100);
        assertEquals(data.length, s.buffer(data, 0, data.length));
        assertTrue(s.output(clock.nanoTime()));
        assertEquals(List.of(MSS, MSS, MSS, 100), wire.data.stream().map(Sent::len).toList());
        assertEquals(List.of(FIRST, FIRST + MSS, FIRST + 2 * MSS, FIRST + 3 * MSS),
                wire.data.stream().map(Sent::seq).toList());
        byte[] joined = new byte[data.length];
        int at = 0;
        for (Sent x : wire.data) {
            System.arraycopy(x.payload(), 0, joined, at, x.len());
            at += x.len();
        }
        assertArrayEquals(data, joined);
        // PSH marks the segment that empties the buffer only.
        assertEquals(PSH, wire.data.getLast().flags() & PSH);
        assertEquals(0, wire.data.getFirst().flags() & PSH);
        assertEquals(FIRST + data.length, s.sndMax());
    }

    @Test
    void optionRoomComesOutOfTheMss() {
        TcpSender s = sender(false, 65535);
        wire.sackRoom = 36;
        s.buffer(bytes(2 * MSS), 0, 2 * MSS);
        s.output(clock.nanoTime());
        assertEquals(MSS - 36, wire.data.getFirst().len());
        assertTrue(wire.data.stream().allMatch(x -> x.len() <= MSS - 36));
    }

    /**
     * RFC 9293 section 3.8.6.2.1 (sender-side silly window avoidance): the 10 bytes of window
     * left after two segments are not spent on a runt while data is in flight.
     */
    @Test
    void neverBeyondThePeersWindowNorARuntInsideIt() {
        TcpSender s = sender(false, 2 * MSS + 10);
        s.buffer(bytes(5 * MSS), 0, 5 * MSS);
        s.output(clock.nanoTime());
        assertEquals(List.of(MSS, MSS), wire.data.stream().map(Sent::len).toList());
        assertEquals(FIRST + 2 * MSS, s.sndMax());
        // The window opens by an ACK of the first segment: a whole segment fits and goes.
        s.acknowledge(FIRST + MSS);
        assertFalse(s.updateWindow(1, FIRST + MSS, 2 * MSS + 10));
        assertEquals(2 * MSS + 10, s.sndWnd());
        s.output(clock.nanoTime());
        assertEquals(FIRST + 3 * MSS, s.sndMax());
    }

    /** Half the largest window the peer offered is worth sending even when it is less than a segment. */
    @Test
    void aSmallWindowIsStillUsedWhenItIsHalfTheLargestOffered() {
        TcpSender s = sender(false, 600);
        s.buffer(bytes(5 * MSS), 0, 5 * MSS);
        s.output(clock.nanoTime());
        assertEquals(List.of(600), wire.data.stream().map(Sent::len).toList());
    }

    @Test
    void neverBeyondTheCongestionWindow() {
        TcpSender s = sender(false, 1 << 20 >> 4);
        s.buffer(bytes(20 * MSS), 0, 20 * MSS);
        s.output(clock.nanoTime());
        assertEquals(INITIAL_WINDOW, s.flightSize());
    }

    /** RFC 9293 section 3.7.4: a small segment waits while data is unacknowledged. */
    @Test
    void nagleHoldsTheSmallTailUntilTheAck() {
        TcpSender s = sender(true, 65535);
        s.buffer(bytes(2 * MSS + 100), 0, 2 * MSS + 100);
        s.output(clock.nanoTime());
        assertEquals(List.of(MSS, MSS), wire.data.stream().map(Sent::len).toList());
        s.acknowledge(FIRST + 2 * MSS);
        s.output(clock.nanoTime());
        assertEquals(List.of(MSS, MSS, 100), wire.data.stream().map(Sent::len).toList());
    }

    @Test
    void nagleOffSendsTheSmallTailAtOnce() {
        TcpSender s = sender(true, 65535);
        s.nagle(false);
        s.buffer(bytes(MSS + 1), 0, MSS + 1);
        s.output(clock.nanoTime());
        assertEquals(List.of(MSS, 1), wire.data.stream().map(Sent::len).toList());
    }

    @Test
    void aZeroWindowStartsThePersistTimerAndSendsNothing() {
        TcpSender s = sender(false, 0);
        s.buffer(bytes(100), 0, 100);
        assertFalse(s.output(clock.nanoTime()));
        assertTrue(wire.data.isEmpty());
        assertEquals(1, wire.zeroWindows);
        // RFC 9293 section 3.10.7.4: a newer segment's window replaces it; the opening is reported.
        assertTrue(s.updateWindow(1, FIRST, 65535));
        assertTrue(s.output(clock.nanoTime()));
        assertEquals(100, wire.data.getFirst().len());
    }

    @Test
    void anOlderSegmentDoesNotMoveTheWindow() {
        TcpSender s = sender(false, 65535);
        s.updateWindow(10, FIRST, 4000);
        assertFalse(s.updateWindow(9, FIRST, 0));
        assertEquals(4000, s.sndWnd());
    }

    @Test
    void theFinFollowsTheLastByte() {
        TcpSender s = sender(false, 65535);
        s.buffer(bytes(300), 0, 300);
        s.queueFin();
        s.output(clock.nanoTime());
        assertEquals(List.of(FIRST + 300), wire.fins);
        assertEquals(FIRST + 301, s.sndMax());
        assertTrue(s.finSent());
        // An acknowledgment of everything but the FIN frees the data only.
        assertEquals(300, s.acknowledge(FIRST + 301));
        assertEquals(0, s.buffered());
    }

    private List<Integer> sentSeqs() {
        return wire.data.stream().map(Sent::seq).toList();
    }

    /**
     * RFC 6298 section 5.4 and RFC 8985 section 6.3: a timeout resends the first unacknowledged
     * segment; as the window grows in slow start the others follow, and never the SACKed ones.
     */
    @Test
    void aTimeoutResendsTheFirstSegmentThenTheRestInSlowStartSkippingSacked() {
        TcpSender s = sender(false, 65535);
        s.buffer(bytes(5 * MSS), 0, 5 * MSS);
        s.output(clock.nanoTime());
        // The fourth segment was SACKed before the timer fired.
        s.ackArrived(ack(FIRST, 65535, 1, sack(FIRST + 3 * MSS, FIRST + 4 * MSS)), clock.nanoTime());
        wire.data.clear();
        clock.set(clock.nanoTime() + 1_000_000_000L);
        s.retransmitOnTimeout(clock.nanoTime());
        assertEquals(List.of(FIRST), sentSeqs());
        assertEquals(LossRecovery.State.TIMEOUT_RECOVERY, s.recovery().state());
        // RFC 5681 section 3.1: cwnd is one segment; the ACK of the first lets two more go.
        clock.set(clock.nanoTime() + 1_000_000);
        s.ackArrived(ack(FIRST + MSS, 65535, 2, sack(FIRST + 3 * MSS, FIRST + 4 * MSS)), clock.nanoTime());
        s.output(clock.nanoTime());
        assertEquals(List.of(FIRST, FIRST + MSS, FIRST + 2 * MSS), sentSeqs());
        clock.set(clock.nanoTime() + 1_000_000);
        s.ackArrived(ack(FIRST + 4 * MSS, 65535, 3), clock.nanoTime());
        s.output(clock.nanoTime());
        // The SACKed fourth was never sent again; the fifth is the last one outstanding.
        assertEquals(List.of(FIRST, FIRST + MSS, FIRST + 2 * MSS, FIRST + 4 * MSS), sentSeqs());
        assertEquals(4, stats.retransmits.value());
    }

    /** RFC 5681 section 3.2 / RFC 6582: without SACK the third duplicate ACK retransmits SND.UNA. */
    @Test
    void threeDuplicateAcksStartFastRetransmitWithoutSack() {
        TcpSender s = sender(false, 65535, false);
        s.buffer(bytes(6 * MSS), 0, 6 * MSS);
        s.output(clock.nanoTime());
        wire.data.clear();
        s.ackArrived(ack(FIRST, 65535, 1), clock.nanoTime());
        s.ackArrived(ack(FIRST, 65535, 1), clock.nanoTime());
        assertFalse(s.recovery().inRecovery());
        s.output(clock.nanoTime());
        assertTrue(wire.data.isEmpty());
        s.ackArrived(ack(FIRST, 65535, 1), clock.nanoTime());
        assertEquals(LossRecovery.State.FAST_RECOVERY, s.recovery().state());
        s.output(clock.nanoTime());
        assertEquals(FIRST, wire.data.getFirst().seq());
        assertEquals(1, stats.fastRetransmit.value());
        assertEquals(1, stats.fastRecovery.value());
        // RFC 6582 section 3.2 step 3: acknowledging everything sent ends recovery.
        s.ackArrived(ack(FIRST + 6 * MSS, 65535, 2), clock.nanoTime());
        assertFalse(s.recovery().inRecovery());
    }

    /**
     * RFC 8985 section 6.2: with three segments SACKed and no reordering seen, the reordering
     * window is zero, so the unacknowledged first segment, sent before them, is lost at once.
     */
    @Test
    void sackedLaterSegmentsMarkTheFirstLostByRack() {
        TcpSender s = sender(false, 65535);
        s.buffer(bytes(6 * MSS), 0, 6 * MSS);
        s.output(clock.nanoTime());
        wire.data.clear();
        clock.set(clock.nanoTime() + 10_000_000);
        s.ackArrived(ack(FIRST, 65535, 1, sack(FIRST + MSS, FIRST + 4 * MSS)), clock.nanoTime());
        LossRecovery r = s.recovery();
        assertEquals(LossRecovery.State.FAST_RECOVERY, r.state());
        assertEquals(1, stats.sackRecovery.value());
        assertEquals(1, stats.rackLostSegments.value());
        s.output(clock.nanoTime());
        assertEquals(FIRST, wire.data.getFirst().seq());
        assertEquals(MSS, wire.data.getFirst().len());
        // RFC 6675 section 4: the three SACKed segments have left the network and the first is
        // lost; its repair and the two segments after the SACKed range are in it.
        assertEquals(3 * MSS, r.pipe());
    }

    /** One SACKed segment and a round trip that has not yet passed: RACK waits, with a timer. */
    @Test
    void aSingleSackWaitsForTheReorderingWindow() {
        TcpSender s = sender(false, 65535);
        s.buffer(bytes(3 * MSS), 0, 3 * MSS);
        s.output(clock.nanoTime());
        clock.set(clock.nanoTime() + 10_000_000);
        // An RTT sample first, so that min_RTT (and the reordering window from it) is known.
        s.ackArrived(ack(FIRST + MSS, 65535, 1), clock.nanoTime());
        s.buffer(bytes(2 * MSS), 0, 2 * MSS);
        s.output(clock.nanoTime());
        clock.set(clock.nanoTime() + 1_000_000);
        s.ackArrived(ack(FIRST + MSS, 65535, 2, sack(FIRST + 2 * MSS, FIRST + 3 * MSS)), clock.nanoTime());
        assertFalse(s.recovery().inRecovery());
        assertTrue(wire.lossTimer > 0, "the reordering timer is armed");
        clock.set(clock.nanoTime() + wire.lossTimer);
        assertTrue(s.recovery().reorderTimerFired(clock.nanoTime()) == 0);
        assertEquals(LossRecovery.State.FAST_RECOVERY, s.recovery().state());
    }

    /** A pure ACK from the peer: no data, window {@code window}, newer than the last by sequence. */
    private static Segment ack(int ack, int window, int peerSeq) {
        return ack(ack, window, peerSeq, new TcpOptions());
    }

    private static Segment ack(int ack, int window, int peerSeq, TcpOptions options) {
        Segment seg = new Segment();
        seg.sequence = peerSeq;
        seg.acknowledgment = ack;
        seg.flags = dev.loomstack.packet.TcpHeader.ACK;
        seg.window = window;
        seg.options.sackCount = options.sackCount;
        System.arraycopy(options.sackStart, 0, seg.options.sackStart, 0, options.sackCount);
        System.arraycopy(options.sackEnd, 0, seg.options.sackEnd, 0, options.sackCount);
        return seg;
    }

    /**
     * RFC 5681 section 2: only an ACK that carries no data, leaves the window alone and arrives
     * with data outstanding is a duplicate; the third starts fast retransmit.
     */
    @Test
    void ackArrivedTellsNewDataFromDuplicates() {
        TcpSender s = sender(false, 65535, false);
        s.buffer(bytes(6 * MSS), 0, 6 * MSS);
        s.output(clock.nanoTime());
        wire.data.clear();
        assertTrue(s.ackArrived(ack(FIRST + MSS, 65535, 1), clock.nanoTime()));
        assertEquals(FIRST + MSS, s.sndUna());
        // A window change makes it a window update, not a duplicate.
        assertFalse(s.ackArrived(ack(FIRST + MSS, 60000, 1), clock.nanoTime()));
        for (int i = 0; i < 3; i++) {
            assertFalse(s.ackArrived(ack(FIRST + MSS, 60000, 1), clock.nanoTime()));
        }
        assertTrue(s.recovery().inRecovery());
        s.output(clock.nanoTime());
        assertEquals(FIRST + MSS, wire.data.getFirst().seq());
    }

    @Test
    void ackArrivedReportsAZeroWindowOpening() {
        TcpSender s = sender(false, 65535);
        s.buffer(bytes(MSS), 0, MSS);
        s.output(clock.nanoTime());
        s.ackArrived(ack(FIRST + MSS, 0, 1), clock.nanoTime());
        assertEquals(0, s.sndWnd());
        assertEquals(0, wire.windowOpenings);
        s.ackArrived(ack(FIRST + MSS, 1000, 2), clock.nanoTime());
        assertEquals(1, wire.windowOpenings);
    }

    private static TcpOptions sack(int... edges) {
        TcpOptions o = new TcpOptions();
        o.sackCount = edges.length / 2;
        for (int i = 0; i < o.sackCount; i++) {
            o.sackStart[i] = edges[2 * i];
            o.sackEnd[i] = edges[2 * i + 1];
        }
        return o;
    }

    /** RFC 6582 section 3.2 step 5: without SACK, a partial ACK repairs the next hole at once. */
    @Test
    void aPartialAckRepairsTheNextHoleWithoutSack() {
        TcpSender s = sender(false, 65535, false);
        s.buffer(bytes(6 * MSS), 0, 6 * MSS);
        s.output(clock.nanoTime());
        for (int i = 0; i < LossRecovery.DUP_THRESH; i++) {
            s.ackArrived(ack(FIRST, 65535, 1), clock.nanoTime());
        }
        s.output(clock.nanoTime());
        wire.data.clear();
        // The repair of the first segment arrived and so did the second; the third was lost too.
        s.ackArrived(ack(FIRST + 2 * MSS, 65535, 2), clock.nanoTime());
        assertTrue(s.recovery().inRecovery());
        s.output(clock.nanoTime());
        assertEquals(FIRST + 2 * MSS, wire.data.getFirst().seq());
    }

    /**
     * RFC 8985 section 2.2: a lost retransmission is found like any lost segment. Once data sent
     * after the repair of SND.UNA is SACKed a round trip later while SND.UNA stays put, the repair
     * goes again, without waiting for the RTO.
     */
    @Test
    void aLostRepairOfSndUnaGoesAgainWithoutATimeout() {
        TcpSender s = sender(false, 65535);
        s.buffer(bytes(6 * MSS), 0, 6 * MSS);
        s.output(clock.nanoTime());
        wire.data.clear();
        clock.set(clock.nanoTime() + 10_000_000);
        s.ackArrived(ack(FIRST, 65535, 1, sack(FIRST + MSS, FIRST + 5 * MSS)), clock.nanoTime());
        s.output(clock.nanoTime());
        assertEquals(List.of(FIRST), sentSeqs());
        // More data to send: recovery sends it as PRR allows.
        s.buffer(bytes(2 * MSS), 0, 2 * MSS);
        s.ackArrived(ack(FIRST, 65535, 2, sack(FIRST + 5 * MSS, FIRST + 6 * MSS, FIRST + MSS, FIRST + 5 * MSS)),
                clock.nanoTime());
        s.output(clock.nanoTime());
        assertTrue(sentSeqs().contains(FIRST + 6 * MSS), "new data went out during recovery: " + sentSeqs());
        // A round trip later, that new segment is SACKed and the repair of SND.UNA is not: it was lost.
        clock.set(clock.nanoTime() + 10_000_000);
        wire.data.clear();
        long retransmitsBefore = stats.retransmits.value();
        s.ackArrived(ack(FIRST, 65535, 3, sack(FIRST + 6 * MSS, FIRST + 7 * MSS, FIRST + MSS, FIRST + 6 * MSS)),
                clock.nanoTime());
        s.output(clock.nanoTime());
        assertEquals(FIRST, wire.data.getFirst().seq());
        assertEquals(retransmitsBefore + 1, stats.retransmits.value());
        assertTrue(s.recovery().inRecovery());
    }

    /**
     * RFC 3708 section 4 with RFC 2883 section 4: a fast recovery whose only retransmission comes
     * back as a D-SACK (its first block below the ACK) was needless: the window and threshold
     * return and it is counted as a spurious recovery undone.
     */
    @Test
    void aRecoveryWhoseOnlyRepairIsDsackedIsUndone() {
        TcpSender s = sender(false, 65535);
        s.buffer(bytes(6 * MSS), 0, 6 * MSS);
        s.output(clock.nanoTime());
        CongestionControl cc = s.congestionControl();
        int priorCwnd = cc.congestionWindow();
        int priorSsthresh = cc.slowStartThreshold();
        clock.set(clock.nanoTime() + 10_000_000);
        s.ackArrived(ack(FIRST, 65535, 1, sack(FIRST + MSS, FIRST + 4 * MSS)), clock.nanoTime());
        assertEquals(LossRecovery.State.FAST_RECOVERY, s.recovery().state());
        assertTrue(cc.congestionWindow() < priorCwnd);
        wire.data.clear();
        s.output(clock.nanoTime());
        assertEquals(List.of(FIRST), sentSeqs());
        // The original was only late: it arrives, then the repair arrives as a duplicate.
        clock.set(clock.nanoTime() + 1_000_000);
        s.ackArrived(ack(FIRST + 4 * MSS, 65535, 2), clock.nanoTime());
        assertEquals(LossRecovery.State.FAST_RECOVERY, s.recovery().state());
        s.ackArrived(ack(FIRST + 4 * MSS, 65535, 3, sack(FIRST, FIRST + MSS)), clock.nanoTime());
        assertEquals(LossRecovery.State.OPEN, s.recovery().state());
        assertEquals(priorCwnd, cc.congestionWindow());
        assertEquals(priorSsthresh, cc.slowStartThreshold());
        assertEquals(1, stats.spuriousRecovery.value());
        assertEquals(1, stats.segmentsAckedWithDsack.value());
        assertEquals(0, s.recovery().sent().lostBytes());
    }

    /** A tail loss probe that sent the last segment again, then one segment of new data after it. */
    private TcpSender probedFlight() {
        TcpSender s = sender(false, 65535);
        s.buffer(bytes(3 * MSS), 0, 3 * MSS);
        s.output(clock.nanoTime());
        clock.set(clock.nanoTime() + 10_000_000);
        wire.data.clear();
        s.sendTailLossProbe();
        assertEquals(List.of(FIRST + 2 * MSS), sentSeqs());
        assertEquals(1, stats.tlpRecovery.value());
        s.buffer(bytes(MSS), 0, MSS);
        s.output(clock.nanoTime());
        assertEquals(FIRST + 4 * MSS, s.sndMax());
        return s;
    }

    /**
     * RFC 8985 section 7.4.2: a probe that retransmitted the last segment, answered by an ACK
     * beyond it without a D-SACK, repaired a loss and costs the window a loss costs, once.
     */
    @Test
    void aProbeRetransmissionAckedBeyondWithoutDsackReducesTheWindowOnce() {
        TcpSender s = probedFlight();
        CongestionControl cc = s.congestionControl();
        int priorCwnd = cc.congestionWindow();
        clock.set(clock.nanoTime() + 1_000_000);
        s.ackArrived(ack(FIRST + 4 * MSS, 65535, 1), clock.nanoTime());
        int ssthresh = cc.slowStartThreshold();
        assertTrue(ssthresh < Integer.MAX_VALUE, "ssthresh was lowered");
        assertTrue(cc.congestionWindow() < priorCwnd, "cwnd " + cc.congestionWindow() + " < " + priorCwnd);
        assertEquals(LossRecovery.State.OPEN, s.recovery().state());
        // Later ACKs judge no probe: the threshold stays.
        s.buffer(bytes(MSS), 0, MSS);
        s.output(clock.nanoTime());
        s.ackArrived(ack(FIRST + 5 * MSS, 65535, 2), clock.nanoTime());
        assertEquals(ssthresh, cc.slowStartThreshold());
    }

    /** RFC 8985 section 7.4.2: a D-SACK for the probe's copy shows the original arrived: no reduction. */
    @Test
    void aProbeRetransmissionReportedByDsackLeavesTheWindow() {
        TcpSender s = probedFlight();
        CongestionControl cc = s.congestionControl();
        int priorCwnd = cc.congestionWindow();
        int priorSsthresh = cc.slowStartThreshold();
        clock.set(clock.nanoTime() + 1_000_000);
        s.ackArrived(ack(FIRST + 4 * MSS, 65535, 1, sack(FIRST + 2 * MSS, FIRST + 3 * MSS)), clock.nanoTime());
        assertEquals(priorSsthresh, cc.slowStartThreshold());
        assertTrue(cc.congestionWindow() >= priorCwnd);
        assertEquals(1, stats.segmentsAckedWithDsack.value());
        assertEquals(0, stats.spuriousRecovery.value());
    }

    /**
     * A probe timeout in recovery (LossRecovery.recoveryProbe, after RFC 9002 section 6.2): the
     * latest repair goes again, not the first one nor the last segment sent.
     */
    @Test
    void aRecoveryProbeResendsTheLatestRepair() {
        TcpSender s = sender(false, 65535);
        s.buffer(bytes(6 * MSS), 0, 6 * MSS);
        s.output(clock.nanoTime());
        clock.set(clock.nanoTime() + 10_000_000);
        // Segments 0 and 1 are lost: RACK marks both once three later ones are SACKed.
        s.ackArrived(ack(FIRST, 65535, 1, sack(FIRST + 2 * MSS, FIRST + 5 * MSS)), clock.nanoTime());
        assertEquals(LossRecovery.State.FAST_RECOVERY, s.recovery().state());
        wire.data.clear();
        s.output(clock.nanoTime());
        assertEquals(List.of(FIRST, FIRST + MSS), sentSeqs());
        long retransmits = stats.retransmits.value();
        long probes = stats.tlpRecovery.value();
        wire.data.clear();
        clock.set(clock.nanoTime() + 20_000_000);
        s.recovery().recoveryProbe(clock.nanoTime());
        assertEquals(List.of(FIRST + MSS), sentSeqs());
        assertEquals(retransmits + 1, stats.retransmits.value());
        assertEquals(probes + 1, stats.tlpRecovery.value());
        assertEquals(LossRecovery.State.FAST_RECOVERY, s.recovery().state());
    }

    /** {@link #probedFlight} without SACK, the original of the last segment and the probe both acknowledged. */
    private TcpSender probedFlightWithoutSack() {
        TcpSender s = sender(false, 65535, false);
        s.buffer(bytes(3 * MSS), 0, 3 * MSS);
        s.output(clock.nanoTime());
        clock.set(clock.nanoTime() + 10_000_000);
        s.sendTailLossProbe();
        s.buffer(bytes(MSS), 0, MSS);
        s.output(clock.nanoTime());
        assertEquals(FIRST + 4 * MSS, s.sndMax());
        return s;
    }

    /**
     * RFC 8985 section 7.4.2, case 2: without SACK, a duplicate ACK at the probe's end shows the
     * original and the probe both arrived; no loss was repaired and the window stays.
     */
    @Test
    void withoutSackADupAckAtTheProbesEndShowsNoLoss() {
        TcpSender s = probedFlightWithoutSack();
        CongestionControl cc = s.congestionControl();
        int priorSsthresh = cc.slowStartThreshold();
        clock.set(clock.nanoTime() + 1_000_000);
        s.ackArrived(ack(FIRST + 3 * MSS, 65535, 1), clock.nanoTime());
        // The second copy of the last segment draws a duplicate ACK.
        s.ackArrived(ack(FIRST + 3 * MSS, 65535, 1), clock.nanoTime());
        assertEquals(priorSsthresh, cc.slowStartThreshold(), "the duplicate ACK is not a loss");
        // The episode ended with it: the ACK beyond the probe later judges nothing.
        s.ackArrived(ack(FIRST + 4 * MSS, 65535, 1), clock.nanoTime());
        assertEquals(priorSsthresh, cc.slowStartThreshold(), "the episode ended at the duplicate ACK");
    }

    /**
     * RFC 8985 section 7.4.2: an ACK at the probe's end that is no duplicate (here a window
     * update) tells nothing of the probe; the D-SACK that follows shows it was needless.
     */
    @Test
    void aWindowUpdateAtTheProbesEndDecidesNothing() {
        TcpSender s = probedFlight();
        CongestionControl cc = s.congestionControl();
        int priorSsthresh = cc.slowStartThreshold();
        clock.set(clock.nanoTime() + 1_000_000);
        s.ackArrived(ack(FIRST + 3 * MSS, 65535, 1), clock.nanoTime());
        s.ackArrived(ack(FIRST + 3 * MSS, 60000, 2), clock.nanoTime());
        assertEquals(priorSsthresh, cc.slowStartThreshold(), "a window update is no evidence of loss");
        s.ackArrived(ack(FIRST + 4 * MSS, 60000, 3, sack(FIRST + 2 * MSS, FIRST + 3 * MSS)), clock.nanoTime());
        assertEquals(priorSsthresh, cc.slowStartThreshold(), "the D-SACK shows the probe was needless");
    }

    /**
     * RFC 8985 section 7.4.2 hands the repaired loss to congestion control as a fast recovery
     * would (RFC 5681 section 3.2 step 2): NewReno's ssthresh is half the FlightSize of the flight
     * the probe repaired, not of what is left once the ACK beyond the probe has arrived.
     */
    @Test
    void aLossRepairedByAProbeHalvesTheFlightItWasLostFrom() {
        TcpSender s = sender(false, 65535);
        s.buffer(bytes(10 * MSS), 0, 10 * MSS);
        s.output(clock.nanoTime());
        assertEquals(10 * MSS, s.flightSize());
        clock.set(clock.nanoTime() + 10_000_000);
        wire.data.clear();
        s.sendTailLossProbe();
        assertEquals(List.of(FIRST + 9 * MSS), sentSeqs());
        // All but the last segment arrived; one more segment goes after the probe.
        clock.set(clock.nanoTime() + 1_000_000);
        s.ackArrived(ack(FIRST + 9 * MSS, 65535, 1), clock.nanoTime());
        s.buffer(bytes(MSS), 0, MSS);
        s.output(clock.nanoTime());
        assertEquals(FIRST + 11 * MSS, s.sndMax());
        // The probe repaired the last segment: the ACK goes beyond it.
        s.ackArrived(ack(FIRST + 11 * MSS, 65535, 2), clock.nanoTime());
        assertEquals(5 * MSS, s.congestionControl().slowStartThreshold(),
                "max(FlightSize / 2, 2 SMSS) of the 10-segment flight");
    }

    /**
     * Karn's rule (RFC 6298 section 3) over a whole cumulative ACK: one that also covers a
     * retransmitted segment may have been sent for that copy, so no segment it covers, even one
     * sent once, measures the round trip (as Linux applies it).
     */
    @Test
    void aCumulativeAckOverARetransmissionGivesNoRttSample() {
        TcpSender s = sender(false, 65535);
        s.buffer(bytes(MSS), 0, MSS);
        s.output(clock.nanoTime());
        clock.set(clock.nanoTime() + 10_000_000);
        s.ackArrived(ack(FIRST + MSS, 65535, 1), clock.nanoTime());
        assertEquals(10_000_000, s.srttNanos());
        // Six more; the third to fifth are SACKed, so the first two are lost and resent.
        int base = FIRST + MSS;
        s.buffer(bytes(6 * MSS), 0, 6 * MSS);
        s.output(clock.nanoTime());
        clock.set(clock.nanoTime() + 10_000_000);
        s.ackArrived(ack(base, 65535, 2, sack(base + 2 * MSS, base + 5 * MSS)), clock.nanoTime());
        s.output(clock.nanoTime());
        assertTrue(stats.retransmits.value() > 0);
        // Half a second later one ACK covers everything, the sixth segment (sent once) included.
        clock.set(clock.nanoTime() + 500_000_000);
        s.ackArrived(ack(base + 6 * MSS, 65535, 3), clock.nanoTime());
        assertEquals(10_000_000, s.srttNanos(), "no sample from an ACK that covers a retransmission");
    }
}
