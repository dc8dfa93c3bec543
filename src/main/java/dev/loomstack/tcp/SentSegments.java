package dev.loomstack.tcp;

/**
 * Every data segment sent and not yet cumulatively acknowledged, in sequence order, with when it
 * last left and what is known of it: SACKed (RFC 2018), marked lost, retransmitted and that
 * retransmission still in flight. This is the per-segment state RACK needs (RFC 8985 section 6.1:
 * each segment's transmission time and whether it was retransmitted) and the state the RFC 6675
 * section 4 {@code pipe} is computed from, kept as running byte counts as Linux does
 * (in flight = outstanding - SACKed - lost + retransmitted), so that no ACK has to walk the queue
 * to learn it.
 *
 * <p>A ring of parallel arrays, allocated with the first segment sent (an idle connection carries
 * none) and doubled as the flight grows, up to {@link #MAX_SEGMENTS}; when full, the sender sends
 * no new data until an ACK frees room. Entries tile [SND.UNA, SND.MAX) of the data; the FIN's
 * sequence number is not in it. Called only under the endpoint's lock.
 */
final class SentSegments {
    /** The most segments a connection keeps in flight: 8,192 x 17 bytes = 136 KiB at most per connection. */
    static final int MAX_SEGMENTS = 8192;
    static final int INITIAL_CAPACITY = 64;

    static final byte SACKED = 1;
    /** Marked lost and not yet sent again (or sent again, then that copy marked lost too). */
    static final byte LOST = 2;
    /** A retransmission of it is in flight (RFC 6675 section 4: counted in pipe a second time). */
    static final byte RETRANSMITTED = 4;
    /** Sent more than once at some time: its acknowledgment gives no unambiguous RTT (Karn). */
    static final byte EVER_RETRANSMITTED = 8;

    private int[] starts;
    private int[] ends;
    private long[] sentAt;
    private byte[] flags;
    private int head;
    private int count;

    private int sackedBytes;
    private int sackedSegments;
    private int lostBytes;
    private int retransmittedBytes;
    /** Nothing below this sequence number waits for a retransmission: where the search for the next starts. */
    private int lostHint;
    /** The end of the highest segment ever sent twice: above it, send times grow with the sequence. */
    private int retransmittedEdge;

    int size() {
        return count;
    }

    boolean isEmpty() {
        return count == 0;
    }

    /** Segments that may still be recorded before the record is full. */
    int room() {
        return MAX_SEGMENTS - count;
    }

    boolean isFull() {
        return count == MAX_SEGMENTS;
    }

    int sackedBytes() {
        return sackedBytes;
    }

    int sackedSegments() {
        return sackedSegments;
    }

    int lostBytes() {
        return lostBytes;
    }

    int retransmittedBytes() {
        return retransmittedBytes;
    }

    private int slot(int i) {
        int s = head + i;
        return s >= starts.length ? s - starts.length : s;
    }

    int start(int i) {
        return starts[slot(i)];
    }

    int end(int i) {
        return ends[slot(i)];
    }

    long sentAt(int i) {
        return sentAt[slot(i)];
    }

    boolean has(int i, byte flag) {
        return (flags[slot(i)] & flag) != 0;
    }

    // ---- sending -----------------------------------------------------------------------------------

    /** New data [start, end) left at {@code now}; it lies just above everything recorded. */
    void sent(int start, int end, long now) {
        if (count == 0) {
            lostHint = start;
            retransmittedEdge = start;
        }
        if (starts == null) {
            allocate(INITIAL_CAPACITY);
        } else if (count == starts.length) {
            allocate(starts.length * 2);
        }
        int s = slot(count);
        starts[s] = start;
        ends[s] = end;
        sentAt[s] = now;
        flags[s] = 0;
        count++;
    }

    private void allocate(int capacity) {
        int c = Math.min(capacity, MAX_SEGMENTS);
        int[] ns = new int[c];
        int[] ne = new int[c];
        long[] nt = new long[c];
        byte[] nf = new byte[c];
        for (int i = 0; i < count; i++) {
            int s = slot(i);
            ns[i] = starts[s];
            ne[i] = ends[s];
            nt[i] = sentAt[s];
            nf[i] = flags[s];
        }
        starts = ns;
        ends = ne;
        sentAt = nt;
        flags = nf;
        head = 0;
    }

    /**
     * Segment {@code i} was sent again at {@code now} (a repair, a tail loss probe or the timeout's
     * retransmission): its copy is in flight, its time is the new one. A copy of a SACKed segment
     * (a probe of the last segment) is not counted in flight: the receiver holds the data, and
     * the flag must match the count that {@link #forget} takes back on the cumulative ACK.
     */
    void retransmitted(int i, long now) {
        int s = slot(i);
        byte f = flags[s];
        if ((f & SACKED) == 0) {
            if ((f & RETRANSMITTED) == 0) {
                retransmittedBytes += ends[s] - starts[s];
            }
            f |= RETRANSMITTED;
        }
        flags[s] = (byte) (f | EVER_RETRANSMITTED);
        sentAt[s] = now;
        if (Seq.gt(ends[s], retransmittedEdge)) {
            retransmittedEdge = ends[s];
        }
        if (lostHint == starts[s]) {
            lostHint = ends[s];
        }
    }

    // ---- acknowledgment ------------------------------------------------------------------------------

