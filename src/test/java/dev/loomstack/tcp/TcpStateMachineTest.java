package dev.loomstack.tcp;

import static dev.loomstack.packet.TcpHeader.ACK;
import static dev.loomstack.packet.TcpHeader.FIN;
import static dev.loomstack.packet.TcpHeader.PSH;
import static dev.loomstack.packet.TcpHeader.RST;
import static dev.loomstack.packet.TcpHeader.SYN;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.tcp.TcpPeer.Conn;
import dev.loomstack.tcp.TcpPeer.Seg;
import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** RFC 9293's state machine and its hardening, driven segment by segment. */
class TcpStateMachineTest {
    private static final byte[] NONE = new byte[0];
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    @Test
    void synToAClosedPortIsAnsweredWithReset() {
        try (TcpPeer p = new TcpPeer()) {
            p.send(40000, 81, 5000, 0, SYN, 65535, NONE);
            Seg rst = p.takeOne();
            // RFC 9293 section 3.10.7.1: no ACK on the offending segment: seq 0, ack = SEG.SEQ + SEG.LEN.
            assertEquals(RST | ACK, rst.flags());
            assertEquals(0, rst.seq());
            assertEquals(5001, rst.ack());
            assertEquals(81, rst.srcPort());
            assertEquals(40000, rst.dstPort());

            // With an ACK: the reset takes its sequence number from it.
            p.send(40000, 81, 5000, 777, ACK, 65535, NONE);
            Seg rst2 = p.takeOne();
            assertEquals(RST, rst2.flags());
            assertEquals(777, rst2.seq());

            // A reset for nothing is never answered.
            p.send(40000, 81, 5000, 0, RST, 0, NONE);
            assertTrue(p.take().isEmpty());
            assertEquals(2, p.stats.tcp.resetsSent.value());
        }
    }

    @Test
    void handshakeNegotiatesOptionsAndClampsToThePeersMss() throws Exception {
        try (TcpPeer p = new TcpPeer()) {
            TcpListener l = p.tcp.listen(TcpPeer.LOCAL, 80, 8);
            p.send(40001, 80, 100, 0, SYN, 65535, TcpPeer.synOptions(536, 7, true, 4242), NONE);
            Seg synAck = p.takeOne();
            assertEquals(SYN | ACK, synAck.flags());
            assertEquals(101, synAck.ack());
            assertEquals(TcpPeer.MTU - 40, synAck.mss(), "MSS from the MTU");
            assertTrue(synAck.windowScale() > 0, "window scaling offered back");
            assertTrue(synAck.sackPermitted());
            assertTrue(synAck.timestamps());
            assertEquals(4242, synAck.tsEcr(), "the peer's timestamp echoed");

            p.send(40001, 80, 101, synAck.seq() + 1, ACK, 65535, TcpPeer.timestampOption(4243, synAck.tsVal()), NONE);
            TcpEndpoint ep = l.accept(SECOND);
            assertEquals(1, p.stats.tcp.passiveConnectionOpenings.value());
            assertEquals(1, p.stats.tcp.currentEstablished.value());
            ep.setNagle(false);
            ep.write(new byte[2000], 0, 2000, SECOND);
            List<Seg> data = p.take();
            assertFalse(data.isEmpty());
            for (Seg s : data) {
                // 536 bytes less the 12 of the timestamp option (RFC 7323 section 3.2 sizing).
                assertTrue(s.payloadLength() <= 536, "segment larger than the peer's MSS: " + s);
                assertTrue(s.timestamps(), "every segment carries timestamps once negotiated");
            }
        }
    }

