package dev.loomstack.link;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.packet.Bytes;
import dev.loomstack.packet.Checksum;
import dev.loomstack.packet.Ipv4Header;
import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.packet.TcpHeader;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TcpCoalescerTest {
    private static final int MSS = 1000;

    /** What the sink was given: a copy of the bytes and the offload marks. */
    private record Delivered(byte[] bytes, int segmentSize, boolean verified) {
        int sequence() {
            int t = (bytes[0] & 0xff) >>> 4 == 4 ? (bytes[0] & 0x0f) * 4 : 40;
            return TcpHeader.sequence(bytes, t);
        }
    }

    private final LinkStats stats = new LinkStats();
    private final TcpCoalescer gro = new TcpCoalescer(stats);
    private final List<Delivered> out = new ArrayList<>();
    private final NetworkDispatcher sink =
            p -> out.add(new Delivered(p.toByteArray(), p.segmentSize(), p.checksumVerified()));

    private void add(TcpPackets.Builder b) {
        gro.add(b.buffer(), sink);
    }

    /** Adds {@code n} segments of {@code size} from {@code first}'s sequence number on; returns the next. */
    private TcpPackets.Builder addRun(TcpPackets.Builder first, int n, int size) {
        TcpPackets.Builder b = first.copy().payload(size);
        for (int i = 0; i < n; i++) {
            add(b);
            b = b.copy().seq(b.end());
        }
        return b;
    }

    private static void assertPacket(TcpPackets.Builder expected, Delivered d) {
        assertArrayEquals(expected.bytes(), d.bytes(), "the delivered packet is the expected one");
    }

    @ParameterizedTest
    @ValueSource(ints = {4, 6})
    void adjacentSegmentsMergeIntoOnePacketWithTheFirstHeadersAndLengthsFixed(int version) {
        TcpPackets.Builder first = TcpPackets.of(version);
        addRun(first, 5, MSS);
        assertTrue(out.isEmpty(), "held until the burst ends");
        gro.flush(sink);

        assertEquals(1, out.size());
        Delivered d = out.getFirst();
        // One packet with five segments' data, valid IP and TCP checksums: what the peer's kernel
        // would have handed over whole.
        assertPacket(first.copy().payload(5 * MSS), d);
        assertEquals(MSS, d.segmentSize());
        assertTrue(d.verified());
        assertEquals(4, stats.packetsCoalesced.sum());
    }

    @ParameterizedTest
    @ValueSource(ints = {4, 6})
    void oddSegmentSizesKeepTheMergedChecksumRight(int version) {
        TcpPackets.Builder first = TcpPackets.of(version);
        addRun(first, 7, 999);
        gro.flush(sink);
        assertEquals(1, out.size());
        assertPacket(first.copy().payload(7 * 999), out.getFirst());
        assertTrue(TcpPackets.tcpChecksumValid(out.getFirst().bytes()));
    }

    @Test
    void aHoleInTheSequenceEndsTheMerge() {
        TcpPackets.Builder first = TcpPackets.v4();
        TcpPackets.Builder next = addRun(first, 2, MSS);
        TcpPackets.Builder afterHole = next.copy().seq(next.end());
        addRun(afterHole, 2, MSS);
        gro.flush(sink);

        assertEquals(2, out.size());
        assertPacket(first.copy().payload(2 * MSS), out.get(0));
        assertPacket(afterHole.copy().payload(2 * MSS), out.get(1));
        assertEquals(2, stats.packetsCoalesced.sum());
    }

    @Test
    void pushEndsTheMergeAndIsDeliveredAtOnce() {
        TcpPackets.Builder first = TcpPackets.v4();
        TcpPackets.Builder next = addRun(first, 2, MSS);
        add(next.copy().flags(TcpHeader.ACK | TcpHeader.PSH));

        assertEquals(1, out.size(), "delivered without waiting for the burst to end");
        assertPacket(first.copy().payload(3 * MSS).flags(TcpHeader.ACK | TcpHeader.PSH), out.getFirst());
        assertEquals(MSS, out.getFirst().segmentSize());

        TcpPackets.Builder after = next.copy().seq(next.end());
        add(after);
        gro.flush(sink);
        assertEquals(2, out.size());
        assertPacket(after, out.get(1));
    }

    @Test
    void aPushSegmentWithNothingHeldPassesUncopied() {
        TcpPackets.Builder p = TcpPackets.v4().payload(MSS).flags(TcpHeader.ACK | TcpHeader.PSH);
        PacketBuffer buf = p.buffer();
        List<PacketBuffer> seen = new ArrayList<>();
        gro.add(buf, seen::add);
        assertEquals(1, seen.size());
        assertTrue(seen.getFirst() == buf, "the lent buffer itself, not a copy");
        assertEquals(0, buf.segmentSize());
        assertFalse(buf.checksumVerified(), "left for TCP to verify");
    }

    @ParameterizedTest
    @ValueSource(ints = {TcpHeader.FIN, TcpHeader.SYN, TcpHeader.RST, TcpHeader.URG, TcpHeader.CWR, TcpHeader.ECE})
    void controlFlagsPassUnmergedAfterTheHeldSegment(int flag) {
        TcpPackets.Builder first = TcpPackets.v4();
        TcpPackets.Builder next = addRun(first, 2, MSS);
        TcpPackets.Builder flagged = next.copy().flags(TcpHeader.ACK | flag);
        add(flagged);
        TcpPackets.Builder after = flagged.copy().flags(TcpHeader.ACK).seq(flagged.end());
        addRun(after, 2, MSS);
        gro.flush(sink);

        assertEquals(3, out.size(), TcpHeader.flagString(flag));
        assertPacket(first.copy().payload(2 * MSS), out.get(0));
        assertPacket(flagged, out.get(1));
        assertEquals(0, out.get(1).segmentSize(), "passed as it came");
        assertFalse(out.get(1).verified(), "passed as it came");
        assertPacket(after.copy().payload(2 * MSS), out.get(2));
    }

    @Test
    void pureAcksAreNeverMergedAndKeepTheirPlace() {
        TcpPackets.Builder first = TcpPackets.v4();
        TcpPackets.Builder next = addRun(first, 2, MSS);
        TcpPackets.Builder ack1 = next.copy().payload(0);
        TcpPackets.Builder ack2 = ack1.copy();
        add(ack1);
        add(ack2);
        gro.flush(sink);
        assertEquals(3, out.size());
        assertPacket(first.copy().payload(2 * MSS), out.get(0));
        assertPacket(ack1, out.get(1));
        assertPacket(ack2, out.get(2));
    }

    @Test
    void differentTimestampsDoNotMerge() {
        TcpPackets.Builder a = TcpPackets.v4().payload(MSS);
        TcpPackets.Builder b = a.copy().seq(a.end()).options(TcpPackets.timestamps(1001, 2000));
        add(a);
        add(b);
        gro.flush(sink);
        assertEquals(2, out.size());
        assertPacket(a, out.get(0));
        assertPacket(b, out.get(1));
        assertEquals(0, out.get(0).segmentSize());
        assertEquals(0, stats.packetsCoalesced.sum());
    }

    @Test
    void differentSackBlocksDoNotMergeButEqualOnesDo() {
        TcpPackets.Builder a = TcpPackets.v4().payload(MSS).options(TcpPackets.timestampsAndSack(5, 6, 100, 200));
        TcpPackets.Builder same = a.copy().seq(a.end());
        TcpPackets.Builder other = same.copy().seq(same.end()).options(TcpPackets.timestampsAndSack(5, 6, 100, 300));
        add(a);
        add(same);
        add(other);
        gro.flush(sink);
        assertEquals(2, out.size());
        assertPacket(a.copy().payload(2 * MSS), out.get(0));
        assertPacket(other, out.get(1));
    }

    @Test
    void differentAckNumberWindowOrOptionLengthDoNotMerge() {
        TcpPackets.Builder a = TcpPackets.v4().payload(MSS);
        TcpPackets.Builder b = a.copy().seq(a.end()).ack(a.ack + 1);
        TcpPackets.Builder c = b.copy().seq(b.end()).window(a.window + 1);
        TcpPackets.Builder d = c.copy().seq(c.end()).options(new byte[0]);
        for (TcpPackets.Builder p : List.of(a, b, c, d)) {
            add(p);
        }
        gro.flush(sink);
        assertEquals(4, out.size());
        assertEquals(0, stats.packetsCoalesced.sum());
    }

    @Test
    void differentTosTtlOrFlowLabelDoNotMerge() {
        TcpPackets.Builder a = TcpPackets.v4().payload(MSS);
        TcpPackets.Builder ce = a.copy().seq(a.end()).tos(0x03);
        TcpPackets.Builder ttl = ce.copy().seq(ce.end()).tos(0).ttl(63);
        TcpPackets.Builder v6 = TcpPackets.v6().payload(MSS);
        TcpPackets.Builder label = v6.copy().seq(v6.end()).flowLabel(0x12345);
        for (TcpPackets.Builder p : List.of(a, ce, ttl, v6, label)) {
            add(p);
        }
        gro.flush(sink);
        assertEquals(5, out.size());
        assertEquals(0, stats.packetsCoalesced.sum());
    }

    @Test
    void aLongerSegmentStartsAgainAndAShorterOneEndsTheMerge() {
        TcpPackets.Builder small = TcpPackets.v4().payload(500);
        TcpPackets.Builder big = small.copy().seq(small.end()).payload(MSS);
        add(small);
        add(big);
        TcpPackets.Builder big2 = big.copy().seq(big.end());
        add(big2);
        TcpPackets.Builder tail = big2.copy().seq(big2.end()).payload(300);
        add(tail);
        assertEquals(2, out.size(), "the short tail delivered the merge at once");
        assertPacket(small, out.get(0));
        assertPacket(big.copy().payload(2 * MSS + 300), out.get(1));
        TcpPackets.Builder after = tail.copy().seq(tail.end()).payload(MSS);
        add(after);
        gro.flush(sink);
        assertEquals(3, out.size());
        assertPacket(after, out.get(2));
    }

    @Test
    void otherFlowsInterleavedKeepEachFlowsOrder() {
        TcpPackets.Builder a = TcpPackets.v4().payload(MSS);
        TcpPackets.Builder b = TcpPackets.v4().ports(40001, 5201).payload(MSS).seq(5);
        TcpPackets.Builder c = TcpPackets.v6().payload(MSS).seq(-MSS);
        TcpPackets.Builder a0 = a, b0 = b, c0 = c;
        for (int i = 0; i < 4; i++) {
            add(a);
            add(b);
            add(c);
            a = a.copy().seq(a.end());
            b = b.copy().seq(b.end());
            c = c.copy().seq(c.end());
        }
        // A control packet of flow b, a hole in flow c, and a UDP packet (not TCP: passes at once).
        add(b.copy().flags(TcpHeader.ACK | TcpHeader.FIN).payload(0));
        TcpPackets.Builder c2 = c.copy().seq(c.end());
        add(c2);
        byte[] udp = TcpPackets.v4().payload(0).bytes();
        udp[9] = 17;
        Bytes.put16(udp, 10, 0);
        Bytes.put16(udp, 10, Checksum.compute(udp, 0, Ipv4Header.MIN_LENGTH));
        gro.add(PacketBuffer.copyOf(udp, 0), sink);
        gro.flush(sink);

        List<String> order = out.stream().map(d -> describe(d.bytes())).toList();
        assertEquals(List.of(
                "tcp 40001 " + b0.sequence + "+" + 4 * MSS, "tcp 40001 " + b.sequence + "+0 FIN",
                "tcp 40000 " + c0.sequence + "+" + 4 * MSS + " v6",
                "udp",
                "tcp 40000 " + a0.sequence + "+" + 4 * MSS,
                "tcp 40000 " + c2.sequence + "+" + MSS + " v6"), order);
        assertPacket(a0.copy().payload(4 * MSS), out.get(4));
        assertPacket(c0.copy().payload(4 * MSS), out.get(2));
        assertEquals(9, stats.packetsCoalesced.sum());
    }

    private static String describe(byte[] p) {
        boolean v4 = (p[0] & 0xff) >>> 4 == 4;
        int t = v4 ? 20 : 40;
        int protocol = v4 ? p[9] : p[6];
        if (protocol != TcpHeader.PROTOCOL) {
            return "udp";
        }
        int payload = p.length - t - TcpHeader.headerLength(p, t);
        String fin = (TcpHeader.flags(p, t) & TcpHeader.FIN) != 0 ? " FIN" : "";
        return "tcp " + TcpHeader.sourcePort(p, t) + " " + TcpHeader.sequence(p, t) + "+" + payload + fin
                + (v4 ? "" : " v6");
    }

    @ParameterizedTest
    @ValueSource(ints = {4, 6})
    void aMergeStopsAtTheLargestIpPacket(int version) {
        TcpPackets.Builder first = TcpPackets.of(version);
        int size = 1400;
        int n = 100;
        addRun(first, n, size);
        gro.flush(sink);

        int headers = first.ipHeaderLength() + first.tcpHeaderLength();
        int perPacket = (Ipv4Header.MAX_TOTAL_LENGTH - headers) / size;
        assertEquals((n + perPacket - 1) / perPacket, out.size());
        int seq = first.sequence;
        for (Delivered d : out) {
            assertTrue(d.bytes().length <= Ipv4Header.MAX_TOTAL_LENGTH, "length " + d.bytes().length);
            assertEquals(seq, d.sequence());
            int payload = d.bytes().length - headers;
            assertPacket(first.copy().seq(seq).payload(payload), d);
            seq += payload;
        }
        assertEquals(first.sequence + n * size, seq);
        assertEquals(perPacket * size, out.getFirst().bytes().length - headers, "the first is as full as it can be");
    }

    @Test
    void aSegmentWithABadChecksumIsDeliveredAloneForTcpToCount() {
        TcpPackets.Builder first = TcpPackets.v4().payload(MSS);
        TcpPackets.Builder bad = first.copy().seq(first.end());
        TcpPackets.Builder third = bad.copy().seq(bad.end());
        add(first);
        byte[] corrupt = bad.bytes();
        corrupt[corrupt.length - 10] ^= 0x40;
        gro.add(PacketBuffer.copyOf(corrupt, 0), sink);
        add(third);
        gro.flush(sink);

        assertEquals(3, out.size());
        assertPacket(first, out.get(0));
        assertArrayEquals(corrupt, out.get(1).bytes());
        assertFalse(out.get(1).verified(), "not marked verified: TCP checks it and drops it");
        assertPacket(third, out.get(2));
        assertEquals(0, stats.packetsCoalesced.sum());
    }

    @Test
    void aFirstSegmentWithABadChecksumIsNotHeld() {
        byte[] corrupt = TcpPackets.v4().payload(MSS).bytes();
        corrupt[60] ^= 1;
        gro.add(PacketBuffer.copyOf(corrupt, 0), sink);
        assertEquals(1, out.size(), "delivered at once");
        assertFalse(out.getFirst().verified());
        assertEquals(0, gro.heldFlows());
    }

    @Test
    void aSingleHeldPacketIsDeliveredAsItCameMarkedVerified() {
        TcpPackets.Builder p = TcpPackets.v6().payload(MSS);
        add(p);
        gro.flush(sink);
        assertPacket(p, out.getFirst());
        assertEquals(0, out.getFirst().segmentSize());
        assertTrue(out.getFirst().verified(), "its checksum was verified when it was held");
    }

    @Test
    void aKernelSuperSegmentPassesAfterItsFlowsHeldSegment() {
        TcpPackets.Builder first = TcpPackets.v4().payload(MSS);
        add(first);
        TcpPackets.Builder superSegment = first.copy().seq(first.end()).payload(10 * MSS);
        PacketBuffer buf = superSegment.buffer().segmentSize(MSS).checksumVerified(true);
        gro.add(buf, sink);
        assertEquals(2, out.size(), "the held packet first, then the super-segment at once");
        assertPacket(first, out.get(0));
        assertPacket(superSegment, out.get(1));
        assertEquals(MSS, out.get(1).segmentSize(), "its marks untouched");
        assertEquals(0, stats.packetsCoalesced.sum());
    }

    @Test
    void aFullTableDeliversTheOldestHeldFlow() {
        TcpCoalescer small = new TcpCoalescer(stats, 2);
        TcpPackets.Builder a = TcpPackets.v4().payload(MSS).ports(1, 80);
        TcpPackets.Builder b = TcpPackets.v4().payload(MSS).ports(2, 80);
        TcpPackets.Builder c = TcpPackets.v4().payload(MSS).ports(3, 80);
        small.add(a.buffer(), sink);
        small.add(b.buffer(), sink);
        assertEquals(0, out.size());
        small.add(c.buffer(), sink);
        assertEquals(1, out.size(), "room made for c");
        assertPacket(a, out.getFirst());
        assertEquals(2, small.heldFlows());
        small.add(b.copy().seq(b.end()).buffer(), sink);
        small.flush(sink);
        assertEquals(3, out.size());
        assertPacket(b.copy().payload(2 * MSS), out.get(1));
        assertPacket(c, out.get(2));
    }

    @Test
    void aFragmentBetweenTheSameAddressesDeliversTheHeldSegmentFirst() {
        TcpPackets.Builder first = TcpPackets.v4().payload(MSS);
        add(first);
        TcpPackets.Builder fragment = first.copy().seq(first.end());
        byte[] f = fragment.bytes();
        Bytes.put16(f, 6, Ipv4Header.FLAG_MORE_FRAGMENTS);
        Bytes.put16(f, 10, 0);
        Bytes.put16(f, 10, Checksum.compute(f, 0, Ipv4Header.MIN_LENGTH));
        gro.add(PacketBuffer.copyOf(f, 0), sink);
        assertEquals(2, out.size(), "a fragment between the same addresses delivers the held segment first");
        assertPacket(first, out.get(0));
        assertArrayEquals(f, out.get(1).bytes());
    }

    @Test
    void nothingIsAllocatedPerPacketAfterWarmUp() {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        // Two interleaved flows in bursts of 40 packets, a bad checksum now and then.
        int flows = 2;
        int burst = 40;
        PacketBuffer[][] packets = new PacketBuffer[flows][burst];
        for (int f = 0; f < flows; f++) {
            TcpPackets.Builder b = TcpPackets.of(f == 0 ? 4 : 6).payload(1200);
            for (int i = 0; i < burst; i++) {
                packets[f][i] = b.buffer();
                b = b.copy().seq(b.end());
            }
        }
        long[] delivered = new long[1];
        NetworkDispatcher counting = p -> delivered[0] += p.length();
        Runnable run = () -> {
            for (int i = 0; i < burst; i++) {
                for (int f = 0; f < flows; f++) {
                    gro.add(packets[f][i], counting);
                }
            }
            gro.flush(counting);
        };
        for (int i = 0; i < 2_000; i++) {
            run.run();
        }
        long before = threads.getCurrentThreadAllocatedBytes();
        int rounds = 2_000;
        for (int i = 0; i < rounds; i++) {
            run.run();
        }
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        // 160,000 packets: even 8 bytes each would be over a megabyte.
        assertTrue(allocated < 64 * 1024, "allocated " + allocated + " bytes for " + rounds * burst * flows + " packets");
        assertTrue(delivered[0] > 0);
    }
}
