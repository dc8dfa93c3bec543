package dev.loomstack.tcp;

/**
 * The sender's record of what the receiver has selectively acknowledged (RFC 6675 section 3): a
 * sorted list of disjoint ranges above SND.UNA, merged as SACK blocks arrive and pruned as the
 * cumulative ACK advances. Bounded, and allocation-free once the first SACK block arrived (most
 * connections never see one, so an idle connection carries no ranges); when full, the highest range
 * is forgotten, which only makes the sender more conservative.
 */
public final class SackScoreboard {
    static final int MAX_RANGES = 32;
    /** RFC 6675 section 2: DupThresh. */
    public static final int DUP_THRESH = 3;

    /** Allocated with the first range; every other method reads them only below {@link #count}. */
    private int[] starts;
    private int[] ends;
    private int count;

    public void reset() {
        count = 0;
    }

    public boolean isEmpty() {
        return count == 0;
    }

    public int ranges() {
        return count;
    }

    /** Merges the blocks of one ACK; blocks at or below {@code sndUna} (D-SACK, stale) are ignored. */
    public void update(int sndUna, int sndMax, int[] blockStarts, int[] blockEnds, int n) {
        for (int i = 0; i < n; i++) {
            int s = Seq.max(blockStarts[i], sndUna);
            int e = blockEnds[i];
            if (Seq.leq(e, s) || Seq.gt(e, sndMax)) {
                continue;
            }
            insert(s, e);
        }
        ackTo(sndUna);
    }

    private void insert(int s, int e) {
        if (starts == null) {
            starts = new int[MAX_RANGES];
            ends = new int[MAX_RANGES];
        }
        int i = 0;
        while (i < count && Seq.lt(ends[i], s)) {
            i++;
        }
        // Ranges i.. that touch [s, e) merge into one.
        int j = i;
        while (j < count && Seq.leq(starts[j], e)) {
            s = Seq.min(s, starts[j]);
            e = Seq.max(e, ends[j]);
            j++;
        }
        int removed = j - i;
        if (removed == 0) {
            if (count == MAX_RANGES) {
                if (i == count) {
                    return;
                }
                count--;
            }
            System.arraycopy(starts, i, starts, i + 1, count - i);
            System.arraycopy(ends, i, ends, i + 1, count - i);
            count++;
        } else if (removed > 1) {
            System.arraycopy(starts, j, starts, i + 1, count - j);
            System.arraycopy(ends, j, ends, i + 1, count - j);
            count -= removed - 1;
        }
        starts[i] = s;
        ends[i] = e;
    }

    /** Forgets everything at or below the cumulative ACK. */
    public void ackTo(int sndUna) {
        int drop = 0;
        while (drop < count && Seq.leq(ends[drop], sndUna)) {
            drop++;
        }
        if (drop > 0) {
            System.arraycopy(starts, drop, starts, 0, count - drop);
            System.arraycopy(ends, drop, ends, 0, count - drop);
            count -= drop;
        }
        if (count > 0 && Seq.lt(starts[0], sndUna)) {
            starts[0] = sndUna;
        }
    }

    public int sackedBytes() {
        int n = 0;
        for (int i = 0; i < count; i++) {
            n += ends[i] - starts[i];
        }
        return n;
    }

    /** The highest sequence number SACKed plus one, or {@code sndUna} when nothing is. */
    public int highestSacked(int sndUna) {
        return count == 0 ? sndUna : ends[count - 1];
    }

    /** If {@code seq} lies in a SACKed range, that range's end; otherwise {@code seq}. */
    public int skipSacked(int seq) {
        for (int i = 0; i < count; i++) {
            if (Seq.inRange(seq, starts[i], ends[i])) {
                return ends[i];
            }
            if (Seq.lt(seq, starts[i])) {
                break;
            }
        }
        return seq;
    }

    /** The start of the first SACKed range above {@code seq}, or {@code limit} when none is below it. */
    public int nextSackedStart(int seq, int limit) {
        for (int i = 0; i < count; i++) {
            if (Seq.gt(starts[i], seq)) {
                return Seq.min(starts[i], limit);
            }
        }
        return limit;
    }

    /**
     * RFC 6675 IsLost: true when DupThresh discontiguous ranges, or more than (DupThresh - 1) SMSS
     * bytes, are SACKed above {@code seq}.
     */
    public boolean isLost(int seq, int mss) {
        int bytesAbove = 0;
        int rangesAbove = 0;
        for (int i = count - 1; i >= 0 && Seq.gt(ends[i], seq); i--) {
            bytesAbove += ends[i] - Seq.max(starts[i], seq);
            rangesAbove++;
        }
        return rangesAbove >= DUP_THRESH || bytesAbove > (DUP_THRESH - 1) * mss;
    }

    /** Bytes in [from, to) not covered by a SACKed range. */
    public int unsackedBytes(int from, int to) {
        if (Seq.geq(from, to)) {
            return 0;
        }
        int n = to - from;
        for (int i = 0; i < count; i++) {
            int s = Seq.max(starts[i], from);
            int e = Seq.min(ends[i], to);
            if (Seq.gt(e, s)) {
                n -= e - s;
            }
        }
        return n;
    }
}
