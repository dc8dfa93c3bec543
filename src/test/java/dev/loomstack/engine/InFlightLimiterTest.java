package dev.loomstack.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.packet.IpAddress;
import dev.loomstack.stack.StatCounter;
import dev.loomstack.stack.TransportEndpointId;
import org.junit.jupiter.api.Test;

/** Per-client in-flight accounting (Tailscale's {@code connsInFlightByClient}). */
class InFlightLimiterTest {
    static final IpAddress A = IpAddress.parse("100.64.0.2");
    static final IpAddress B = IpAddress.parse("100.64.0.3");
    static final IpAddress DST = IpAddress.parse("100.64.0.1");

    static TransportEndpointId flow(IpAddress client, int port) {
        return new TransportEndpointId(DST, 80, client, port);
    }

    @Test
    void eachClientHasItsOwnBudget() {
        StatCounter dropped = new StatCounter();
        InFlightLimiter l = new InFlightLimiter(2, dropped);
        assertTrue(l.admit(flow(A, 1)));
        assertTrue(l.admit(flow(A, 2)));
        assertFalse(l.admit(flow(A, 3)), "third attempt of A is past its limit");
        assertTrue(l.admit(flow(B, 1)), "B is not held back by A");
        assertEquals(1, dropped.value());
        assertEquals(2, l.inFlight(A));
        assertEquals(1, l.inFlight(B));
    }

    @Test
    void releasingGivesTheSlotBackOnceOnly() {
        InFlightLimiter l = new InFlightLimiter(1, new StatCounter());
        assertTrue(l.admit(flow(A, 1)));
        l.released(flow(A, 1));
        l.released(flow(A, 1));
        assertEquals(0, l.inFlight(A));
        assertTrue(l.snapshot().isEmpty(), "an idle client leaves no entry behind");
        l.released(flow(A, 9));
        assertEquals(0, l.inFlight(A), "releasing what was never admitted changes nothing");
        assertTrue(l.admit(flow(A, 2)));
        assertFalse(l.admit(flow(A, 3)));
    }

    @Test
    void limitChangesApplyToTheNextAttempt() {
        InFlightLimiter l = new InFlightLimiter(1, new StatCounter());
        assertTrue(l.admit(flow(A, 1)));
        assertFalse(l.admit(flow(A, 2)));
        l.setMaxPerClient(3);
        assertTrue(l.admit(flow(A, 2)));
        l.setMaxPerClient(1);
        assertEquals(2, l.inFlight(A), "lowering the limit drops nothing already in flight");
        assertFalse(l.admit(flow(A, 3)));
        assertThrows(IllegalArgumentException.class, () -> l.setMaxPerClient(0));
    }

    @Test
    void defaultsFollowTheJvmsMemory() {
        assertEquals(InFlightLimits.MIN_DERIVED, InFlightLimits.derivedFromMemory(64L << 20).maxInFlight());
        assertEquals(1024, InFlightLimits.derivedFromMemory(2L << 30).maxInFlight());
        InFlightLimits big = InFlightLimits.derivedFromMemory(64L << 30);
        assertEquals(InFlightLimits.LINUX_DEFAULT_MAX_IN_FLIGHT, big.maxInFlight(), "capped at Linux's default");
        assertEquals(big.maxInFlight() * 2 / 3, big.maxInFlightPerClient(), "per-client is two thirds");
    }

    @Test
    void theUdpFlowLimitFollowsTheHeapAndTheDescriptorLimit() {
        long plentyOfDescriptors = 1L << 20;
        assertEquals(InFlightLimits.MIN_DERIVED_UDP_FLOWS, InFlightLimits.udpFlowsFor(16L << 20, plentyOfDescriptors),
                "a small heap still serves a small site");
        assertEquals(32_768, InFlightLimits.udpFlowsFor(1L << 30, plentyOfDescriptors), "a quarter of 1 GiB at 8 KiB each");
        assertEquals(InFlightLimits.MAX_UDP_FLOWS, InFlightLimits.udpFlowsFor(8L << 30, plentyOfDescriptors),
                "never more than one family's ports");
        assertEquals(10_000, InFlightLimits.udpFlowsFor(8L << 30, 20_000), "half the descriptors at most");
        assertThrows(IllegalArgumentException.class, () -> new InFlightLimits(10, 5, 0));
        assertThrows(IllegalArgumentException.class, () -> new InFlightLimits(10, 5, InFlightLimits.MAX_UDP_FLOWS + 1));
    }
}
