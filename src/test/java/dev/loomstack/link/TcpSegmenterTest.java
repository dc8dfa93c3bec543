package dev.loomstack.link;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.packet.Bytes;
import dev.loomstack.packet.Checksum;
import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.Ipv4Header;
import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.packet.TcpHeader;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TcpSegmenterTest {
    private static final int MTU = 1280;
    private final PacketBufferPool pool = PacketBufferPool.forMtu(MTU, 256);
    private final TcpSegmenter segmenter = new TcpSegmenter(pool);
    private final List<PacketBuffer> out = new ArrayList<>();

    private int cut(PacketBuffer packet) {
        return segmenter.segment(packet, out::add);
    }

    @ParameterizedTest
    @ValueSource(ints = {4, 6})
    void cutsASuperSegmentIntoSegmentsWithTheirOwnHeadersAndChecksums(int version) {
        int mss = 1000;
        TcpPackets.Builder whole = TcpPackets.of(version).payload(4 * mss + 321).flags(TcpHeader.ACK | TcpHeader.PSH);
        assertEquals(5, cut(whole.superSegment(mss)));

        assertEquals(5, out.size());
        for (int i = 0; i < 5; i++) {
            PacketBuffer seg = out.get(i);
            boolean last = i == 4;
            TcpPackets.Builder expected = whole.copy().seq(whole.sequence + i * mss).payload(last ? 321 : mss)
                    .id(whole.id + i).flags(last ? TcpHeader.ACK | TcpHeader.PSH : TcpHeader.ACK);
            // Exact bytes: lengths, IPv4 identification and header checksum, sequence number, flags
            // and a complete TCP checksum.
            assertArrayEquals(expected.bytes(), seg.toByteArray(), "segment " + i);
            assertEquals(0, seg.segmentSize());
            assertFalse(seg.checksumPartial());
            assertTrue(seg.length() <= MTU);
            assertEquals(PacketBufferPool.DEFAULT_HEADROOM, seg.headroom(), "room for a lower layer");
        }
    }

    @Test
    void finAndPushGoOnlyOnTheLastSegmentAndCwrOnlyOnTheFirst() {
        int mss = 500;
        int all = TcpHeader.ACK | TcpHeader.PSH | TcpHeader.FIN | TcpHeader.CWR | TcpHeader.ECE;
        TcpPackets.Builder whole = TcpPackets.v4().payload(3 * mss).flags(all);
        cut(whole.superSegment(mss));
        assertEquals(3, out.size());
        int t = 20;
        assertEquals(TcpHeader.ACK | TcpHeader.CWR | TcpHeader.ECE, TcpHeader.flags(out.get(0).toByteArray(), t));
        assertEquals(TcpHeader.ACK | TcpHeader.ECE, TcpHeader.flags(out.get(1).toByteArray(), t));
        assertEquals(TcpHeader.ACK | TcpHeader.PSH | TcpHeader.FIN | TcpHeader.ECE,
                TcpHeader.flags(out.get(2).toByteArray(), t));
    }

    @Test
    void identificationWrapsAround() {
        TcpPackets.Builder whole = TcpPackets.v4().payload(3000).id(0xffff);
        cut(whole.superSegment(1000));
        assertEquals(0xffff, Bytes.u16(out.get(0).toByteArray(), 4));
        assertEquals(0, Bytes.u16(out.get(1).toByteArray(), 4));
        assertEquals(1, Bytes.u16(out.get(2).toByteArray(), 4));
        assertEquals(0, Checksum.compute(out.get(1).toByteArray(), 0, 20), "header checksum valid");
    }

    @ParameterizedTest
    @ValueSource(ints = {4, 6})
    void segmentsFedToTheCoalescerGiveBackTheOriginal(int version) {
        LinkStats stats = new LinkStats();
        TcpCoalescer gro = new TcpCoalescer(stats);
        List<byte[]> merged = new ArrayList<>();
        NetworkDispatcher sink = p -> merged.add(p.toByteArray());
        for (int flags : new int[] {TcpHeader.ACK, TcpHeader.ACK | TcpHeader.PSH}) {
            merged.clear();
            int mss = 1208;
            TcpPackets.Builder whole = TcpPackets.of(version).payload(40 * mss + 17).flags(flags);
            assertEquals(41, cut(whole.superSegment(mss)));
            for (PacketBuffer seg : out) {
                gro.add(seg, sink);
                seg.release();
            }
            out.clear();
            gro.flush(sink);
            assertEquals(1, merged.size(), TcpHeader.flagString(flags));
            // The same bytes, checksum complete (the super-segment's was partial).
            assertArrayEquals(whole.bytes(), merged.getFirst(), TcpHeader.flagString(flags));
        }
    }

    @Test
    void aPacketThatFitsOneSegmentGoesOnItselfWithItsChecksumCompleted() {
        TcpPackets.Builder p = TcpPackets.v6().payload(800);
        PacketBuffer buf = p.superSegment(1000);
        assertEquals(1, cut(buf));
        assertSame(buf, out.getFirst());
        assertArrayEquals(p.bytes(), buf.toByteArray());
        assertEquals(0, buf.segmentSize());
        assertFalse(buf.checksumPartial());
    }

    @Test
    void aPlainPacketWithAPartialChecksumIsCompleted() {
        TcpPackets.Builder p = TcpPackets.v4().payload(100);
        PacketBuffer buf = p.superSegment(1000).segmentSize(0);
        assertEquals(1, cut(buf));
        assertArrayEquals(p.bytes(), out.getFirst().toByteArray());
    }

    @Test
    void aUdpPartialChecksumIsCompleted() {
        IpAddress src = TcpPackets.CLIENT4;
        IpAddress dst = TcpPackets.SERVER4;
        byte[] b = new byte[20 + 8 + 5];
        Ipv4Header.write(b, 0, b.length, 1, 0, 64, 17, src, dst);
        Bytes.put16(b, 20, 5353);
        Bytes.put16(b, 22, 53);
        Bytes.put16(b, 24, 13);
        b[28] = 'h';
        b[32] = 'o';
        long pseudo = Checksum.pseudoHeader(src, dst, 17, 13);
        Bytes.put16(b, 26, Checksum.fold(pseudo));
        PacketBuffer buf = PacketBuffer.copyOf(b, 0).checksumPartial(true);
        assertEquals(1, cut(buf));
        byte[] got = out.getFirst().toByteArray();
        assertTrue(Checksum.verifies(Checksum.add(Checksum.pseudoHeader(src, dst, 17, 13), got, 20, 13)));
        assertFalse(out.getFirst().checksumPartial());
    }

    @Test
    void malformedPacketsAreRefusedAndNothingIsWritten() {
        byte[] icmp = TcpPackets.v4().payload(10).bytes();
        icmp[9] = 1;
        assertEquals(-1, cut(PacketBuffer.copyOf(icmp, 0).segmentSize(4)));
        byte[] shortHeader = TcpPackets.v4().payload(10).bytes();
        shortHeader[32] = 0x40; // data offset 16 bytes, below the minimum
        assertEquals(-1, cut(PacketBuffer.copyOf(shortHeader, 0).segmentSize(4)));
        byte[] truncated = TcpPackets.v6().payload(10).bytes();
        assertEquals(-1, cut(PacketBuffer.copyOf(Arrays.copyOf(truncated, 50), 0).segmentSize(4)));
        assertEquals(-1, cut(PacketBuffer.copyOf(new byte[3], 0).segmentSize(4)));
        assertTrue(out.isEmpty());
    }

    @Test
    void aSinkThatStopsEndsTheCutting() {
        TcpPackets.Builder whole = TcpPackets.v4().payload(5000);
        int written = segmenter.segment(whole.superSegment(1000), seg -> {
            out.add(seg);
            return out.size() < 2;
        });
        assertEquals(2, written);
        assertEquals(2, out.size());
    }

    @Test
    void nothingIsAllocatedPerSegmentAfterWarmUp() {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        int mss = 1200;
        TcpPackets.Builder whole = TcpPackets.v4().payload(50 * mss);
        byte[] original = whole.superSegment(mss).toByteArray();
        // The super-segment is refilled from the same bytes each round, in a pooled buffer too.
        long[] bytes = new long[1];
        TcpSegmenter.SegmentSink sink = seg -> {
            bytes[0] += seg.length();
            seg.release();
            return true;
        };
        PacketBufferPool superPool = new PacketBufferPool(PacketBufferPool.DEFAULT_HEADROOM + original.length, 4);
        Runnable round = () -> {
            PacketBuffer b = superPool.acquire();
            System.arraycopy(original, 0, b.array(), b.append(original.length), original.length);
            b.segmentSize(mss).checksumPartial(true);
            segmenter.segment(b, sink);
        };
        for (int i = 0; i < 3_000; i++) {
            round.run();
        }
        long before = threads.getCurrentThreadAllocatedBytes();
        int rounds = 2_000;
        for (int i = 0; i < rounds; i++) {
            round.run();
        }
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        assertTrue(allocated < 64 * 1024, "allocated " + allocated + " bytes for " + rounds * 50 + " segments");
        assertTrue(bytes[0] > 0);
    }
}
