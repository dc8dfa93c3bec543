package dev.loomstack.tcp;

/**
 * The receive half of a connection: the receive sequence space (RFC 9293 section 3.3.1: RCV.NXT,
 * RCV.WND as the advertised right edge RCV.ADV, IRS), the receive ring with the ranges held past a
 * hole, and what the receiver decides on its own:
 * <ul>
 *   <li>segment acceptability and trimming to the window (RFC 9293 section 3.10.7.4);</li>
 *   <li>the window to advertise, never moving its right edge left and moving it only by a useful
 *       amount (RFC 9293 section 3.8.6.2.2, receiver-side silly window avoidance);</li>
 *   <li>when an ACK may wait and when it must go at once (RFC 9293 section 3.8.6.3, RFC 5681
 *       section 4.2);</li>
 *   <li>SACK blocks for the held ranges, newest first (RFC 2018 section 4), behind a D-SACK block
 *       for a duplicate segment once SACK is agreed (RFC 2883 section 4);</li>
 *   <li>receive-window auto-tuning by dynamic right-sizing (the idea of Linux's tcp_rcv_space_adjust).</li>
 * </ul>
 *
 * <p>It sends nothing itself: the endpoint asks it and builds the segments. Called only under the
 * endpoint's lock; not thread-safe on its own.
 */
final class TcpReceiver {
    /** RFC 2018 section 3: four SACK blocks fit in the option space, three beside timestamps. */
    static final int MAX_SACK_BLOCKS_SENT = OutOfOrderQueue.MAX_SACK_BLOCKS;
    static final int MAX_SACK_BLOCKS_WITH_TIMESTAMPS = 3;
    /** RFC 2018 section 3: two NOPs for alignment, kind and length, then eight bytes a block. */
    static final int SACK_OPTION_OVERHEAD = 4;
    static final int SACK_BLOCK_LENGTH = 8;

    /** What {@link #place} did with a segment's data. */
    static final int NOTHING_NEW = 0;
    static final int OUT_OF_ORDER = 1;
    static final int IN_ORDER = 2;
    static final int FILLED_HOLE = 3;
    /** A hole was filled, and the stream now reaches a FIN that arrived beyond it. */
    static final int FILLED_HOLE_TO_FIN = 4;

    private final TcpSettings settings;
    private int irs;
    private int rcvNxt;
    /** The right edge last advertised: RCV.NXT + RCV.WND as the peer knows it. */
    private int rcvAdv;
    private int rcvShift;
    private ByteRing receiveBuffer;
    /** Bytes received in order since the SYN, as a 64-bit stream offset the queue can use. */
    private long rcvStream;
    /** Ranges held past RCV.NXT; their bytes wait in the receive ring. Null while there are none. */
    private OutOfOrderQueue outOfOrder;
    private long pendingFinStream = -1;
    private boolean finReceived;
    private int lastAckSent;
    private int unackedSegments;
    private long tuneStart;
    private int copiedSinceTune;
    /** SACK was agreed, so duplicates are reported (RFC 2883 section 4 needs the SACK option). */
    private boolean reportDuplicates;

    /**
     * The SACK option's blocks and scratch, created the first time there is anything to report
     * (an idle connection has never needed it) and kept from then on, so no segment allocates.
     */
    private SackReport sack;

    TcpReceiver(TcpSettings settings) {
        this.settings = settings;
        this.receiveBuffer = new ByteRing(settings.receiveBufferInitial());
    }

    // ---- synchronization -------------------------------------------------------------------------

    /** The peer's SYN fixed IRS: the next byte expected is the one after it. */
    void synchronize(int initialReceiveSequence) {
        irs = initialReceiveSequence;
        rcvNxt = irs + 1;
        lastAckSent = rcvNxt;
    }

    /** RFC 7323 section 2.2: our scale, once both SYNs carried the option; otherwise none. */
    void windowScaling(boolean agreed) {
        if (agreed) {
            rcvShift = settings.windowShift();
        } else {
            rcvShift = 0;
            // Without scaling the window cannot describe more than 64 KiB.
            if (receiveBuffer.capacity() > 65535) {
                receiveBuffer = new ByteRing(65535);
            }
        }
    }

