package dev.loomstack.stack;

import java.util.concurrent.atomic.LongAdder;

/** One statistic; cheap to bump from many threads. Gauges also {@link #decrement()}. */
public final class StatCounter {
    private final LongAdder value = new LongAdder();

    public void increment() {
        value.increment();
    }

    public void decrement() {
        value.decrement();
    }

    public void add(long n) {
        value.add(n);
    }

    public long value() {
        return value.sum();
    }

    @Override
    public String toString() {
        return Long.toString(value());
    }
}
