package dev.loomstack.engine;

import java.lang.management.ManagementFactory;

/**
 * Limits on forwarded flows: TCP connections whose handshake is in flight (Tailscale's netstack's
 * {@code maxInFlightConnectionAttempts} and {@code maxInFlightConnectionAttemptsPerClient}) and UDP
 * flows open at once ({@code maxUdpFlows}, which Tailscale's netstack leaves unbounded).
 */
public record InFlightLimits(int maxInFlight, int maxInFlightPerClient, int maxUdpFlows) {
    /** Linux's default for {@code net.ipv4.tcp_max_syn_backlog}-style limits, as Tailscale's netstack uses. */
    public static final int LINUX_DEFAULT_MAX_IN_FLIGHT = 8192;
    /**
     * What one in-flight attempt may come to cost once it carries data: the accepted endpoint's
     * initial receive window (128 KiB), the upstream socket and two borrowed 64 KiB copy buffers
     * ({@link CopyBuffers}; idle, a forwarded flow holds none).
     */
    static final long BYTES_PER_ATTEMPT = 512 << 10;
    /** Below this the router could not serve even a small site. */
    static final int MIN_DERIVED = 256;
    /**
     * What one open UDP flow may come to cost in heap: about 6.2 KiB measured idle
     * ({@code UdpFlowFootprintTest}: endpoint, parked virtual thread, socket channel and its key,
     * flow-list entry), rounded up for the datagrams a busy flow briefly holds.
     */
    static final long BYTES_PER_UDP_FLOW = 8 << 10;
    /** Below this a small site's DNS and VoIP flows would not fit. */
    static final int MIN_DERIVED_UDP_FLOWS = 1024;
    /**
     * Every forwarded UDP flow binds its own host port (the client's, or another when that is
     * taken), and one address family has 65,535 of them: more flows could never be opened.
     */
    public static final int MAX_UDP_FLOWS = 65_536;

    public InFlightLimits {
        if (maxInFlight < 1) {
            throw new IllegalArgumentException("maxInFlight must be at least 1, got " + maxInFlight);
        }
        if (maxInFlightPerClient < 1 || maxInFlightPerClient > maxInFlight) {
            throw new IllegalArgumentException("maxInFlightPerClient must be between 1 and maxInFlight ("
                    + maxInFlight + "), got " + maxInFlightPerClient);
        }
        if (maxUdpFlows < 1 || maxUdpFlows > MAX_UDP_FLOWS) {
            throw new IllegalArgumentException("maxUdpFlows must be between 1 and " + MAX_UDP_FLOWS + ", got " + maxUdpFlows);
        }
    }

    /** TCP limits as given, the UDP flow limit derived for this JVM ({@link #udpFlowsForThisJvm()}). */
    public InFlightLimits(int maxInFlight, int maxInFlightPerClient) {
        this(maxInFlight, maxInFlightPerClient, udpFlowsForThisJvm());
    }

    /** Tailscale's netstack's per-client share: two thirds of the global limit. */
    public static InFlightLimits withDefaultPerClient(int maxInFlight) {
        return new InFlightLimits(maxInFlight, Math.max(1, maxInFlight * 2 / 3));
    }

    public InFlightLimits withMaxUdpFlows(int n) {
        return new InFlightLimits(maxInFlight, maxInFlightPerClient, n);
    }

    /**
     * The default when nothing is configured (Tailscale's netstack's TODO asks for one that fits the
     * machine): as many attempts as a quarter of the JVM's maximum heap can carry at
     * {@link #BYTES_PER_ATTEMPT} each, between {@link #MIN_DERIVED} and Linux's 8192; UDP flows as
     * {@link #udpFlowsFor}.
     */
    public static InFlightLimits derivedFromMemory(long maxHeapBytes) {
        long fit = maxHeapBytes / 4 / BYTES_PER_ATTEMPT;
        int global = (int) Math.max(MIN_DERIVED, Math.min(LINUX_DEFAULT_MAX_IN_FLIGHT, fit));
        return new InFlightLimits(global, Math.max(1, global * 2 / 3), udpFlowsForThisJvm());
    }

    public static InFlightLimits forThisJvm() {
        return derivedFromMemory(Runtime.getRuntime().maxMemory());
    }

    /**
     * The default UDP flow limit: as many flows as a quarter of the heap carries at
     * {@link #BYTES_PER_UDP_FLOW} each, between {@link #MIN_DERIVED_UDP_FLOWS} and
     * {@link #MAX_UDP_FLOWS}, and never more than half the process's file-descriptor limit (each
     * flow holds a socket; the other half stays for TCP flows, the TUN and the service), so a
     * flood of new flows is dropped and counted before the process runs out of descriptors.
     */
    static int udpFlowsFor(long maxHeapBytes, long maxFileDescriptors) {
        long byMemory = Math.max(MIN_DERIVED_UDP_FLOWS, Math.min(MAX_UDP_FLOWS, maxHeapBytes / 4 / BYTES_PER_UDP_FLOW));
        long byDescriptors = Math.max(1, maxFileDescriptors / 2);
        return (int) Math.min(byMemory, byDescriptors);
    }

    public static int udpFlowsForThisJvm() {
        return udpFlowsFor(Runtime.getRuntime().maxMemory(), maxFileDescriptors());
    }

    private static long maxFileDescriptors() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
            return unix.getMaxFileDescriptorCount();
        }
        return Long.MAX_VALUE;
    }

    /** For log lines: the fields as an operator reads them, digits without grouping. */
    @Override
    public String toString() {
        return "max-in-flight " + maxInFlight + ", per client " + maxInFlightPerClient + ", UDP flows " + maxUdpFlows;
    }
}
