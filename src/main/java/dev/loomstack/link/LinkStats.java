package dev.loomstack.link;

import java.util.concurrent.atomic.LongAdder;

/** Counters every link keeps. */
public final class LinkStats {
    public final LongAdder packetsRead = new LongAdder();
    public final LongAdder bytesRead = new LongAdder();
    public final LongAdder packetsWritten = new LongAdder();
    public final LongAdder bytesWritten = new LongAdder();
    public final LongAdder readErrors = new LongAdder();
    public final LongAdder writeErrors = new LongAdder();
    /** Packets dropped by the link itself (closed link, oversize, impairment). */
    public final LongAdder dropped = new LongAdder();
}
