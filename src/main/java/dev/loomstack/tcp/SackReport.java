package dev.loomstack.tcp;

import dev.loomstack.packet.TcpOptions;

/**
 * What the receiver's next SACK option reports: a duplicate segment first, as a D-SACK block (RFC
 * 2883 section 4), then the ranges held out of order (RFC 2018 section 4), as sequence numbers.
 *
 * <p>RFC 2883 section 4 fixes the order: the first block is the duplicate just received; when that
 * duplicate lies inside a range held above the cumulative acknowledgment, the second block is that
 * (possibly larger) range; the remaining blocks are the ordinary ones, none repeated. A duplicate is
 * reported in one ACK only (section 4: two identical D-SACK blocks go out only for two duplicates),
 * so the receiver forgets it once an ACK has gone.
 *
 * <p>The receiver creates one the first time it has something to report (data held out of order, or
 * a duplicate) and keeps it: an idle connection never holds one, and no segment allocates. Called
 * only under the endpoint's lock; not thread-safe on its own.
 */
final class SackReport {
    private final int[] starts = new int[OutOfOrderQueue.MAX_SACK_BLOCKS];
    private final int[] ends = new int[OutOfOrderQueue.MAX_SACK_BLOCKS];
    private final long[] streamStarts = new long[OutOfOrderQueue.MAX_SACK_BLOCKS];
    private final long[] streamEnds = new long[OutOfOrderQueue.MAX_SACK_BLOCKS];

    private boolean duplicatePending;
    private int duplicateStart;
    private int duplicateEnd;

    /**
     * Remembers that {@code [start, end)} arrived a second time. Only the latest duplicate is
     * reported: RFC 2883 section 4 has the D-SACK block describe the segment that triggered the ACK.
     */
    void duplicate(int start, int end) {
        duplicatePending = true;
        duplicateStart = start;
        duplicateEnd = end;
    }

    boolean duplicatePending() {
        return duplicatePending;
    }

    /** An ACK went out: the duplicate was reported on it, or had no room there; either way it is done. */
    void forgetDuplicate() {
        duplicatePending = false;
    }

    /**
     * Writes the SACK option at {@code at} with at most {@code max} blocks.
     *
     * @param held      the ranges held out of order, or null when there are none
     * @param rcvNxt    RCV.NXT, the sequence number of stream offset {@code rcvStream}
     * @param rcvStream the stream offset reached in order
     * @return bytes written (0 when there is nothing to report or no room)
     */
    int write(byte[] b, int at, int max, OutOfOrderQueue held, int rcvNxt, long rcvStream) {
        int n = blocks(starts, ends, max, held, rcvNxt, rcvStream);
        return n == 0 ? 0 : TcpOptions.writeSack(b, at, starts, ends, n);
    }

    /** The blocks {@link #write} would report, into {@code blockStarts}/{@code blockEnds}; returns how many. */
    int blocks(int[] blockStarts, int[] blockEnds, int max, OutOfOrderQueue held, int rcvNxt, long rcvStream) {
        max = Math.min(max, OutOfOrderQueue.MAX_SACK_BLOCKS);
        int n = 0;
        long lead = -1;
        if (duplicatePending && max > 0) {
            blockStarts[0] = duplicateStart;
            blockEnds[0] = duplicateEnd;
            n = 1;
            if (Seq.geq(duplicateStart, rcvNxt)) {
                // Above the cumulative ACK: the held range containing it goes second.
                lead = rcvStream + (duplicateStart - rcvNxt);
            }
        }
        if (held != null && n < max) {
            int m = held.sackBlocks(streamStarts, streamEnds, max - n, lead);
            for (int i = 0; i < m; i++) {
                blockStarts[n + i] = rcvNxt + (int) (streamStarts[i] - rcvStream);
                blockEnds[n + i] = rcvNxt + (int) (streamEnds[i] - rcvStream);
            }
            n += m;
        }
        return n;
    }
}
