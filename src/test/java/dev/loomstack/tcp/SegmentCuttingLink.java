package dev.loomstack.tcp;

import dev.loomstack.link.LinkEndpoint;
import dev.loomstack.link.LinkStats;
import dev.loomstack.link.NetworkDispatcher;
import dev.loomstack.packet.Bytes;
import dev.loomstack.packet.Checksum;
import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.packet.TcpHeader;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.IntPredicate;

/**
 * A test link in front of another that does what a kernel does with a TCP super-segment written to
 * it (TSO): cuts it into segments of its segment size, each with the headers repeated, the
 * sequence number advanced, FIN and PSH only on the last, and the checksum completed from the
 * partial pseudo-header sum the way Linux does (the whole length in the sum replaced by the
 * segment's, then the segment's bytes added). A chosen data segment, by sequence number, may be
 * dropped once. It records every data segment written: (sequence, length) pairs.
 */
final class SegmentCuttingLink implements LinkEndpoint {
    private final LinkEndpoint inner;
    private final IntPredicate dropOnce;
    private final List<int[]> dataSent = new CopyOnWriteArrayList<>();
    private final java.util.concurrent.atomic.LongAdder superSegments = new java.util.concurrent.atomic.LongAdder();
    private volatile boolean dropped;
    private volatile int droppedSeq;

    /** @param dropOnce true for the sequence number of the one data segment to drop (once) */
    SegmentCuttingLink(LinkEndpoint inner, IntPredicate dropOnce) {
        this.inner = inner;
        this.dropOnce = dropOnce;
    }

    List<int[]> dataSent() {
        return dataSent;
    }

    /** Super-segments written to this link and cut. */
    long superSegments() {
        return superSegments.sum();
    }

    boolean dropped() {
        return dropped;
    }

    int droppedSeq() {
        return droppedSeq;
    }

    @Override
    public int mtu() {
        return inner.mtu();
    }

    @Override
    public int maxOffloadSize() {
        return inner.maxOffloadSize();
    }

    @Override
    public String name() {
        return "cut-" + inner.name();
    }

    @Override
    public void start(NetworkDispatcher dispatcher) {
        inner.start(dispatcher);
    }

    @Override
    public LinkStats stats() {
        return inner.stats();
    }

    @Override
    public void close() {
        inner.close();
    }

    @Override
    public boolean writePacket(PacketBuffer packet) {
        try {
            byte[] b = packet.array();
            int ip = packet.start();
            boolean v6 = (b[ip] & 0xf0) == 0x60;
            int ipLen = v6 ? 40 : (b[ip] & 0x0f) * 4;
            int t = ip + ipLen;
            int protocol = v6 ? b[ip + 6] & 0xff : b[ip + 9] & 0xff;
            if (protocol != TcpHeader.PROTOCOL) {
                return inner.writePacket(copy(packet, 0, packet.length()));
            }
            int hl = TcpHeader.headerLength(b, t);
            int payload = packet.end() - t - hl;
            int mss = packet.segmentSize() > 0 ? packet.segmentSize() : Math.max(payload, 1);
            int seq = TcpHeader.sequence(b, t);
            int flags = TcpHeader.flags(b, t);
            int totalTcp = hl + payload;
            if (packet.segmentSize() > 0) {
                superSegments.increment();
            }
            boolean ok = true;
            for (int done = 0; done == 0 || done < payload; done += mss) {
                int n = Math.min(mss, payload - done);
                boolean last = done + n >= payload;
                int segSeq = seq + done;
                if (n > 0) {
                    dataSent.add(new int[] {segSeq, n});
                    if (!dropped && dropOnce.test(segSeq)) {
                        dropped = true;
                        droppedSeq = segSeq;
                        continue;
                    }
                }
                PacketBuffer p = PacketBuffer.unpooled(ipLen + hl + n + 16).range(0, 0);
                byte[] o = p.array();
                p.append(ipLen + hl + n);
                System.arraycopy(b, ip, o, 0, ipLen + hl);
                System.arraycopy(b, t + hl + done, o, ipLen + hl, n);
                if (v6) {
                    Bytes.put16(o, 4, hl + n);
                } else {
                    Bytes.put16(o, 2, ipLen + hl + n);
                    Bytes.put16(o, 4, (Bytes.u16(b, ip + 4) + done / mss) & 0xffff);
                    Bytes.put16(o, 10, 0);
                    Bytes.put16(o, 10, Checksum.compute(o, 0, ipLen));
                }
                Bytes.put32(o, ipLen + 4, segSeq);
                o[ipLen + 13] = (byte) (last ? flags : flags & ~(TcpHeader.FIN | TcpHeader.PSH));
                int segLen = hl + n;
                if (packet.checksumPartial()) {
                    // The field holds the folded pseudo-header sum over the whole length: swap in
                    // this segment's length, then sum the segment over it and complement.
                    long pseudo = Checksum.addWord(Checksum.addWord(TcpHeader.checksum(b, t), ~totalTcp), segLen);
                    Bytes.put16(o, ipLen + 16, Checksum.fold(pseudo));
                    Bytes.put16(o, ipLen + 16, Checksum.compute(o, ipLen, segLen));
                }
                ok &= inner.writePacket(p);
            }
            return ok;
        } finally {
            packet.release();
        }
    }

    private static PacketBuffer copy(PacketBuffer packet, int from, int len) {
        PacketBuffer p = PacketBuffer.unpooled(len).range(0, 0);
        p.append(len);
        System.arraycopy(packet.array(), packet.start() + from, p.array(), 0, len);
        return p;
    }

}
