package dev.loomstack.tcp;

import java.util.Arrays;

/**
 * Which bytes past RCV.NXT a connection holds out of order: a sorted list of disjoint ranges of
 * stream offsets, overlapping and adjacent arrivals merged into one range (RFC 9293 section
 * 3.10.7.4 asks only that the data be kept; how is ours to choose). The bytes themselves sit in the
 * receive ring at their final place, so this class holds only the bookkeeping: two longs per range.
 *
 * <p>Bounds. The caller admits only data inside the receive window (RCV.NXT..RCV.NXT+RCV.WND), so
 * the bytes described never exceed the window however the peer slices and overlaps its segments.
 * The number of ranges is capped at {@link #MAX_RANGES}: a run of tiny segments with one-byte holes
 * between them would otherwise create one range per two bytes of window. At the cap a range above
 * all others is refused and a lower one evicts the highest (data nearest RCV.NXT is what unblocks
 * delivery, as Linux prunes its out-of-order queue from the top). The sender keeps everything until
 * it is cumulatively acknowledged (RFC 2018 section 8), so forgetting SACKed data costs only a
 * retransmission. Every operation costs a binary search plus a copy of at most {@code MAX_RANGES}
 * entries, never a walk proportional to the data held.
 *
 * <p>SACK blocks (RFC 2018 section 4): the first reports the range holding the latest arrival, then
 * the ranges of the most recent earlier arrivals, then, if room is left, the highest others. Behind a
 * D-SACK block the range holding the duplicate may be asked to lead instead (RFC 2883 section 4).
 *
 * <p>Not thread-safe: the owning endpoint's lock guards it.
 */
final class OutOfOrderQueue {
    /** Separate ranges kept at most; enough for one loss in every segment of a 256-segment flight. */
    static final int MAX_RANGES = 256;
    /** RFC 2018 section 3: at most four blocks fit in the option space. */
    static final int MAX_SACK_BLOCKS = 4;
    private static final int INITIAL_RANGES = 8;

    private long[] starts = new long[INITIAL_RANGES];
    private long[] ends = new long[INITIAL_RANGES];
    private int count;
    private long heldBytes;
    /** A stream offset inside the range of each recent arrival, the latest first. */
    private final long[] recent = new long[MAX_SACK_BLOCKS];
    private int recentCount;
    private final int[] reported = new int[MAX_SACK_BLOCKS];

    boolean isEmpty() {
        return count == 0;
    }

    /** Bytes described by the ranges held. */
    long heldBytes() {
        return heldBytes;
    }

    int rangeCount() {
        return count;
    }

    /** The first offset held, or -1 when empty. */
    long firstStart() {
        return count == 0 ? -1 : starts[0];
    }

    /**
     * Records that {@code [start, end)} arrived. Returns false when it was refused (a new range
     * above all others with the range cap reached); the caller then keeps none of its bytes.
     */
    boolean add(long start, long end) {
        if (end <= start) {
            throw new IllegalArgumentException("empty range " + start + ".." + end);
        }
        // First range that ends at or after start: the first one this arrival may touch.
        int first = firstEndingAtOrAfter(start);
        // Ranges first..last-1 overlap or adjoin the arrival.
        int last = first;
        while (last < count && starts[last] <= end) {
            last++;
        }
        if (first == last) {
            if (count == MAX_RANGES) {
                if (first == count) {
                    return false;
                }
                removeHighest();
            }
            insert(first, start, end);
        } else {
            long mergedStart = Math.min(start, starts[first]);
            long mergedEnd = Math.max(end, ends[last - 1]);
            for (int i = first; i < last; i++) {
                heldBytes -= ends[i] - starts[i];
            }
            starts[first] = mergedStart;
            ends[first] = mergedEnd;
            heldBytes += mergedEnd - mergedStart;
            int removed = last - first - 1;
            if (removed > 0) {
                System.arraycopy(starts, last, starts, first + 1, count - last);
                System.arraycopy(ends, last, ends, first + 1, count - last);
                count -= removed;
            }
        }
        noteArrival(start);
        return true;
    }

    /**
     * Removes what the in-order stream, now ending at {@code next}, has reached and returns the
     * offset up to which the stream is now contiguous: {@code next}, or the end of the range that
     * started at or before it.
     */
    long advance(long next) {
        int gone = 0;
        while (gone < count && starts[gone] <= next) {
            next = Math.max(next, ends[gone]);
            heldBytes -= ends[gone] - starts[gone];
            gone++;
        }
        if (gone > 0) {
            System.arraycopy(starts, gone, starts, 0, count - gone);
            System.arraycopy(ends, gone, ends, 0, count - gone);
            count -= gone;
        }
        if (count == 0) {
            clear();
        }
        return next;
    }

