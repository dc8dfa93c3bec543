package dev.loomstack.engine;

import dev.loomstack.packet.IpAddress;
import dev.loomstack.stack.StatCounter;
import dev.loomstack.stack.TransportEndpointId;
import dev.loomstack.tcp.SynGate;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The per-client half of the in-flight limits (Tailscale's {@code connsInFlightByClient} and
 * {@code decrementInFlightTCPForward}); the global half is the {@link dev.loomstack.tcp.TcpForwarder}'s
 * own limit. A client is keyed by its IP address. The forwarder guarantees one {@link #admit}
 * per in-flight four-tuple, so retransmitted SYNs never count twice; every admitted four-tuple is
 * released exactly once.
 */
public final class InFlightLimiter implements SynGate {
    /** Process-wide: every engine in the JVM adds to it, as Tailscale's client metric. */
    static final LongAdder PROCESS_DROPPED_PER_CLIENT = new LongAdder();

    private final ConcurrentHashMap<IpAddress, AtomicInteger> byClient = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<TransportEndpointId, Boolean> admitted = new ConcurrentHashMap<>();
    private final StatCounter droppedPerClient;
    private volatile int maxPerClient;

    public InFlightLimiter(int maxPerClient, StatCounter droppedPerClient) {
        setMaxPerClient(maxPerClient);
        this.droppedPerClient = droppedPerClient;
    }

    public void setMaxPerClient(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("maxInFlightPerClient must be at least 1, got " + n);
        }
        maxPerClient = n;
    }

    public int maxPerClient() {
        return maxPerClient;
    }

    @Override
    public boolean admit(TransportEndpointId id) {
        IpAddress client = id.remoteAddress();
        boolean[] ok = new boolean[1];
        byClient.compute(client, (k, n) -> {
            AtomicInteger c = n == null ? new AtomicInteger() : n;
            if (c.get() < maxPerClient) {
                c.incrementAndGet();
                ok[0] = true;
            }
            return c.get() == 0 ? null : c;
        });
        if (!ok[0]) {
            droppedPerClient.increment();
            PROCESS_DROPPED_PER_CLIENT.increment();
            return false;
        }
        admitted.put(id, Boolean.TRUE);
        return true;
    }

    @Override
    public void released(TransportEndpointId id) {
        if (admitted.remove(id) == null) {
            return;
        }
        byClient.computeIfPresent(id.remoteAddress(), (k, c) -> c.decrementAndGet() <= 0 ? null : c);
    }

    /** In-flight attempts of {@code client} now. */
    public int inFlight(IpAddress client) {
        AtomicInteger c = byClient.get(client);
        return c == null ? 0 : c.get();
    }

    /** Attempts in flight now, over every client (no copy: read for every scrape). */
    public long inFlightTotal() {
        long total = 0;
        for (AtomicInteger c : byClient.values()) {
            total += c.get();
        }
        return total;
    }

    /** Clients now at (or, after the limit was lowered, over) their in-flight limit. */
    public long clientsAtLimit() {
        int limit = maxPerClient;
        long n = 0;
        for (AtomicInteger c : byClient.values()) {
            if (c.get() >= limit) {
                n++;
            }
        }
        return n;
    }

    /** Clients with attempts in flight, and how many each. */
    public Map<IpAddress, Integer> snapshot() {
        Map<IpAddress, Integer> m = new java.util.TreeMap<>();
        byClient.forEach((k, v) -> m.put(k, v.get()));
        return m;
    }

    /**
     * Tailscale's {@code netstack_tcp_forward_dropped_attempts_per_client}: attempts dropped by a
     * per-client limit, over every engine in this process.
     */
    public static long processWideDroppedPerClient() {
        return PROCESS_DROPPED_PER_CLIENT.sum();
    }
}
