package dev.loomstack.engine;

/**
 * Limits on TCP connections whose handshake is in flight (the seed's {@code maxInFlightConnectionAttempts}
 * and {@code maxInFlightConnectionAttemptsPerClient}).
 */
public record InFlightLimits(int maxInFlight, int maxInFlightPerClient) {
    /** Linux's default for {@code net.ipv4.tcp_max_syn_backlog}-style limits, as the seed uses. */
    public static final int LINUX_DEFAULT_MAX_IN_FLIGHT = 8192;
    /**
     * What one in-flight attempt may come to cost: the accepted endpoint's initial receive window
     * (128 KiB), the upstream socket and two copy buffers of 64 KiB.
     */
    static final long BYTES_PER_ATTEMPT = 512 << 10;
    /** Below this the router could not serve even a small site. */
    static final int MIN_DERIVED = 256;

    public InFlightLimits {
        if (maxInFlight < 1) {
            throw new IllegalArgumentException("maxInFlight must be at least 1, got " + maxInFlight);
        }
        if (maxInFlightPerClient < 1 || maxInFlightPerClient > maxInFlight) {
            throw new IllegalArgumentException("maxInFlightPerClient must be between 1 and maxInFlight ("
                    + maxInFlight + "), got " + maxInFlightPerClient);
        }
    }

    /** The seed's per-client share: two thirds of the global limit. */
    public static InFlightLimits withDefaultPerClient(int maxInFlight) {
        return new InFlightLimits(maxInFlight, Math.max(1, maxInFlight * 2 / 3));
    }

    /**
     * The default when nothing is configured (the seed's TODO asks for one that fits the machine):
     * as many attempts as a quarter of the JVM's maximum heap can carry at
     * {@link #BYTES_PER_ATTEMPT} each, between {@link #MIN_DERIVED} and Linux's 8192.
     */
    public static InFlightLimits derivedFromMemory(long maxHeapBytes) {
        long fit = maxHeapBytes / 4 / BYTES_PER_ATTEMPT;
        int global = (int) Math.max(MIN_DERIVED, Math.min(LINUX_DEFAULT_MAX_IN_FLIGHT, fit));
        return withDefaultPerClient(global);
    }

    public static InFlightLimits forThisJvm() {
        return derivedFromMemory(Runtime.getRuntime().maxMemory());
    }
}