    /**
     * Whether both SYNs agreed on SACK (RFC 2018 section 2). Only then are duplicates reported as
     * D-SACK blocks and acknowledged at once (RFC 2883 section 4); without it nothing changes.
     */
    void sackAgreed(boolean agreed) {
        reportDuplicates = agreed;
    }

    /** The window for a SYN or SYN-ACK, which RFC 7323 section 2.2 says is never scaled. */
    int synWindow() {
        int window = Math.min(receiveBuffer.free(), 65535);
        rcvAdv = rcvNxt + window;
        return window;
    }

    /** ESTABLISHED: the whole free ring is offered, and auto-tuning measures from now. */
    void established(long now) {
        rcvAdv = rcvNxt + receiveBuffer.free();
        tuneStart = now;
    }

    int irs() {
        return irs;
    }

    int rcvNxt() {
        return rcvNxt;
    }

    int lastAckSent() {
        return lastAckSent;
    }

    // ---- arrival ---------------------------------------------------------------------------------

    /** RFC 9293 section 3.10.7.4, first check: does the segment overlap the receive window? */
    boolean acceptable(int seq, int segLen) {
        int wnd = rcvAdv - rcvNxt;
        if (wnd < 0) {
            wnd = 0;
        }
        if (segLen == 0) {
            return wnd == 0 ? seq == rcvNxt : Seq.inRange(seq, rcvNxt, rcvNxt + wnd);
        }
        if (wnd == 0) {
            return false;
        }
        return Seq.inRange(seq, rcvNxt, rcvNxt + wnd) || Seq.inRange(seq + segLen - 1, rcvNxt, rcvNxt + wnd);
    }

    /**
     * Takes a segment's data: trimmed to what is new and inside the window, then either appended
     * (advancing RCV.NXT, and past any held ranges it now joins) or held out of order. A part that
     * arrived before, below RCV.NXT or inside a held range, is remembered for a D-SACK block.
     *
     * @return {@link #NOTHING_NEW}, {@link #OUT_OF_ORDER}, {@link #IN_ORDER}, {@link #FILLED_HOLE}
     *         or {@link #FILLED_HOLE_TO_FIN}
     */
    int place(int seq, byte[] b, int off, int len) {
        // Trim what was received before and what lies beyond the window.
        boolean duplicate = false;
        if (Seq.lt(seq, rcvNxt)) {
            int d = rcvNxt - seq;
            duplicate = duplicateArrived(seq, len);
            seq += d;
            off += d;
            len -= d;
        }
        // RFC 9293 section 3.10.7.4: keep only what lies inside RCV.NXT..RCV.NXT+RCV.WND. The
        // ring's free space bounds it too, so held data never outgrows the receive buffer.
        int edge = Seq.min(rcvAdv, rcvNxt + receiveBuffer.free());
        if (Seq.gt(seq + len, edge)) {
            len = Math.max(0, edge - seq);
        }
        if (len <= 0) {
            return NOTHING_NEW;
        }
        if (!duplicate && outOfOrder != null) {
            duplicateOfHeld(seq, len);
        }
        if (seq != rcvNxt) {
            storeOutOfOrder(seq - rcvNxt, b, off, len);
            return OUT_OF_ORDER;
        }
        int n = receiveBuffer.write(b, off, len);
        rcvNxt += n;
        rcvStream += n;
        if (outOfOrder == null) {
            return IN_ORDER;
        }
        return drainOutOfOrder() ? FILLED_HOLE_TO_FIN : FILLED_HOLE;
    }

    /**
     * Remembers the part of a segment's data below RCV.NXT, received before, for the next ACK's
     * D-SACK block (RFC 2883 section 4). For data {@link #place} does not see too: a segment wholly
     * below RCV.NXT fails the acceptability check and is only acknowledged.
     *
     * @return true when a duplicate was remembered
     */
    boolean duplicateArrived(int seq, int len) {
        if (!reportDuplicates || len <= 0 || !Seq.lt(seq, rcvNxt)) {
            return false;
        }
        int end = Seq.lt(seq + len, rcvNxt) ? seq + len : rcvNxt;
        sackReport().duplicate(seq, end);
        return true;
    }