    @Test
    void resetInWindowButNotExactEarnsAChallengeAck() throws Exception {
        try (TcpPeer p = new TcpPeer()) {
            Conn c = p.acceptPlain(80, 40002);
            // RFC 5961 section 3.2: in the window but not at RCV.NXT.
            p.send(c.peerPort, c.localPort, c.peerSeq + 100, 0, RST, 0, NONE);
            Seg challenge = p.takeOne();
            assertEquals(ACK, challenge.flags());
            assertEquals(c.peerSeq, challenge.ack());
            assertEquals(TcpState.ESTABLISHED, c.endpoint.state());

            // Outside the window: silently dropped.
            p.send(c.peerPort, c.localPort, c.peerSeq + 10_000_000, 0, RST, 0, NONE);
            assertTrue(p.take().isEmpty());
            assertEquals(TcpState.ESTABLISHED, c.endpoint.state());

            // RFC 5961 section 4.2: a SYN on an established connection gets a challenge ACK, not a reset.
            p.send(c.peerPort, c.localPort, c.peerSeq + 5, 0, SYN, 65535, NONE);
            Seg synChallenge = p.takeOne();
            assertEquals(ACK, synChallenge.flags());
            assertEquals(TcpState.ESTABLISHED, c.endpoint.state());

            // Exactly at RCV.NXT: the connection is reset and the application hears of it.
            p.send(c.peerPort, c.localPort, c.peerSeq, 0, RST, 0, NONE);
            assertEquals(TcpState.CLOSED, c.endpoint.state());
            IOException e = assertThrows(IOException.class, () -> c.endpoint.read(new byte[10], 0, 10, SECOND));
            assertTrue(e.getMessage().contains("reset"), e.getMessage());
            assertEquals(1, p.stats.tcp.establishedResets.value());
            assertEquals(0, p.stats.tcp.currentEstablished.value());
        }
    }

    @Test
    void challengeAcksAreRateLimited() throws Exception {
        try (TcpPeer p = new TcpPeer()) {
            Conn c = p.acceptPlain(80, 40003);
            int answered = 0;
            for (int i = 0; i < 5 * TcpProtocol.CHALLENGE_ACKS_PER_SECOND; i++) {
                p.send(c.peerPort, c.localPort, c.peerSeq + 1 + i, 0, RST, 0, NONE);
                answered += p.take().size();
            }
            // RFC 5961 section 7: a bounded number per second.
            assertEquals(TcpProtocol.CHALLENGE_ACKS_PER_SECOND, answered);
            p.advance(Duration.ofSeconds(1));
            p.send(c.peerPort, c.localPort, c.peerSeq + 1, 0, RST, 0, NONE);
            assertEquals(1, p.take().size(), "the budget refills with time");
        }
    }

    @Test
    void pawsDropsSegmentsWithOldTimestamps() throws Exception {
        try (TcpPeer p = new TcpPeer()) {
            TcpListener l = p.tcp.listen(TcpPeer.LOCAL, 80, 8);
            p.send(40004, 80, 100, 0, SYN, 65535, TcpPeer.synOptions(1460, 7, true, 1000), NONE);
            Seg synAck = p.takeOne();
            p.send(40004, 80, 101, synAck.seq() + 1, ACK, 65535, TcpPeer.timestampOption(1001, synAck.tsVal()), NONE);
            TcpEndpoint ep = l.accept(SECOND);
            p.send(40004, 80, 101, synAck.seq() + 1, ACK | PSH, 65535, TcpPeer.timestampOption(2000, synAck.tsVal()),
                    new byte[] {1, 2, 3});
            long invalidBefore = p.stats.tcp.invalidSegmentsReceived.value();
            // RFC 7323 section 5.3: an older TSval than TS.Recent is an old duplicate, even in window.
            p.send(40004, 80, 104, synAck.seq() + 1, ACK | PSH, 65535, TcpPeer.timestampOption(1500, synAck.tsVal()),
                    new byte[] {9, 9});
            assertEquals(invalidBefore + 1, p.stats.tcp.invalidSegmentsReceived.value());
            byte[] got = new byte[10];
            assertEquals(3, ep.read(got, 0, 10, SECOND));
            assertEquals(0, ep.available(), "the stale segment's bytes were not accepted");
        }
    }

