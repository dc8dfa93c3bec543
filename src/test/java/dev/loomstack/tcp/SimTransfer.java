package dev.loomstack.tcp;

import dev.loomstack.packet.IpAddress;
import dev.loomstack.stack.Stats;
import dev.loomstack.testing.Await;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One bulk transfer from B to A over a {@link SimNetwork}, with both applications driven from the
 * simulation's own thread between time steps: the sender tops its send buffer up, the receiver
 * reads what has arrived and checks every byte against the stream's pattern. Nothing runs on
 * another thread once the connection is open, so a transfer, its losses and its timing are the
 * same on every run and on any machine, however loaded.
 *
 * <p>Goodput is the stream's size over the simulated time from the first byte written to the last
 * byte read.
 */
final class SimTransfer {
    static final int PORT = 5001;
    private static final int CHUNK = 64 * 1024;
    private static final long WRITE_GUARD_NANOS = TimeUnit.SECONDS.toNanos(1);

    final SimNetwork net;
    final long size;
    final TcpEndpoint sender;
    final TcpEndpoint receiver;
    private final TcpListener listener;
    private final byte[] outgoing = new byte[CHUNK];
    private final byte[] incoming = new byte[CHUNK];
    private long written;
    private long received;
    private boolean finSent;
    private boolean finReceived;
    private long startNanos = -1;
    private long endNanos = -1;
    private SimTrace trace;

    private SimTransfer(SimNetwork net, long size, TcpListener listener, TcpEndpoint sender, TcpEndpoint receiver) {
        this.net = net;
        this.size = size;
        this.listener = listener;
        this.sender = sender;
        this.receiver = receiver;
    }

