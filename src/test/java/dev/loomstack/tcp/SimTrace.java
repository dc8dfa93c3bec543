package dev.loomstack.tcp;

import dev.loomstack.stack.Stats;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A trace of one sender in a simulated transfer: every {@code interval} of simulated time, the
 * sender's congestion window and slow-start threshold (from {@link TcpEndpoint#snapshot()}), what
 * the wire shows of its flight (bytes sent and not cumulatively acknowledged, and of those the
 * bytes SACKed, as the ACKs reaching the sender report them) and its loss-recovery counters. The
 * flight is read off the wire, not out of the sender, so the trace means the same whatever the
 * sender's insides look like.
 *
 * <p>Printed as a table when {@code -Dloomstack.trace=true}; {@code -Dloomstack.trace.intervalMs=N}
 * sets the sampling interval (default 100 ms).
 */
final class SimTrace implements SimNetwork.WireTap {
    static final String PROPERTY = "loomstack.trace";
    static final String INTERVAL_PROPERTY = "loomstack.trace.intervalMs";
    private static final long MS = 1_000_000;

    /** One row: counters are totals since the connection opened. */
    record Sample(long atNanos, int cwnd, int ssthresh, long outstanding, long sacked, long acked, long timeouts,
                  long tlps, long fastRetransmits, long sackRecoveries, long retransmits) {}

    private final SimNetwork.Direction data;
    private final TcpEndpoint sender;
    private final Stats.TcpStats stats;
    private final long interval;
    private final List<Sample> samples = new ArrayList<>();
    private long origin = -1;
    private long nextSample;
    // What the wire shows, guarded by this.
    private long sentEnd;
    private long acked;
    private final TreeMap<Long, Long> sackedRanges = new TreeMap<>();

    SimTrace(SimNetwork net, SimNetwork.Direction data, TcpEndpoint sender, Stats.TcpStats stats, long intervalNanos) {
        this.data = data;
        this.sender = sender;
        this.stats = stats;
        this.interval = intervalNanos;
        net.tap(this);
    }

    /** A trace of {@code transfer}'s sender, sampled at the interval the system property gives. */
    static SimTrace of(SimTransfer transfer) {
        SimTrace t = new SimTrace(transfer.net, SimNetwork.Direction.B_TO_A, transfer.sender, transfer.senderStats(),
                Long.getLong(INTERVAL_PROPERTY, 100) * MS);
        transfer.trace(t);
        return t;
    }

    static boolean enabled() {
        return Boolean.getBoolean(PROPERTY);
    }

    @Override
    public synchronized void sent(SimNetwork.Direction d, WireSegment s, long now) {
        if (d == data && s.tcp() && s.offset() != WireSegment.UNKNOWN && s.payloadLength() > 0) {
            sentEnd = Math.max(sentEnd, s.offset() + s.payloadLength());
        }
    }

    @Override
    public synchronized void delivered(SimNetwork.Direction d, WireSegment s, long now) {
        if (d != data.reverse() || !s.tcp() || s.ackOffset() == WireSegment.UNKNOWN) {
            return;
        }
        if (s.ackOffset() > acked && s.ackOffset() < acked + (1L << 31)) {
            acked = s.ackOffset();
            sackedRanges.headMap(acked, true).clear();
        }
        for (int i = 0; i < s.sackBlocks(); i++) {
            addSacked(s.sackStartOffset(i), s.sackEndOffset(i));
        }
    }

    /** Merges {@code [start, end)} into the SACKed ranges above the cumulative ACK; D-SACKs below it are ignored. */
    private void addSacked(long start, long end) {
        start = Math.max(start, acked);
        if (end <= start || end - start > (1L << 31)) {
            return;
        }
        Map.Entry<Long, Long> before = sackedRanges.floorEntry(start);
        if (before != null && before.getValue() >= start) {
            start = before.getKey();
            end = Math.max(end, before.getValue());
        }
        Map.Entry<Long, Long> next;
        while ((next = sackedRanges.ceilingEntry(start)) != null && next.getKey() <= end) {
            end = Math.max(end, next.getValue());
            sackedRanges.remove(next.getKey());
        }
        sackedRanges.put(start, end);
    }

    private synchronized long sackedBytes() {
        long sum = 0;
        for (Map.Entry<Long, Long> e : sackedRanges.entrySet()) {
            sum += e.getValue() - e.getKey();
        }
        return sum;
    }

    /** Called every simulation step; samples when an interval has passed. */
    void tick(long now) {
        if (origin < 0) {
            origin = now;
            nextSample = now;
        }
        if (now < nextSample) {
            return;
        }
        nextSample += interval;
        // The endpoint's lock first, then this trace's: never both at once.
        TcpEndpoint.Snapshot snap = sender.snapshot();
        long outstanding;
        long ackedNow;
        synchronized (this) {
            outstanding = Math.max(0, sentEnd - acked);
            ackedNow = acked;
        }
        samples.add(new Sample(now - origin, snap.congestionWindow(), snap.slowStartThreshold(), outstanding,
                sackedBytes(), ackedNow, stats.timeouts.value(), stats.tlpRecovery.value(),
                stats.fastRetransmit.value(), stats.sackRecovery.value(), stats.retransmits.value()));
    }

    List<Sample> samples() {
        return List.copyOf(samples);
    }

    /**
     * Simulated time in samples during which nothing new was acknowledged although data was
     * outstanding: the time a sender spends waiting, mostly on timers.
     */
    long stalledNanos() {
        long stalled = 0;
        for (int i = 1; i < samples.size(); i++) {
            Sample prev = samples.get(i - 1);
            Sample cur = samples.get(i);
            if (cur.acked() == prev.acked() && prev.outstanding() > 0) {
                stalled += cur.atNanos() - prev.atNanos();
            }
        }
        return stalled;
    }

    String summary() {
        if (samples.isEmpty()) {
            return "no samples";
        }
        Sample last = samples.getLast();
        return String.format("%.2f s traced: %d timeouts, %d TLPs, %d fast retransmits, %d SACK recoveries, "
                        + "%d retransmits; no progress for %.2f s (%.0f %%) of it",
                last.atNanos() / 1e9, last.timeouts(), last.tlps(), last.fastRetransmits(), last.sackRecoveries(),
                last.retransmits(), stalledNanos() / 1e9, 100.0 * stalledNanos() / Math.max(1, last.atNanos()));
    }

    /** The samples as a table, one line each, sizes in bytes. */
    String table() {
        StringBuilder b = new StringBuilder();
        b.append(String.format("%8s %8s %8s %9s %8s %11s %5s %5s %5s %5s %6s%n", "t_ms", "cwnd", "ssthresh",
                "outstand", "sacked", "acked", "rto", "tlp", "fr", "sackr", "rtx"));
        for (Sample s : samples) {
            b.append(String.format("%8d %8d %8s %9d %8d %11d %5d %5d %5d %5d %6d%n", s.atNanos() / MS, s.cwnd(),
                    s.ssthresh() >= Integer.MAX_VALUE / 2 ? "inf" : Integer.toString(s.ssthresh()), s.outstanding(),
                    s.sacked(), s.acked(), s.timeouts(), s.tlps(), s.fastRetransmits(), s.sackRecoveries(),
                    s.retransmits()));
        }
        return b.toString();
    }

    /** Prints the table and summary when the trace property is set. */
    void printIfEnabled(String title) {
        if (enabled()) {
            System.out.println("== trace: " + title + "\n" + table() + "== " + summary());
        }
    }
}