    @Test
    void retransmissionBacksOffAndEndsTheConnectionWithATimeout() throws Exception {
        TcpSettings s = TcpSettings.defaults().withMaxRetransmits(4);
        try (TcpPeer p = new TcpPeer(s)) {
            Conn c = p.acceptPlain(80, 40005);
            c.endpoint.write(new byte[100], 0, 100, SECOND);
            Seg first = p.takeOne();
            assertEquals(100, first.payloadLength());
            long last = p.timers.clock().nanoTime();
            long previousGap = 0;
            for (int i = 0; i < 4; i++) {
                long before = p.timers.clock().nanoTime();
                // Step until the retransmission appears.
                Seg again = null;
                for (int step = 0; step < 200_000 && again == null; step++) {
                    p.advance(Duration.ofMillis(1));
                    List<Seg> out = p.take();
                    if (!out.isEmpty()) {
                        again = out.getFirst();
                    }
                }
                assertTrue(again != null, "retransmission " + (i + 1) + " never came");
                assertEquals(first.seq(), again.seq());
                long gap = p.timers.clock().nanoTime() - last;
                last = p.timers.clock().nanoTime();
                if (i > 0) {
                    // RFC 6298 section 5.5: the timer doubles after each expiry.
                    assertTrue(gap >= 2 * previousGap - TimeUnit.MILLISECONDS.toNanos(2),
                            "gap " + gap + " after " + previousGap);
                }
                previousGap = gap;
                assertTrue(p.timers.clock().nanoTime() > before);
            }
            assertEquals(4, p.stats.tcp.retransmits.value());
            p.advance(Duration.ofMinutes(5));
            assertEquals(TcpState.CLOSED, c.endpoint.state());
            IOException e = assertThrows(IOException.class, () -> c.endpoint.write(new byte[1], 0, 1, SECOND));
            assertInstanceOf(SocketTimeoutException.class, e);
            assertEquals(1, p.stats.tcp.establishedTimedout.value());
            List<Seg> last1 = p.take();
            assertTrue(last1.stream().anyMatch(x -> x.has(RST)), "the peer is told with a reset: " + last1);
        }
    }

    @Test
    void zeroWindowIsProbedWithGrowingIntervals() throws Exception {
        try (TcpPeer p = new TcpPeer()) {
            Conn c = p.acceptPlain(80, 40006);
            c.ack(0);
            c.endpoint.write(new byte[500], 0, 500, SECOND);
            assertTrue(p.take().isEmpty(), "nothing may be sent into a zero window");
            long[] at = new long[3];
            int seen = 0;
            for (int step = 0; step < 300 && seen < 3; step++) {
                p.advance(Duration.ofMillis(100));
                for (Seg s : p.take()) {
                    // RFC 9293 section 3.8.6.1: a probe carries at most one byte.
                    assertTrue(s.payloadLength() <= 1, "probe too large: " + s);
                    at[seen++] = p.timers.clock().nanoTime();
                    break;
                }
            }
            assertEquals(3, seen, "three persist probes in 30 s");
            assertTrue(at[2] - at[1] > at[1] - at[0], "the persist interval backs off");
            assertEquals(3, p.stats.tcp.persistProbesSent.value());
            assertEquals(TcpState.ESTABLISHED, c.endpoint.state(), "a zero window never times out");

            c.ack(65535);
            List<Seg> after = p.take();
            int bytes = after.stream().mapToInt(Seg::payloadLength).sum();
            assertTrue(bytes >= 499, "the window opens and the data flows: " + after);
        }
    }

    /**
     * Gives the connection an RTT sample of exactly {@code rtt}: one small segment, answered after
     * that long on the manual clock (no timestamps, so the sender times the segment itself).
     */
    private static void measureRoundTrip(TcpPeer p, Conn c, Duration rtt) throws Exception {
        c.endpoint.write(new byte[100], 0, 100, SECOND);
        Seg s = p.takeOne();
        assertEquals(100, s.payloadLength());
        p.advance(rtt);
        assertTrue(p.take().isEmpty(), "nothing resent within the first round trip");
        c.localSeq = s.seq() + 100;
        c.ack(65535);
    }

