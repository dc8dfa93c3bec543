package dev.loomstack.engine;

/**
 * Limits on TCP connections whose handshake is in flight (the seed's {@code maxInFlightConnectionAttempts}
 * and {@code maxInFlightConnectionAttemptsPerClient}).
 */
public record InFlightLimits(int maxInFlight, int maxInFlightPerClient) {
    /** The Linux default for {@code net.core.somaxconn}-style global limits, as the seed uses. */
    public static final int LINUX_DEFAULT_MAX_IN_FLIGHT = 8192;

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
}
