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
    /** Packets read whole that stand for several segments (the peer's kernel did not cut them). */
    public final LongAdder gsoSegmentsRead = new LongAdder();
    /** Packets written whole for the kernel to cut into segments. */
    public final LongAdder gsoSegmentsWritten = new LongAdder();
    /** MTU-sized packets merged into a larger segment of their flow before delivery (receive coalescing). */
    public final LongAdder packetsCoalesced = new LongAdder();
    /** Packets dropped by the link itself (closed link, oversize, impairment). */
    public final LongAdder dropped = new LongAdder();
}