    /** The tail-loss probe a test waits for, and how many milliseconds it came after the wait began. */
    private record Probe(Seg segment, long waitedMs) {}

    /** Steps the clock 1 ms at a time for up to 200 ms; the first segment sent then, alone, or null. */
    private static Probe nextProbe(TcpPeer p) {
        for (int ms = 1; ms <= 200; ms++) {
            p.advance(Duration.ofMillis(1));
            List<Seg> out = p.take();
            if (!out.isEmpty()) {
                assertEquals(1, out.size(), "one probe: " + out);
                return new Probe(out.getFirst(), ms);
            }
        }
        return null;
    }

    @Test
    void aLoneSegmentWhoseAckIsDelayedDrawsNoTailLossProbe() throws Exception {
        try (TcpPeer p = new TcpPeer()) {
            Conn c = p.acceptPlain(80, 40010);
            // A fast path: twice the smoothed RTT (10 ms) is far less than the 40 ms a Linux receiver
            // may hold the ACK of a lone segment for, let alone the 200 ms of other stacks.
            measureRoundTrip(p, c, Duration.ofMillis(5));
            for (int holdMillis : new int[] {40, 150}) {
                c.endpoint.write(new byte[300], 0, 300, SECOND);
                Seg lone = p.takeOne();
                assertEquals(300, lone.payloadLength());
                for (int ms = 0; ms < holdMillis; ms++) {
                    p.advance(Duration.ofMillis(1));
                    List<Seg> again = p.take();
                    assertTrue(again.isEmpty(), "resent while the peer delays its ACK by " + holdMillis
                            + " ms, after " + (ms + 1) + " ms: " + again);
                }
                c.localSeq = lone.seq() + 300;
                c.ack(65535);
            }
            // RFC 8985 section 7.2: one segment in flight waits out the peer's delayed ACK.
            assertEquals(0, p.stats.tcp.tlpRecovery.value(), "no tail-loss probe");
            assertEquals(0, p.stats.tcp.retransmits.value(), "no retransmission");
            p.advance(Duration.ofSeconds(2));
            assertTrue(p.take().isEmpty(), "everything acknowledged: no timer left to fire");
        }
    }

    @Test
    void anAckLeavingOneSegmentInFlightWithdrawsTheProbeArmedForTwo() throws Exception {
        try (TcpPeer p = new TcpPeer()) {
            Conn c = p.acceptPlain(80, 40013);
            measureRoundTrip(p, c, Duration.ofMillis(5));
            c.endpoint.setNagle(false);
            int mss = 1460;
            c.endpoint.write(new byte[mss + 300], 0, mss + 300, SECOND);
            List<Seg> flight = p.take();
            assertEquals(2, flight.size(), "a full segment and a short one: " + flight);
            // The first is acknowledged a round trip later; the ACK of the lone second one is delayed.
            p.advance(Duration.ofMillis(5));
            c.localSeq = flight.getFirst().seq() + mss;
            c.ack(65535);
            for (int ms = 0; ms < 40; ms++) {
                p.advance(Duration.ofMillis(1));
                List<Seg> again = p.take();
                assertTrue(again.isEmpty(), "resent while the peer delays its ACK, after " + (ms + 1) + " ms: " + again);
            }
            c.localSeq = flight.getLast().seq() + 300;
            c.ack(65535);
            assertEquals(0, p.stats.tcp.tlpRecovery.value(), "no tail-loss probe");
            assertEquals(0, p.stats.tcp.retransmits.value(), "no retransmission");
        }
    }

