package dev.loomstack.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.link.LinkStats;
import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.Ipv4Header;
import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.packet.TcpHeader;
import dev.loomstack.packet.TcpOptions;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * TCP over a link that takes super-segments (segmentation offload): the sender hands over several
 * segments' worth of data as one packet with a segment size and a partial checksum, the receiver
 * takes such packets whole, and loss recovery still works segment by segment.
 */
class SegmentationOffloadTest {
    static final int MTU = 1280;
    static final int MIB = 1 << 20;

    /** The byte at stream position {@code pos}: a pattern no shift or reordering of bytes preserves. */
    static byte patternAt(long pos) {
        return (byte) ((pos * 2654435761L) >>> 13 ^ pos >>> 9);
    }

    /** Moves {@code size} bytes from {@code from} to {@code to}, checking each byte; returns bytes received. */
    static long transfer(TcpEndpoint from, TcpEndpoint to, long size) throws Exception {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread writer = Thread.ofPlatform().name("writer").start(() -> {
            try {
                byte[] buf = new byte[32 * 1024];
                long pos = 0;
                while (pos < size) {
                    int n = (int) Math.min(buf.length, size - pos);
                    for (int i = 0; i < n; i++) {
                        buf[i] = patternAt(pos + i);
                    }
                    from.write(buf, 0, n, 0);
                    pos += n;
                }
                from.shutdownOutput();
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        byte[] buf = new byte[64 * 1024];
        long pos = 0;
        while (true) {
            int n = to.read(buf, 0, buf.length, java.util.concurrent.TimeUnit.SECONDS.toNanos(30));
            if (n < 0) {
                break;
            }
            for (int i = 0; i < n; i++) {
                if (buf[i] != patternAt(pos + i)) {
                    throw new AssertionError("byte " + (pos + i) + " differs");
                }
            }
            pos += n;
        }
        writer.join(30_000);
        if (failure.get() != null) {
            throw new AssertionError("writer failed", failure.get());
        }
        return pos;
    }

    @ParameterizedTest(name = "v6={0}")
    @ValueSource(booleans = {false, true})
    void aBulkTransferLeavesAsSuperSegmentsAndArrivesByteExact(boolean v6) throws Exception {
        long size = 32L * MIB;
        try (MemoryStacks s = new MemoryStacks(MTU, true)) {
            TcpEndpoint[] ep = s.connect(v6, 5001);
            assertEquals(size, transfer(ep[1], ep[0], size));
            LinkStats sent = s.links.b().stats();
            int mss = ep[1].snapshot().sendMss();
            long packets = sent.packetsWritten.sum();
            System.out.printf("offload v6=%s: %d bytes in %d packets (%d super-segments), mss %d%n",
                    v6, size, packets, sent.gsoSegmentsWritten.sum(), mss);
            assertTrue(sent.gsoSegmentsWritten.sum() > 0, "super-segments sent");
            assertTrue(packets < size / mss / 4, packets + " packets for " + size / mss + " segments");
            assertEquals(0, s.statsA.tcp.checksumErrors.value());
            assertEquals(sent.gsoSegmentsWritten.sum(), s.links.a().stats().gsoSegmentsRead.sum(),
                    "every super-segment is delivered whole");
        }
    }

    @Test
    void withoutOffloadEverySegmentFitsTheMtu() throws Exception {
        long size = 4L * MIB;
        try (MemoryStacks s = new MemoryStacks(MTU, false)) {
            TcpEndpoint[] ep = s.connect(false, 5002);
            assertEquals(size, transfer(ep[1], ep[0], size));
            LinkStats sent = s.links.b().stats();
            assertEquals(0, sent.gsoSegmentsWritten.sum());
            assertTrue(sent.packetsWritten.sum() >= size / ep[1].snapshot().sendMss());
        }
    }

    /**
     * A super-segment cut by the link (as a kernel does) with one segment lost: only that segment
     * is sent again, since each segment of a super-segment is recorded on its own.
     */
    @ParameterizedTest(name = "v6={0}")
    @ValueSource(booleans = {false, true})
    void aSegmentLostFromASuperSegmentIsTheOnlyOneSentAgain(boolean v6) throws Exception {
        long size = 4L * MIB;
        SegmentCuttingLink[] cut = new SegmentCuttingLink[1];
        int[] dropAt = new int[1];
        // Drop the third segment of the first super-segment past 1 MiB of data.
        try (MemoryStacks s = new MemoryStacks(MTU, true, l -> l, l -> cut[0] = new SegmentCuttingLink(l, seq -> {
            List<int[]> d = cut[0].dataSent();
            if (d.size() < 2) {
                return false;
            }
            int first = d.getFirst()[0];
            return seq - first > MIB && dropAt[0]++ == 2;
        }))) {
            TcpEndpoint[] ep = s.connect(v6, 5003);
            int iss = ep[1].sender.iss();
            assertEquals(size, transfer(ep[1], ep[0], size));
            SegmentCuttingLink link = cut[0];
            assertTrue(link.dropped(), "a segment was dropped");
            int lost = link.droppedSeq();
            int mss = ep[1].snapshot().sendMss();
            int highest = iss;
            int resent = 0;
            for (int[] d : link.dataSent()) {
                int seq = d[0];
                int end = seq + d[1];
                if (Seq.lt(seq, highest)) {
                    resent++;
                    assertTrue(seq == lost && d[1] <= mss, "only the lost segment goes again: resent "
                            + Integer.toUnsignedString(seq - iss) + "+" + d[1] + ", lost "
                            + Integer.toUnsignedString(lost - iss));
                }
                highest = Seq.max(highest, end);
            }
            assertTrue(resent >= 1, "the lost segment was sent again");
            assertTrue(link.superSegments() > 0, "super-segments were sent");
        }
    }

    // ---- checksums ------------------------------------------------------------------------------

    /** A SYN to a listening port of a stack on a capture link, its checksum field deliberately wrong. */
    private static PacketBuffer synWithBadChecksum() {
        IpAddress from = TcpPeer.PEER;
        IpAddress to = TcpPeer.LOCAL;
        int tcpLen = TcpHeader.MIN_LENGTH;
        byte[] b = new byte[Ipv4Header.MIN_LENGTH + tcpLen];
        Ipv4Header.write(b, 0, b.length, 1, 0, 64, TcpHeader.PROTOCOL, from, to);
        TcpHeader.write(b, Ipv4Header.MIN_LENGTH, 40000, 7000, 12345, 0, TcpHeader.MIN_LENGTH, TcpHeader.SYN, 65535);
        TcpHeader.fillChecksum(b, Ipv4Header.MIN_LENGTH, tcpLen, from, to);
        b[Ipv4Header.MIN_LENGTH + 16] ^= 0x5a;
        return PacketBuffer.copyOf(b, 0);
    }

    @Test
    void aSegmentWhoseChecksumTheLinkVerifiedIsNotSummedAgain() throws IOException {
        try (TcpPeer peer = new TcpPeer()) {
            peer.tcp.listen(TcpPeer.LOCAL, 7000, 4);
            peer.stack.deliverNetworkPacket(synWithBadChecksum().checksumVerified(true));
            assertEquals(0, peer.stats.tcp.checksumErrors.value());
            TcpPeer.Seg synAck = peer.takeOne();
            assertTrue(synAck.has(TcpHeader.SYN) && synAck.has(TcpHeader.ACK), "answered: " + synAck);
        }
    }

    @Test
    void aPlainSegmentWithABadChecksumIsStillRejected() throws IOException {
        try (TcpPeer peer = new TcpPeer()) {
            peer.tcp.listen(TcpPeer.LOCAL, 7000, 4);
            peer.stack.deliverNetworkPacket(synWithBadChecksum());
            assertEquals(1, peer.stats.tcp.checksumErrors.value());
            assertTrue(peer.take().isEmpty(), "nothing answers a corrupt segment");
        }
    }

    /** The partial checksum of a super-segment is the folded pseudo-header sum, not complemented (Linux's rule). */
    @Test
    void thePartialChecksumIsTheFoldedPseudoHeaderSum() {
        IpAddress src = IpAddress.parse("100.64.0.1");
        IpAddress dst = IpAddress.parse("100.64.0.2");
        int len = 20 + 12 + 10 * 1228;
        long sum = 0x6440 + 0x0001 + 0x6440 + 0x0002 + TcpHeader.PROTOCOL + len;
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        byte[] seg = new byte[len];
        TcpHeader.write(seg, 0, 1, 2, 3, 4, 32, TcpHeader.ACK, 100);
        TcpHeader.fillPartialChecksum(seg, 0, len, src, dst);
        assertEquals(sum, TcpHeader.checksum(seg, 0));
        assertEquals(TcpOptions.TIMESTAMPS_ALIGNED_LENGTH, 12);
    }
}