    /** Forgets everything (the connection is done with its receive side). */
    void clear() {
        count = 0;
        heldBytes = 0;
        recentCount = 0;
        if (starts.length > INITIAL_RANGES) {
            starts = new long[INITIAL_RANGES];
            ends = new long[INITIAL_RANGES];
        }
    }

    /**
     * Fills {@code blockStarts}/{@code blockEnds} with up to {@code max} SACK blocks in the order
     * RFC 2018 section 4 asks for; returns how many.
     */
    int sackBlocks(long[] blockStarts, long[] blockEnds, int max) {
        return sackBlocks(blockStarts, blockEnds, max, -1);
    }

    /**
     * As {@link #sackBlocks(long[], long[], int)}, but the range holding offset {@code lead} (when
     * one does; {@code lead} negative for none) comes first: the range containing a D-SACK block
     * follows it (RFC 2883 section 4).
     */
    int sackBlocks(long[] blockStarts, long[] blockEnds, int max, long lead) {
        max = Math.min(max, MAX_SACK_BLOCKS);
        int n = 0;
        if (lead >= 0 && max > 0) {
            int r = rangeHolding(lead);
            if (r >= 0) {
                reported[0] = r;
                blockStarts[0] = starts[r];
                blockEnds[0] = ends[r];
                n = 1;
            }
        }
        int kept = 0;
        for (int i = 0; i < recentCount; i++) {
            int r = rangeHolding(recent[i]);
            if (r < 0) {
                // Delivered or evicted since: nothing left to report for it.
                continue;
            }
            recent[kept++] = recent[i];
            if (n < max && !alreadyReported(r, n)) {
                reported[n] = r;
                blockStarts[n] = starts[r];
                blockEnds[n] = ends[r];
                n++;
            }
        }
        recentCount = kept;
        for (int r = count - 1; r >= 0 && n < max; r--) {
            if (!alreadyReported(r, n)) {
                reported[n] = r;
                blockStarts[n] = starts[r];
                blockEnds[n] = ends[r];
                n++;
            }
        }
        return n;
    }

    /**
     * The first held range sharing a byte with {@code [start, end)}, as an index for
     * {@link #rangeStart}/{@link #rangeEnd}; -1 when the arrival duplicates nothing held.
     */
    int firstOverlapping(long start, long end) {
        int i = firstEndingAtOrAfter(start + 1);
        return i < count && starts[i] < end ? i : -1;
    }

    long rangeStart(int range) {
        return starts[range];
    }

    long rangeEnd(int range) {
        return ends[range];
    }

    private boolean alreadyReported(int range, int n) {
        for (int i = 0; i < n; i++) {
            if (reported[i] == range) {
                return true;
            }
        }
        return false;
    }

    /** Moves the range holding {@code offset} to the front of the recent arrivals. */
    private void noteArrival(long offset) {
        int r = rangeHolding(offset);
        int kept = 0;
        for (int i = 0; i < recentCount; i++) {
            int other = rangeHolding(recent[i]);
            if (other >= 0 && other != r) {
                recent[kept++] = recent[i];
            }
        }
        int keep = Math.min(kept, MAX_SACK_BLOCKS - 1);
        System.arraycopy(recent, 0, recent, 1, keep);
        recent[0] = offset;
        recentCount = keep + 1;
    }

    /** Index of the range containing {@code offset}, or -1. */
    private int rangeHolding(long offset) {
        int i = firstEndingAtOrAfter(offset + 1);
        return i < count && starts[i] <= offset ? i : -1;
    }

    /** Binary search: the lowest index whose range ends at or after {@code offset} (count if none). */
    private int firstEndingAtOrAfter(long offset) {
        int lo = 0;
        int hi = count;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (ends[mid] < offset) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    private void insert(int at, long start, long end) {
        if (count == starts.length) {
            int grown = Math.min(MAX_RANGES, starts.length * 2);
            starts = Arrays.copyOf(starts, grown);
            ends = Arrays.copyOf(ends, grown);
        }
        System.arraycopy(starts, at, starts, at + 1, count - at);
        System.arraycopy(ends, at, ends, at + 1, count - at);
        starts[at] = start;
        ends[at] = end;
        count++;
        heldBytes += end - start;
    }

    private void removeHighest() {
        count--;
        heldBytes -= ends[count] - starts[count];
    }
}