    @Test
    void aLostTailOfSeveralSegmentsIsProbedAfterTwoRoundTrips() throws Exception {
        try (TcpPeer p = new TcpPeer()) {
            Conn c = p.acceptPlain(80, 40011);
            // SRTT 20 ms: the probe timeout 2 * SRTT = 40 ms is above the 10 ms floor and below the 200 ms RTO.
            measureRoundTrip(p, c, Duration.ofMillis(20));
            int mss = 1460;
            c.endpoint.write(new byte[4 * mss], 0, 4 * mss, SECOND);
            List<Seg> flight = p.take();
            assertEquals(4, flight.size(), "four full segments: " + flight);
            // The first arrives and is acknowledged a round trip later; the three behind it are lost.
            p.advance(Duration.ofMillis(20));
            c.localSeq = flight.getFirst().seq() + mss;
            c.ack(65535);
            assertTrue(p.take().isEmpty());
            Probe probe = nextProbe(p);
            assertTrue(probe != null, "the lost tail was never probed");
            // RFC 8985 section 7.3: with no new data to send, the probe is the last segment again.
            assertEquals(flight.getLast().seq(), probe.segment().seq());
            assertEquals(mss, probe.segment().payloadLength());
            assertTrue(probe.waitedMs() >= 40 && probe.waitedMs() <= 42,
                    "probed 2 * SRTT after the last ACK, well before the RTO: " + probe.waitedMs());
            assertEquals(1, p.stats.tcp.tlpRecovery.value());
            assertEquals(0, p.stats.tcp.timeouts.value(), "no RTO was needed");
        }
    }

    @Test
    void aWholeFlightLostIsProbedAfterTwoRoundTrips() throws Exception {
        try (TcpPeer p = new TcpPeer()) {
            Conn c = p.acceptPlain(80, 40012);
            measureRoundTrip(p, c, Duration.ofMillis(20));
            int mss = 1460;
            c.endpoint.write(new byte[3 * mss], 0, 3 * mss, SECOND);
            List<Seg> flight = p.take();
            assertEquals(3, flight.size(), "three full segments: " + flight);
            // Nothing arrives: no ACK at all, only the probe can draw one before the RTO.
            Probe probe = nextProbe(p);
            assertTrue(probe != null, "the lost flight was never probed");
            assertEquals(flight.getLast().seq(), probe.segment().seq());
            assertTrue(probe.waitedMs() >= 40 && probe.waitedMs() <= 42,
                    "probed 2 * SRTT after the flight went out, well before the RTO: " + probe.waitedMs());
            assertEquals(1, p.stats.tcp.tlpRecovery.value());
            assertEquals(0, p.stats.tcp.timeouts.value());
        }
    }

    @Test
    void keepAliveProbesAnIdlePeerAndGivesUp() throws Exception {
        TcpSettings s = TcpSettings.defaults().withKeepAlive(true, Duration.ofSeconds(10), Duration.ofSeconds(2), 3);
        try (TcpPeer p = new TcpPeer(s)) {
            Conn c = p.acceptPlain(80, 40007);
            p.advance(Duration.ofSeconds(9));
            assertTrue(p.take().isEmpty(), "no probe before the idle time");
            p.advance(Duration.ofSeconds(1));
            Seg probe = p.takeOne();
            // RFC 9293 section 3.8.4: SEG.SEQ = SND.NXT - 1 draws an ACK from a live peer.
            assertEquals(c.localSeq - 1, probe.seq());
            assertEquals(0, probe.payloadLength());

            c.ack(65535);
            p.advance(Duration.ofSeconds(9));
            assertTrue(p.take().isEmpty(), "an answer restarts the idle clock");
            p.advance(Duration.ofSeconds(1));
            assertEquals(1, p.take().size());
            p.advance(Duration.ofSeconds(2));
            assertEquals(1, p.take().size());
            p.advance(Duration.ofSeconds(2));
            assertEquals(1, p.take().size());
            p.advance(Duration.ofSeconds(2));
            List<Seg> end = p.take();
            assertTrue(end.stream().anyMatch(x -> x.has(RST)), "gives up with a reset: " + end);
            assertEquals(TcpState.CLOSED, c.endpoint.state());
            assertThrows(SocketTimeoutException.class, () -> c.endpoint.read(new byte[1], 0, 1, SECOND));
            assertEquals(4, p.stats.tcp.keepAliveProbesSent.value(), "one answered probe and three unanswered");
        }
    }

