package dev.loomstack.metrics;

import dev.loomstack.engine.EngineStats;
import dev.loomstack.engine.EngineStats.Kind;
import dev.loomstack.engine.RouterControl;
import java.util.List;

/**
 * Reads one engine figure at a time for the meters, so that a counter never goes down and never
 * reads NaN: the service outlives its engines (none before start and after stop; a new one after a
 * restart of the lifecycle). A closed engine's counters keep their final values, so when another
 * engine takes over, the old one's totals are carried into every later reading; while none runs,
 * counters read the last engine's totals and gauges read 0 (nothing is in flight, the link is not
 * up). Prometheus would read a counter that fell as a reset and count its whole value again.
 */
final class EngineReadings {
    private static final List<EngineStats.Figure> FIGURES = EngineStats.figures();
    private final RouterControl router;
    /** Per counter figure: the totals of the engines that came before {@link #last}. */
    private final long[] carried = new long[FIGURES.size()];
    /** The engine read last; kept after it stops, for its final counts. */
    private EngineStats last;

    EngineReadings(RouterControl router) {
        this.router = router;
    }

    /** Figure {@code index} (its position in {@link EngineStats#figures()}) now. */
    synchronized long read(int index) {
        Kind kind = FIGURES.get(index).kind();
        if (kind == Kind.PROCESS_COUNTER) {
            return EngineStats.readProcessWide(index);
        }
        EngineStats now = router.engineStats();
        if (now != null && now != last) {
            carryOver(now);
        }
        if (kind == Kind.GAUGE) {
            return now == null ? 0 : now.read(index);
        }
        return last == null ? carried[index] : carried[index] + last.read(index);
    }

    private void carryOver(EngineStats next) {
        if (last != null) {
            for (int i = 0; i < FIGURES.size(); i++) {
                if (FIGURES.get(i).kind() == Kind.COUNTER) {
                    carried[i] += last.read(i);
                }
            }
        }
        last = next;
    }
}
