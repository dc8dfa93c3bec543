package dev.loomstack.stack;

/** A clock that moves only when told: deterministic time for tests and simulations. */
public final class ManualClock implements Clock {
    private volatile long now;

    public ManualClock(long startNanos) {
        this.now = startNanos;
    }

    @Override
    public long nanoTime() {
        return now;
    }

    /** Sets the time; it never goes backwards. */
    public void set(long nanos) {
        if (nanos < now) {
            throw new IllegalArgumentException("time cannot go backwards: " + nanos + " < " + now);
        }
        now = nanos;
    }
}
