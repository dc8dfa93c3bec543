package dev.loomstack.tcp;

import static dev.loomstack.packet.TcpHeader.ACK;
import static dev.loomstack.packet.TcpHeader.RST;
import static dev.loomstack.packet.TcpHeader.SYN;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.tcp.TcpPeer.Seg;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The accept queue and its backlog accounting, including a listener closed while its connections reset. */
class TcpListenerTest {
    private static final byte[] NONE = new byte[0];
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);
    private static final int PEER_ISS = 5_000;

    /** A connection's peer side: its port and the next sequence number it sends. */
    private record PeerSide(int port, int nextSeq) {}

    private static PeerSide synOnly(TcpPeer p, int listenPort, int peerPort) {
        p.send(peerPort, listenPort, PEER_ISS, 0, SYN, 65535, TcpPeer.synOptions(1460, -1, false, 0), NONE);
        Seg synAck = p.takeOne();
        assertTrue(synAck.has(SYN) && synAck.has(ACK), "SYN-ACK expected, got " + synAck);
        return new PeerSide(peerPort, synAck.seq() + 1);
    }

    private static void completeHandshake(TcpPeer p, int listenPort, PeerSide side) {
        p.send(side.port(), listenPort, PEER_ISS + 1, side.nextSeq(), ACK, 65535, NONE);
    }

    /** RFC 9293 section 3.10.7.4 with RFC 5961 section 3.2: a reset exactly at RCV.NXT ends the connection. */
    private static void reset(TcpPeer p, int listenPort, PeerSide side) {
        p.send(side.port(), listenPort, PEER_ISS + 1, 0, RST, 0, NONE);
    }

    @Test
    void aResetQueuedConnectionDoesNotReleaseAHalfOpenConnectionsSlot() throws Exception {
        try (TcpPeer p = new TcpPeer()) {
            TcpListener l = p.tcp.listen(TcpPeer.LOCAL, 80, 8);
            PeerSide queued = synOnly(p, 80, 41000);
            assertEquals(1, l.pendingCount());
            completeHandshake(p, 80, queued);
            assertEquals(0, l.pendingCount(), "established: waiting in the accept queue, no longer half-open");

            PeerSide halfOpen = synOnly(p, 80, 41001);
            assertEquals(1, l.pendingCount());
            reset(p, 80, queued);
            assertEquals(1, l.pendingCount(), "the reset of a queued connection leaves the half-open count alone");

            TcpEndpoint first = l.accept(SECOND);
            assertEquals(TcpState.CLOSED, first.state(), "the reset connection is still handed out, closed");
            completeHandshake(p, 80, halfOpen);
            assertEquals(0, l.pendingCount());
            TcpEndpoint second = l.accept(SECOND);
            assertEquals(TcpState.ESTABLISHED, second.state());
            assertEquals(41001, second.remotePort());
            l.close();
            assertEquals(0, l.pendingCount());
        }
    }

    @Test
    void closeRacingResetsOfQueuedConnectionsNeitherDeadlocksNorMiscounts() throws Exception {
        final int iterations = 200;
        final int queuedPerIteration = 16;
        final int halfOpenPerIteration = 2;
        long wallEnd = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        TcpPeer p = new TcpPeer();
        boolean stuck = false;
        try {
            for (int it = 0; it < iterations && System.nanoTime() < wallEnd; it++) {
                int listenPort = 1000 + it;
                int peerPortBase = 20_000 + it * (queuedPerIteration + halfOpenPerIteration);
                TcpListener l = p.tcp.listen(TcpPeer.LOCAL, listenPort, 64);
                List<PeerSide> queued = new ArrayList<>();
                for (int k = 0; k < queuedPerIteration; k++) {
                    PeerSide side = synOnly(p, listenPort, peerPortBase + k);
                    completeHandshake(p, listenPort, side);
                    queued.add(side);
                }
                for (int k = 0; k < halfOpenPerIteration; k++) {
                    synOnly(p, listenPort, peerPortBase + queuedPerIteration + k);
                }
                assertEquals(halfOpenPerIteration, l.pendingCount());

                CyclicBarrier start = new CyclicBarrier(2);
                AtomicReference<Throwable> failure = new AtomicReference<>();
                Thread resetter = Thread.ofPlatform().daemon().name("resets-" + it).start(() -> {
                    try {
                        start.await(5, TimeUnit.SECONDS);
                        for (PeerSide side : queued) {
                            reset(p, listenPort, side);
                        }
                    } catch (Throwable t) {
                        failure.set(t);
                    }
                });
                Thread closer = Thread.ofPlatform().daemon().name("close-" + it).start(() -> {
                    try {
                        start.await(5, TimeUnit.SECONDS);
                        l.close();
                    } catch (Throwable t) {
                        failure.set(t);
                    }
                });
                resetter.join(TimeUnit.SECONDS.toMillis(10));
                closer.join(TimeUnit.SECONDS.toMillis(10));
                if (resetter.isAlive() || closer.isAlive()) {
                    stuck = true;
                    long[] deadlocked = ManagementFactory.getThreadMXBean().findDeadlockedThreads();
                    throw new AssertionError("close and resets did not finish within 10 s in iteration " + it
                            + "; deadlocked threads: " + Arrays.toString(deadlocked));
                }
                assertSame(null, failure.get());
                assertEquals(halfOpenPerIteration, l.pendingCount(),
                        "only the half-open connections count as pending after iteration " + it);
                p.take();
            }
        } finally {
            if (!stuck) {
                // A deadlocked listener would hang the clean-up too.
                p.close();
            }
        }
    }
}
