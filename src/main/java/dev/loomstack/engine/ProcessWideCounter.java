package dev.loomstack.engine;

import dev.loomstack.stack.StatCounter;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;

/**
 * One figure summed over every engine in the process, as Tailscale's client metrics (a process
 * may run several netstacks; the metric is their total). Each engine's own counter is added while
 * it runs; when it closes, its final value is kept, so the sum never goes down (a counter that
 * fell would read as a reset to Prometheus).
 */
final class ProcessWideCounter {
    private final Set<StatCounter> live = Collections.newSetFromMap(new IdentityHashMap<>());
    private long retired;

    /** {@code c} counts towards the total from now on. */
    synchronized void add(StatCounter c) {
        live.add(c);
    }

    /** {@code c}'s engine has closed: its value so far stays in the total. */
    synchronized void retire(StatCounter c) {
        if (live.remove(c)) {
            retired += c.value();
        }
    }

    synchronized long sum() {
        long total = retired;
        for (StatCounter c : live) {
            total += c.value();
        }
        return total;
    }
}