    /**
     * Remembers the first part of new data {@code [seq, seq+len)} (at or past RCV.NXT) that a held
     * range has already: RFC 2883 section 4 reports it too, the held range behind it.
     */
    private void duplicateOfHeld(int seq, int len) {
        if (!reportDuplicates) {
            return;
        }
        long start = rcvStream + (seq - rcvNxt);
        int r = outOfOrder.firstOverlapping(start, start + len);
        if (r >= 0) {
            long dupStart = Math.max(start, outOfOrder.rangeStart(r));
            long dupEnd = Math.min(start + len, outOfOrder.rangeEnd(r));
            sackReport().duplicate(toSeq(dupStart), toSeq(dupEnd));
        }
    }

    /** A D-SACK block waits for the next ACK. */
    boolean duplicatePending() {
        return sack != null && sack.duplicatePending();
    }

    private SackReport sackReport() {
        if (sack == null) {
            sack = new SackReport();
        }
        return sack;
    }

    /**
     * Counts an in-order segment not yet acknowledged. RFC 9293 section 3.8.6.3: ACK at least every
     * second full-sized segment; at once when a hole was filled (RFC 5681 section 4.2) so the
     * sender's recovery moves on, and when part of it was a duplicate, so the D-SACK block reaches
     * the sender while it can still undo a spurious retransmission (RFC 2883 section 4).
     *
     * @return true when the ACK must go now rather than wait for the delayed-ACK timer
     */
    boolean inOrderSegmentCounted(boolean filledHole) {
        return inOrderSegmentCounted(filledHole, 1);
    }

    /**
     * As {@link #inOrderSegmentCounted(boolean)} for a segment standing for {@code segments}
     * segments (a super-segment handed over whole): counted as that many, so two or more draw the
     * ACK at once, as their segments one by one would have.
     */
    boolean inOrderSegmentCounted(boolean filledHole, int segments) {
        unackedSegments += segments;
        return filledHole || unackedSegments >= 2 || duplicatePending();
    }

    boolean ackPending() {
        return unackedSegments > 0;
    }

    /** Every ACK sent acknowledges all received so far, and carried the D-SACK block if one waited. */
    void ackSent() {
        lastAckSent = rcvNxt;
        unackedSegments = 0;
        if (sack != null) {
            sack.forgetDuplicate();
        }
    }

    /** Keeps a segment that starts {@code gap} bytes past RCV.NXT, already trimmed to the window. */
    private void storeOutOfOrder(int gap, byte[] b, int off, int len) {
        if (outOfOrder == null) {
            outOfOrder = new OutOfOrderQueue();
        }
        long start = rcvStream + gap;
        if (outOfOrder.add(start, start + len)) {
            receiveBuffer.store(receiveBuffer.size() + gap, b, off, len);
        } else if (outOfOrder.isEmpty()) {
            outOfOrder = null;
        }
    }

    /** After in-order data: makes readable whatever held ranges now continue the stream; true when a held FIN is reached. */
    private boolean drainOutOfOrder() {
        long next = outOfOrder.advance(rcvStream);
        int n = (int) (next - rcvStream);
        if (n > 0) {
            receiveBuffer.commit(n);
            rcvNxt += n;
            rcvStream = next;
        }
        if (outOfOrder.isEmpty()) {
            dropOutOfOrder();
        }
        if (pendingFinStream >= 0 && pendingFinStream == rcvStream) {
            pendingFinStream = -1;
            return true;
        }
        return false;
    }

    /** Forgets the held ranges and their bytes. */
    void dropOutOfOrder() {
        outOfOrder = null;
        receiveBuffer.discardStored();
    }

    boolean hasOutOfOrder() {
        return outOfOrder != null;
    }

    /**
     * A FIN at sequence {@code finAt}: true when it is next in order; otherwise, if it lies beyond a
     * hole, it is remembered and taken when the stream reaches it.
     */
    boolean finArrived(int finAt) {
        if (finAt == rcvNxt) {
            return true;
        }
        if (Seq.gt(finAt, rcvNxt)) {
            pendingFinStream = rcvStream + (finAt - rcvNxt);
        }
        return false;
    }

    /** The FIN takes one sequence number; the stream ends after the bytes before it. */
    void acceptFin() {
        rcvNxt++;
        finReceived = true;
    }

    boolean finReceived() {
        return finReceived;
    }

    // ---- window ----------------------------------------------------------------------------------