    @Test
    void activeCloseLingersInTimeWaitForTheConfiguredTime() throws Exception {
        TcpSettings s = TcpSettings.defaults().withTimeWait(Duration.ofSeconds(7));
        try (TcpPeer p = new TcpPeer(s)) {
            Conn c = p.acceptPlain(80, 40008);
            c.endpoint.close();
            Seg fin = p.takeOne();
            assertTrue(fin.has(FIN));
            assertEquals(TcpState.FIN_WAIT_1, c.endpoint.state());
            c.localSeq = fin.seq() + 1;
            c.ack(65535);
            assertEquals(TcpState.FIN_WAIT_2, c.endpoint.state());
            c.send(FIN | ACK, 65535, NONE);
            Seg lastAck = p.takeOne();
            assertEquals(ACK, lastAck.flags());
            assertEquals(c.peerSeq, lastAck.ack());
            assertEquals(TcpState.TIME_WAIT, c.endpoint.state());

            // RFC 9293 section 3.6.1: a retransmitted FIN in TIME-WAIT is acknowledged again.
            p.send(c.peerPort, c.localPort, c.peerSeq - 1, c.localSeq, FIN | ACK, 65535, NONE);
            assertEquals(ACK, p.takeOne().flags());

            p.advance(Duration.ofSeconds(6));
            assertEquals(TcpState.TIME_WAIT, c.endpoint.state());
            assertEquals(1, p.tcp.connectionCount());
            p.advance(Duration.ofSeconds(2));
            assertEquals(TcpState.CLOSED, c.endpoint.state());
            assertEquals(0, p.tcp.connectionCount());
            assertEquals(1, p.stats.tcp.establishedClosed.value());
        }
    }

    @Test
    void passiveCloseGoesThroughCloseWaitAndLastAck() throws Exception {
        try (TcpPeer p = new TcpPeer()) {
            Conn c = p.acceptPlain(80, 40009);
            c.send(FIN | ACK, 65535, new byte[] {7});
            Seg ack = p.takeOne();
            assertEquals(c.peerSeq, ack.ack());
            assertEquals(TcpState.CLOSE_WAIT, c.endpoint.state());
            byte[] b = new byte[4];
            assertEquals(1, c.endpoint.read(b, 0, 4, SECOND));
            assertEquals(-1, c.endpoint.read(b, 0, 4, SECOND), "EOF after the FIN");
            // Half-close: this side may still send.
            c.endpoint.setNagle(false);
            c.endpoint.write(new byte[] {1, 2}, 0, 2, SECOND);
            Seg data = p.takeOne();
            assertEquals(2, data.payloadLength());
            c.localSeq = data.seq() + 2;
            c.endpoint.close();
            Seg fin = p.takeOne();
            assertTrue(fin.has(FIN));
            assertEquals(TcpState.LAST_ACK, c.endpoint.state());
            c.localSeq = fin.seq() + 1;
            c.ack(65535);
            assertEquals(TcpState.CLOSED, c.endpoint.state());
            assertEquals(0, p.tcp.connectionCount(), "no TIME-WAIT on the passive side");
        }
    }

    @Test
    void simultaneousCloseGoesThroughClosing() throws Exception {
        try (TcpPeer p = new TcpPeer()) {
            Conn c = p.acceptPlain(80, 40010);
            c.endpoint.close();
            Seg fin = p.takeOne();
            // The peer's FIN crosses ours: it does not acknowledge our FIN yet.
            c.send(FIN | ACK, 65535, NONE);
            assertEquals(TcpState.CLOSING, c.endpoint.state());
            assertEquals(c.peerSeq, p.takeOne().ack());
            c.localSeq = fin.seq() + 1;
            c.ack(65535);
            assertEquals(TcpState.TIME_WAIT, c.endpoint.state());
        }
    }