    /**
     * The cumulative ACK reached {@code ack}: segments wholly below it go, one cut by it is trimmed.
     * Calls {@code delivered} for each segment (or part) newly delivered by it, that is, not
     * SACKed before, in sequence order, before it goes.
     */
    void acknowledge(int ack, Delivery delivered) {
        while (count > 0) {
            int s = head;
            int start = starts[s];
            int end = ends[s];
            if (Seq.leq(end, ack)) {
                if ((flags[s] & SACKED) == 0 && delivered != null) {
                    delivered.segment(start, end, sentAt[s], (flags[s] & EVER_RETRANSMITTED) != 0);
                }
                forget(s, end - start);
                head = head + 1 == starts.length ? 0 : head + 1;
                count--;
            } else {
                if (Seq.gt(ack, start)) {
                    int cut = ack - start;
                    if ((flags[s] & SACKED) == 0 && delivered != null) {
                        delivered.segment(start, ack, sentAt[s], (flags[s] & EVER_RETRANSMITTED) != 0);
                    }
                    forget(s, cut);
                    starts[s] = ack;
                    if ((flags[s] & SACKED) != 0) {
                        // Still a SACKed segment, only shorter: it counts as one still.
                        sackedSegments++;
                    }
                }
                break;
            }
        }
        if (count == 0) {
            head = 0;
        }
        if (Seq.lt(lostHint, ack)) {
            lostHint = ack;
        }
    }

    /** Takes {@code len} bytes of the segment in slot {@code s} out of the running counts. */
    private void forget(int s, int len) {
        byte f = flags[s];
        if ((f & SACKED) != 0) {
            sackedBytes -= len;
            sackedSegments--;
        }
        if ((f & LOST) != 0) {
            lostBytes -= len;
        }
        if ((f & RETRANSMITTED) != 0) {
            retransmittedBytes -= len;
        }
    }

    /** What is told of each segment an ACK newly delivers. */
    interface Delivery {
        void segment(int start, int end, long sentAt, boolean retransmitted);
    }

    /**
     * RFC 2018 section 5 / RFC 6675 section 4: the receiver holds [start, end). Each segment it
     * wholly covers and that was not SACKed yet becomes SACKed (a lost mark and a copy in flight no
     * longer count) and is told to {@code delivered}. A segment only partly covered stays as it is:
     * receivers SACK what arrived, which is whole segments as sent.
     *
     * @return the bytes newly SACKed
     */
    int sack(int start, int end, Delivery delivered) {
        int newly = 0;
        for (int i = firstEndingAfter(start); i < count; i++) {
            int s = slot(i);
            if (Seq.geq(starts[s], end)) {
                break;
            }
            if (Seq.lt(starts[s], start) || Seq.gt(ends[s], end) || (flags[s] & SACKED) != 0) {
                continue;
            }
            int len = ends[s] - starts[s];
            forget(s, len);
            flags[s] = (byte) ((flags[s] & EVER_RETRANSMITTED) | SACKED);
            sackedBytes += len;
            sackedSegments++;
            newly += len;
            delivered.segment(starts[s], ends[s], sentAt[s], (flags[s] & EVER_RETRANSMITTED) != 0);
        }
        return newly;
    }

    /** The index of the first segment ending after {@code seq} (binary search; {@link #size()} if none). */
    int firstEndingAfter(int seq) {
        int lo = 0;
        int hi = count;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (Seq.gt(ends[slot(mid)], seq)) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        return lo;
    }

    // ---- loss ----------------------------------------------------------------------------------------

    /**
     * Marks segment {@code i} lost (RFC 8985 section 6.2 step 5): it waits for a repair. A copy of
     * it in flight is given up for lost too.
     *
     * @return whether the mark is new (the segment was not waiting for a repair already)
     */
    boolean markLost(int i) {
        int s = slot(i);
        byte f = flags[s];
        if ((f & SACKED) != 0 || ((f & LOST) != 0 && (f & RETRANSMITTED) == 0)) {
            return false;
        }
        int len = ends[s] - starts[s];
        if ((f & RETRANSMITTED) != 0) {
            retransmittedBytes -= len;
        }
        if ((f & LOST) == 0) {
            lostBytes += len;
        }
        flags[s] = (byte) ((f & ~RETRANSMITTED) | LOST);
        if (Seq.lt(starts[s], lostHint)) {
            lostHint = starts[s];
        }
        return true;
    }

    /**
     * Whether the send times of segment {@code i} and of all above it grow with the sequence: it
     * was sent once only and nothing above it was ever sent again.
     */
    boolean sentInOrderFrom(int i) {
        int s = slot(i);
        return (flags[s] & EVER_RETRANSMITTED) == 0 && Seq.geq(starts[s], retransmittedEdge);
    }

    /** Whether segment {@code i} waits for a repair: marked lost and not sent again since. */
    boolean awaitsRepair(int i) {
        byte f = flags[slot(i)];
        return (f & (LOST | RETRANSMITTED | SACKED)) == LOST;
    }

    /** The first segment marked lost and not sent again since, or -1. */
    int nextToRepair() {
        if (lostBytes == 0) {
            return -1;
        }
        for (int i = firstEndingAfter(lostHint); i < count; i++) {
            if (awaitsRepair(i)) {
                lostHint = start(i);
                return i;
            }
        }
        lostHint = count == 0 ? lostHint : end(count - 1);
        return -1;
    }

    /**
     * Forgets every lost mark (a recovery found spurious is undone, RFC 3708 section 4): what was
     * taken for lost is in the network after all.
     */
    void clearLostMarks() {
        if (lostBytes == 0) {
            return;
        }
        for (int i = 0; i < count; i++) {
            int s = slot(i);
            if ((flags[s] & LOST) != 0) {
                flags[s] &= ~LOST;
            }
        }
        lostBytes = 0;
    }
}
