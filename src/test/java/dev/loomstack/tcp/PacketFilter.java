package dev.loomstack.tcp;

/**
 * A deterministic scenario on one direction of a {@link SimNetwork}: told about every packet as it
 * reaches the far end of the wire (after the link's own impairments), it lets it through, drops it,
 * or holds it until a later simulated time. Held packets keep their order, and packets behind a
 * held one wait behind it, so a hold is a delay spike, never a reordering.
 */
@FunctionalInterface
interface PacketFilter {
    /** What happens to one packet. */
    record Verdict(boolean drop, long holdUntilNanos) {
        static final Verdict PASS = new Verdict(false, Long.MIN_VALUE);
        static final Verdict DROP = new Verdict(true, Long.MIN_VALUE);

        static Verdict holdUntil(long nanos) {
            return new Verdict(false, nanos);
        }
    }

    PacketFilter PASS_ALL = (segment, now) -> Verdict.PASS;

    /** Judges {@code segment} arriving at simulated time {@code now}; runs on the simulation's thread. */
    Verdict judge(WireSegment segment, long now);

    /** Applies {@code filters} in turn; the first that does not pass the packet decides. */
    static PacketFilter firstOf(PacketFilter... filters) {
        return (segment, now) -> {
            for (PacketFilter f : filters) {
                Verdict v = f.judge(segment, now);
                if (v != Verdict.PASS) {
                    return v;
                }
            }
            return Verdict.PASS;
        };
    }

    /** Drops the first {@code count} transmissions of the data segment carrying stream byte {@code offset}. */
    static DropTransmissions dropTransmissions(long offset, int count) {
        return new DropTransmissions(offset, count);
    }

    /**
     * Holds every packet arriving in {@code [fromNanos, untilNanos)} until {@code untilNanos}, then
     * lets them all go in order.
     */
    static DelaySpike delaySpike(long fromNanos, long untilNanos) {
        return new DelaySpike(fromNanos, untilNanos);
    }

    final class DropTransmissions implements PacketFilter {
        private final long offset;
        private final int count;
        private int dropped;

        DropTransmissions(long offset, int count) {
            if (offset < 0 || count < 1) {
                throw new IllegalArgumentException("an offset >= 0 and at least one transmission to drop");
            }
            this.offset = offset;
            this.count = count;
        }

        @Override
        public synchronized Verdict judge(WireSegment segment, long now) {
            if (dropped < count && segment.carries(offset)) {
                dropped++;
                return Verdict.DROP;
            }
            return Verdict.PASS;
        }

        /** Transmissions dropped so far. */
        synchronized int dropped() {
            return dropped;
        }
    }

    final class DelaySpike implements PacketFilter {
        private final long from;
        private final long until;
        private int held;

        DelaySpike(long from, long until) {
            if (until <= from) {
                throw new IllegalArgumentException("a spike ends after it starts");
            }
            this.from = from;
            this.until = until;
        }

        @Override
        public synchronized Verdict judge(WireSegment segment, long now) {
            if (now >= from && now < until) {
                held++;
                return Verdict.holdUntil(until);
            }
            return Verdict.PASS;
        }

        /** Packets held so far. */
        synchronized int held() {
            return held;
        }

        long until() {
            return until;
        }
    }
}
