package dev.loomstack.ip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.stack.ManualTimerService;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ReassemblerTest {
    private static final long TIMEOUT = Duration.ofSeconds(30).toNanos();
    private static final byte[] HEADER = {1, 2, 3, 4};

    private final ManualTimerService timers = new ManualTimerService();
    private final PacketBufferPool pool = PacketBufferPool.forMtu(1500, 8);
    private final Reassembler r = new Reassembler(timers, pool, TIMEOUT, 256 * 1024);
    private final byte[] data = new byte[3000];

    ReassemblerTest() {
        new Random(1).nextBytes(data);
    }

    private static FragmentKey key(int id) {
        return new FragmentKey(0, 1, 0, 2, id, 17);
    }

    private Reassembler.Result add(int id, int off, int len, boolean more) {
        return r.add(key(id), off, more, data, off, len, HEADER, 0, HEADER.length);
    }

    private void assertComplete(Reassembler.Result res, int total) {
        var c = assertInstanceOf(Reassembler.Result.Complete.class, res);
        byte[] got = c.packet().toByteArray();
        assertEquals(HEADER.length, c.headerLength());
        assertArrayEquals(HEADER, Arrays.copyOf(got, HEADER.length));
        assertArrayEquals(Arrays.copyOf(data, total), Arrays.copyOfRange(got, HEADER.length, got.length));
        assertEquals(0, r.memoryInUse());
        assertEquals(0, r.pending());
    }

    @Test
    void inOrder() {
        assertInstanceOf(Reassembler.Result.Pending.class, add(1, 0, 1000, true));
        assertInstanceOf(Reassembler.Result.Pending.class, add(1, 1000, 1000, true));
        assertComplete(add(1, 2000, 1000, false), 3000);
        assertEquals(0, timers.pending(), "the timeout is cancelled on completion");
    }

    @Test
    void outOfOrderWithTheLastFirst() {
        assertInstanceOf(Reassembler.Result.Pending.class, add(2, 2000, 999, false));
        assertInstanceOf(Reassembler.Result.Pending.class, add(2, 0, 1000, true));
        assertComplete(add(2, 1000, 1000, true), 2999);
    }

    @Test
    void overlapDropsTheDatagramAndItsLaterFragments() {
        add(3, 0, 1000, true);
        var d = assertInstanceOf(Reassembler.Result.Dropped.class, add(3, 992, 1000, true));
        assertEquals(Reassembler.Result.Reason.OVERLAP, d.reason());
        assertEquals(0, r.memoryInUse());
        // The rest of that datagram still arrives: it must not complete a corrupted whole.
        assertInstanceOf(Reassembler.Result.Dropped.class, add(3, 1000, 1000, true));
        assertInstanceOf(Reassembler.Result.Dropped.class, add(3, 2000, 1000, false));
        assertEquals(3, r.overlaps.sum());
        timers.advance(Duration.ofSeconds(31));
        assertEquals(0, r.pending(), "the remembered key is forgotten after the timeout");
    }

    @Test
    void anExactDuplicateIsDroppedAloneAndTheDatagramCompletes() {
        add(4, 0, 1000, true);
        var d = assertInstanceOf(Reassembler.Result.Dropped.class, add(4, 0, 1000, true));
        assertEquals(Reassembler.Result.Reason.DUPLICATE, d.reason());
        assertComplete(add(4, 1000, 8, false), 1008);
    }

    @Test
    void timeoutDropsAnIncompleteDatagram() {
        add(5, 0, 1000, true);
        timers.advance(Duration.ofSeconds(29));
        assertEquals(1, r.pending());
        timers.advance(Duration.ofSeconds(2));
        assertEquals(0, r.pending());
        assertEquals(0, r.memoryInUse());
        assertEquals(1, r.timeouts.sum());
        // A late fragment starts afresh rather than completing the expired one.
        assertInstanceOf(Reassembler.Result.Pending.class, add(5, 1000, 1000, false));
    }

    @Test
    void memoryCapEvictsTheOldestDatagrams() {
        Reassembler small = new Reassembler(timers, pool, TIMEOUT, 2 * 65535);
        byte[] big = new byte[60_000];
        for (int id = 0; id < 10; id++) {
            small.add(key(id), 0, true, big, 0, 20_000, HEADER, 0, HEADER.length);
            small.add(key(id), 20_000, true, big, 0, 20_000, HEADER, 0, HEADER.length);
        }
        assertEquals(true, small.memoryInUse() <= 2 * 65535);
        assertEquals(true, small.evictions.sum() >= 7);
        // The newest datagram survived and can still complete.
        assertInstanceOf(Reassembler.Result.Complete.class,
                small.add(key(9), 40_000, false, big, 0, 100, HEADER, 0, HEADER.length));
    }

    /**
     * Found while writing the bounds the receive-path fuzz target asserts: a last fragment with no
     * data (offset 8, more-fragments
     * clear) costs no bytes, and a datagram killed by an overlap keeps its key until the timeout at
     * no cost either, so a flood of distinct identifications grew the table without limit for the
     * whole timeout. The number of datagrams held is bounded by the memory cap too.
     */
    @Test
    void datagramsThatHoldNoDataAreStillBounded() {
        Reassembler small = new Reassembler(timers, pool, TIMEOUT, 2 * 65535);
        int bound = small.maxDatagrams();
        assertEquals(true, bound > 0 && bound <= 2 * 65535 / 256, "bound " + bound);
        for (int id = 0; id < 100_000; id++) {
            small.add(key(id), 8, false, data, 0, 0, HEADER, 0, HEADER.length);
            assertEquals(true, small.pending() <= bound, "datagrams held: " + small.pending());
        }
        for (int id = 100_000; id < 200_000; id++) {
            small.add(key(id), 0, true, data, 0, 8, HEADER, 0, HEADER.length);
            small.add(key(id), 0, true, data, 0, 16, HEADER, 0, HEADER.length);
            assertEquals(true, small.pending() <= bound, "datagrams held: " + small.pending());
        }
        assertEquals(true, small.memoryInUse() <= 2 * 65535);
        // The newest datagram is still being reassembled.
        assertInstanceOf(Reassembler.Result.Pending.class,
                small.add(key(7), 0, true, data, 0, 8, HEADER, 0, HEADER.length));
        assertInstanceOf(Reassembler.Result.Complete.class,
                small.add(key(7), 8, false, data, 8, 8, HEADER, 0, HEADER.length));
    }

    @Test
    void malformedFragmentsAreRefused() {
        // Not a multiple of eight bytes, yet more fragments follow.
        assertEquals(Reassembler.Result.Reason.MALFORMED,
                assertInstanceOf(Reassembler.Result.Dropped.class, add(6, 0, 1001, true)).reason());
        // Beyond the largest datagram.
        assertEquals(Reassembler.Result.Reason.TOO_LARGE, assertInstanceOf(Reassembler.Result.Dropped.class,
                r.add(key(7), 65_528, false, data, 0, 100, HEADER, 0, HEADER.length)).reason());
        // Two different ends.
        add(8, 1000, 1000, false);
        assertInstanceOf(Reassembler.Result.Dropped.class, add(8, 2000, 8, false));
    }
}
