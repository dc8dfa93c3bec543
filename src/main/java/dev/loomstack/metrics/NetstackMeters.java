package dev.loomstack.metrics;

import dev.loomstack.engine.RouterControl;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;

/**
 * The engine's figures as Micrometer meters (see {@link MeterPlan} for names and tags), registered
 * once. Each meter reads its own counter when scraped, through {@link EngineReadings}, so a scrape
 * costs one counter sum per meter and counters stay monotonic across engine stops and restarts.
 */
public class NetstackMeters implements MeterBinder {
    private final EngineReadings readings;

    public NetstackMeters(RouterControl router) {
        this.readings = new EngineReadings(router);
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        for (MeterPlan.Planned m : MeterPlan.meters()) {
            Tags tags = m.tagKey() == null ? Tags.empty() : Tags.of(m.tagKey(), m.tagValue());
            int figure = m.figure();
            if (m.counter()) {
                FunctionCounter.builder(m.name(), readings, r -> r.read(figure)).tags(tags)
                        .description(m.description()).register(registry);
            } else {
                Gauge.builder(m.name(), readings, r -> r.read(figure)).tags(tags)
                        .description(m.description()).register(registry);
            }
        }
    }
}