    @Test
    void simultaneousOpenCompletesThroughSynReceived() throws Exception {
        try (TcpPeer p = new TcpPeer()) {
            AtomicReference<Object> result = new AtomicReference<>();
            Thread dialer = Thread.ofVirtual().start(() -> {
                try {
                    result.set(p.tcp.connect(TcpPeer.LOCAL, TcpPeer.PEER, 9000, 10 * SECOND));
                } catch (IOException e) {
                    result.set(e);
                }
            });
            Seg syn = p.awaitSent().getFirst();
            assertEquals(SYN, syn.flags());
            assertEquals(1, p.stats.tcp.activeConnectionOpenings.value());
            // RFC 9293 figure 7: the peer's own SYN crosses ours.
            p.send(9000, syn.srcPort(), 50_000, 0, SYN, 65535, TcpPeer.synOptions(1460, -1, false, 0), NONE);
            Seg synAck = p.takeOne();
            assertEquals(SYN | ACK, synAck.flags());
            assertEquals(syn.seq(), synAck.seq());
            assertEquals(50_001, synAck.ack());
            p.send(9000, syn.srcPort(), 50_001, syn.seq() + 1, ACK, 65535, NONE);
            dialer.join(10_000);
            assertInstanceOf(TcpEndpoint.class, result.get(), String.valueOf(result.get()));
            assertEquals(TcpState.ESTABLISHED, ((TcpEndpoint) result.get()).state());
        }
    }

    @Test
    void dialIsRefusedByAResetAndRetransmitsItsSyn() throws Exception {
        try (TcpPeer p = new TcpPeer()) {
            AtomicReference<Object> result = new AtomicReference<>();
            Thread dialer = Thread.ofVirtual().start(() -> {
                try {
                    result.set(p.tcp.connect(TcpPeer.LOCAL, TcpPeer.PEER, 9001, 60 * SECOND));
                } catch (IOException e) {
                    result.set(e);
                }
            });
            Seg syn = p.awaitSent().getFirst();
            p.advance(Duration.ofMillis(1100));
            Seg again = p.takeOne();
            assertEquals(syn.seq(), again.seq(), "the SYN is retransmitted after the initial RTO (RFC 6298 2.1)");
            p.send(9001, syn.srcPort(), 0, syn.seq() + 1, RST | ACK, 0, NONE);
            dialer.join(10_000);
            assertInstanceOf(ConnectException.class, result.get());
            assertEquals(1, p.stats.tcp.failedConnectionAttempts.value());
        }
    }

    @Test
    void delayedAckWaitsForASecondSegmentOrTheTimer() throws Exception {
        try (TcpPeer p = new TcpPeer()) {
            Conn c = p.acceptPlain(80, 40011);
            c.send(ACK, 65535, new byte[1460]);
            assertTrue(p.take().isEmpty(), "one full segment is not acknowledged at once");
            c.send(ACK, 65535, new byte[1460]);
            Seg ack = p.takeOne();
            assertEquals(c.peerSeq, ack.ack(), "RFC 9293 3.8.6.3: every second full-sized segment is acknowledged");

            c.send(ACK, 65535, new byte[100]);
            assertTrue(p.take().isEmpty());
            p.advance(TcpSettings.DEFAULT_DELAYED_ACK.minusMillis(1));
            assertTrue(p.take().isEmpty());
            p.advance(Duration.ofMillis(2));
            assertEquals(c.peerSeq, p.takeOne().ack(), "the delayed-ACK timer fires");
        }
    }