    /**
     * The window to advertise, never moving the right edge left (RFC 9293 section 3.8.6.2.2).
     *
     * @param mss the segment size silly-window avoidance counts in
     */
    int advertisedWindow(int mss) {
        // Out-of-order bytes sit in the ring inside the window already offered, so they do not shrink it.
        int free = receiveBuffer.free();
        int newEdge = rcvNxt + Math.max(free, 0);
        // Receiver-side silly window avoidance: move the edge only by a useful amount.
        int threshold = Math.min(receiveBuffer.capacity() / 2, mss);
        if (Seq.geq(newEdge - rcvAdv, threshold) || Seq.lt(rcvAdv, rcvNxt)) {
            rcvAdv = Seq.max(newEdge, rcvNxt);
        }
        int wnd = rcvAdv - rcvNxt;
        return Math.min(wnd >>> rcvShift, 65535);
    }

    /** The window last advertised, as it stands now: RCV.ADV - RCV.NXT. */
    int receiveWindow() {
        return Math.max(0, rcvAdv - rcvNxt);
    }

    private int capacityLimit() {
        return Math.min(settings.receiveBufferMax(), 65535 << rcvShift);
    }

    // ---- SACK ------------------------------------------------------------------------------------

    /** Whether data is held past a hole. */
    boolean holdsOutOfOrder() {
        return outOfOrder != null && !outOfOrder.isEmpty();
    }

    /**
     * Whether the next segment should carry a SACK option: data is held past a hole, or a duplicate
     * waits to be reported (then the option appears with nothing held out of order).
     */
    boolean hasSackBlocks() {
        return holdsOutOfOrder() || duplicatePending();
    }

    /**
     * Writes the SACK option at {@code at}: a D-SACK block first if a duplicate waits, then the
     * held range containing it, then (RFC 2018 section 4) the block holding the latest segment and
     * the most recent others; at most {@code max} blocks (RFC 2883 section 4).
     *
     * @return bytes written (0 when there is nothing to report or no room)
     */
    int writeSackBlocks(byte[] b, int at, int max) {
        if (max == 0 || !hasSackBlocks()) {
            return 0;
        }
        return sackReport().write(b, at, max, outOfOrder, rcvNxt, rcvStream);
    }

    /** The blocks {@link #writeSackBlocks} would report, as sequence numbers; returns how many. */
    int sackBlocks(int[] starts, int[] ends, int max) {
        if (!hasSackBlocks()) {
            return 0;
        }
        return sackReport().blocks(starts, ends, max, outOfOrder, rcvNxt, rcvStream);
    }

    private int toSeq(long streamOffset) {
        return rcvNxt + (int) (streamOffset - rcvStream);
    }

    // ---- application -----------------------------------------------------------------------------

    /** Bytes readable in order. */
    int readable() {
        return receiveBuffer.size();
    }

    int read(byte[] b, int off, int len) {
        return receiveBuffer.read(b, off, len);
    }

    /**
     * After the application read {@code n} bytes: grows the ring when the window limits the flow
     * (dynamic right-sizing: the application drained more than half the window in one round trip,
     * {@code period}), and says whether the window opened enough to announce (RFC 9293 section
     * 3.8.6.2.2).
     */
    boolean afterRead(int n, long now, long period, int sendMss) {
        copiedSinceTune += n;
        if (now - tuneStart >= period) {
            int cap = receiveBuffer.capacity();
            if (copiedSinceTune * 2L > cap && cap < capacityLimit()) {
                receiveBuffer.growCapacity(Math.min(capacityLimit(), cap * 2));
            }
            copiedSinceTune = 0;
            tuneStart = now;
        }
        int before = rcvAdv - rcvNxt;
        int free = receiveBuffer.free();
        return free - before >= Math.min(receiveBuffer.capacity() / 2, 2 * Math.max(sendMss, 1)) && !finReceived;
    }

    /** Received bytes held now, readable and out of order: what the receive window must bound. */
    int heldBytes() {
        return receiveBuffer.size() + outOfOrderBytes();
    }

    /** Bytes held out of order, waiting for a hole before them to fill. */
    int outOfOrderBytes() {
        return outOfOrder == null ? 0 : (int) outOfOrder.heldBytes();
    }

    int capacity() {
        return receiveBuffer.capacity();
    }

    int allocated() {
        return receiveBuffer.allocated();
    }

    int free() {
        return receiveBuffer.free();
    }
}