    /**
     * Opens the connection (B connects to A over IPv4; the handshake runs in simulated time on a
     * virtual thread, whose only job is the blocking connect call) and returns once both ends are
     * established, before any data moves.
     */
    static SimTransfer open(SimNetwork net, long size) throws Exception {
        IpAddress a = SimNetwork.A4;
        IpAddress b = SimNetwork.B4;
        TcpListener listener = net.tcpA.listen(a, PORT, 4);
        AtomicReference<TcpEndpoint> connected = new AtomicReference<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread connector = Thread.ofVirtual().start(() -> {
            try {
                connected.set(net.tcpB.connect(b, a, PORT, TimeUnit.SECONDS.toNanos(60)));
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        // Time starts only once the SYN is on its way, so the handshake takes the same simulated time on every run.
        Await.until(Duration.ofSeconds(10), "the SYN sent",
                () -> failure.get() != null
                        || net.tcpB.connections().stream().anyMatch(e -> e.state() == TcpState.SYN_SENT));
        net.runUntil(() -> failure.get() != null || established(net.tcpA) && established(net.tcpB),
                Duration.ofMinutes(2), Duration.ofSeconds(20));
        connector.join(TimeUnit.SECONDS.toMillis(10));
        if (failure.get() != null) {
            throw new AssertionError("connecting failed", failure.get());
        }
        TcpEndpoint receiver = listener.accept(TimeUnit.SECONDS.toNanos(10));
        return new SimTransfer(net, size, listener, connected.get(), receiver);
    }

    private static boolean established(TcpProtocol tcp) {
        return tcp.connections().stream().anyMatch(e -> e.state() == TcpState.ESTABLISHED);
    }

    /** Samples {@code t} every step of the transfer. */
    SimTransfer trace(SimTrace t) {
        this.trace = t;
        return this;
    }

    Stats.TcpStats senderStats() {
        return net.statsB.tcp;
    }

    Stats.TcpStats receiverStats() {
        return net.statsA.tcp;
    }

    /**
     * Moves the whole stream and its FIN, failing when either limit passes first. The failure
     * says how far the stream got, so even a failing run gives its figure.
     */
    void run(Duration simulatedLimit, Duration wallLimit) throws IOException {
        runUntil(() -> done(), simulatedLimit, wallLimit);
    }

    /** Moves the stream until {@code condition} holds (checked between steps), within the limits. */
    void runUntil(java.util.function.BooleanSupplier condition, Duration simulatedLimit, Duration wallLimit)
            throws IOException {
        long simEnd = net.now() + simulatedLimit.toNanos();
        long wallEnd = System.nanoTime() + wallLimit.toNanos();
        if (startNanos < 0) {
            startNanos = net.now();
        }
        while (true) {
            pump();
            if (trace != null) {
                trace.tick(net.now());
            }
            if (condition.getAsBoolean()) {
                return;
            }
            if (net.now() >= simEnd) {
                throw new AssertionError("not done within " + simulatedLimit + " of simulated time: " + progress());
            }
            if (System.nanoTime() > wallEnd) {
                throw new AssertionError("not done within " + wallLimit + " of wall time: " + progress());
            }
            net.timers.advanceNanos(SimNetwork.STEP);
        }
    }

    boolean done() {
        return received == size && finReceived;
    }

    long received() {
        return received;
    }

    long startNanos() {
        return startNanos;
    }

    /** Simulated nanoseconds from the first byte written to the last byte read. */
    long elapsedNanos() {
        if (endNanos < 0) {
            throw new IllegalStateException("the stream has not all arrived");
        }
        return endNanos - startNanos;
    }

    double goodputBitsPerSecond() {
        return size * 8e9 / elapsedNanos();
    }

    /** How far the stream got, for failure messages. */
    String progress() {
        long elapsed = net.now() - startNanos;
        Stats.TcpStats s = senderStats();
        return String.format("%d of %d bytes read after %.2f s simulated (%.2f Mbit/s so far); sender: %d retransmits,"
                        + " %d timeouts, %d fast retransmits, %d SACK recoveries, %d TLPs, %d segments sent",
                received, size, elapsed / 1e9, elapsed > 0 ? received * 8e3 / elapsed : 0.0, s.retransmits.value(),
                s.timeouts.value(), s.fastRetransmit.value(), s.sackRecovery.value(), s.tlpRecovery.value(),
                s.segmentsSent.value());
    }

    /** One round of both applications, without blocking either. */
    private void pump() throws IOException {
        while (written < size) {
            int room = net.tcpB.settings().sendBufferSize() - sender.snapshot().sendBuffered();
            int n = (int) Math.min(Math.min(room, CHUNK), size - written);
            if (n <= 0) {
                break;
            }
            fill(outgoing, n, written);
            // Never more than the buffer has room for, so this does not wait; the guard turns a wait into a failure.
            sender.write(outgoing, 0, n, WRITE_GUARD_NANOS);
            written += n;
        }
        if (written == size && !finSent) {
            sender.shutdownOutput();
            finSent = true;
        }
        int n;
        while ((n = Math.min(receiver.available(), CHUNK)) > 0) {
            int got = receiver.read(incoming, 0, n, 0);
            check(incoming, got, received);
            received += got;
            if (received == size) {
                endNanos = net.now();
            }
        }
        if (received == size && !finReceived && receiver.state() == TcpState.CLOSE_WAIT) {
            finReceived = receiver.read(incoming, 0, 1, 0) < 0;
        }
    }

    /** Closes both ends and the listener. */
    void close() {
        sender.abort();
        receiver.abort();
        listener.close();
    }

    /** The stream's byte at {@code offset}: a fixed pseudo-random pattern, so any slip or corruption shows. */
    static byte patternAt(long offset) {
        long z = (offset >>> 3) * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z ^= z >>> 31;
        return (byte) (z >>> ((offset & 7) * 8));
    }

    private static void fill(byte[] b, int n, long offset) {
        for (int i = 0; i < n; i++) {
            b[i] = patternAt(offset + i);
        }
    }

    private static void check(byte[] b, int n, long offset) {
        for (int i = 0; i < n; i++) {
            if (b[i] != patternAt(offset + i)) {
                throw new AssertionError("stream byte " + (offset + i) + " differs from what was sent");
            }
        }
    }
}