    @Test
    void nagleHoldsSmallSegmentsWhileDataIsUnacknowledged() throws Exception {
        try (TcpPeer p = new TcpPeer()) {
            Conn c = p.acceptPlain(80, 40012);
            c.endpoint.write(new byte[10], 0, 10, SECOND);
            assertEquals(10, p.takeOne().payloadLength());
            c.endpoint.write(new byte[10], 0, 10, SECOND);
            c.endpoint.write(new byte[10], 0, 10, SECOND);
            assertTrue(p.take().isEmpty(), "RFC 9293 3.7.4: small segments wait for the ACK");
            c.localSeq += 10;
            c.ack(65535);
            assertEquals(20, p.takeOne().payloadLength(), "and then go out together");
            c.localSeq += 20;
            c.ack(65535);

            c.endpoint.setNagle(false);
            c.endpoint.write(new byte[10], 0, 10, SECOND);
            c.endpoint.write(new byte[10], 0, 10, SECOND);
            assertEquals(2, p.take().size(), "without Nagle each write goes at once");
        }
    }

    @Test
    void forwarderAbsorbsRetransmittedSynsAndDropsPastItsLimit() throws Exception {
        try (TcpPeer p = new TcpPeer()) {
            AtomicInteger dispatched = new AtomicInteger();
            CountDownLatch release = new CountDownLatch(1);
            TcpForwarder f = new TcpForwarder(p.tcp, 0, 1, r -> {
                dispatched.incrementAndGet();
                try {
                    release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                r.complete(true);
            });
            p.send(41000, 443, 10, 0, SYN, 65535, NONE);
            p.send(41000, 443, 10, 0, SYN, 65535, NONE);
            assertEquals(1, f.inFlight());
            p.send(41001, 443, 10, 0, SYN, 65535, NONE);
            assertEquals(1, p.stats.tcp.forwardMaxInFlightDrop.value(), "the second flow is past the limit");
            assertTrue(p.take().isEmpty(), "a dropped SYN is not answered");

            f.setMaxInFlight(2);
            p.send(41002, 443, 10, 0, SYN, 65535, NONE);
            assertEquals(2, f.inFlight(), "the raised limit applies at once");
            release.countDown();
            dev.loomstack.testing.Await.until(Duration.ofSeconds(10), "requests complete", () -> f.inFlight() == 0);
            assertEquals(2, dispatched.get(), "the retransmitted SYN was absorbed");
            List<Seg> resets = p.take();
            assertEquals(2, resets.size());
            assertTrue(resets.stream().allMatch(x -> x.flags() == (RST | ACK) && x.ack() == 11));
        }
    }

    @Test
    void aClientResetCancelsTheForwarderRequestInFlight() throws Exception {
        try (TcpPeer p = new TcpPeer()) {
            CountDownLatch cancelled = new CountDownLatch(1);
            CountDownLatch handlerDone = new CountDownLatch(1);
            AtomicReference<ForwarderRequest> request = new AtomicReference<>();
            AtomicReference<Throwable> afterCancel = new AtomicReference<>();
            TcpForwarder f = new TcpForwarder(p.tcp, 0, 8, r -> {
                request.set(r);
                r.onCancel(cancelled::countDown);
                try {
                    // Stands for a slow dial upstream, abandoned when the client goes away.
                    if (cancelled.await(10, TimeUnit.SECONDS)) {
                        r.createEndpoint();
                    }
                } catch (Throwable t) {
                    afterCancel.set(t);
                } finally {
                    handlerDone.countDown();
                }
            });
            p.send(42000, 443, 10, 0, SYN, 65535, NONE);
            dev.loomstack.testing.Await.until(Duration.ofSeconds(10), "the handler runs", () -> request.get() != null);
            // The client gives up: its RST for the four-tuple arrives while the request is in flight.
            p.send(42000, 443, 11, 0, RST, 0, NONE);
            assertTrue(handlerDone.await(10, TimeUnit.SECONDS), "the handler learns of it");
            assertTrue(request.get().isCancelled());
            assertInstanceOf(IOException.class, afterCancel.get(), "a cancelled request cannot complete the handshake");
            assertTrue(p.take().isEmpty(), "no SYN-ACK goes to a client that reset");
            dev.loomstack.testing.Await.until(Duration.ofSeconds(10), "the slot is free", () -> f.inFlight() == 0);
        }
    }
}
