package dev.loomstack.metrics;

import dev.loomstack.engine.Netstack;
import dev.loomstack.engine.RouterControl;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;

/**
 * The expvar figures as Micrometer meters, read when scraped: {@code counter_tcp_retransmits}
 * becomes the counter {@code netstack_tcp_retransmits} (Prometheus: {@code ..._total}),
 * {@code gauge_tcp_current_established} the gauge {@code netstack_tcp_current_established}, and
 * the process-wide {@code netstack_*} client metrics keep their names.
 */
public class NetstackMeters implements MeterBinder {
    static final String PREFIX = "netstack_";
    private final RouterControl router;

    public NetstackMeters(RouterControl router) {
        this.router = router;
    }

    /** The meter name for an expvar key, and whether it counts (rather than gauges). */
    record MeterName(String name, boolean counter) {}

    static MeterName meterName(String key) {
        if (key.startsWith("counter_")) {
            return new MeterName(PREFIX + key.substring("counter_".length()), true);
        }
        if (key.startsWith("gauge_")) {
            return new MeterName(PREFIX + key.substring("gauge_".length()), false);
        }
        if (key.startsWith(PREFIX)) {
            return new MeterName(key, true);
        }
        return new MeterName(PREFIX + key, false);
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        for (String key : Netstack.expvarKeys()) {
            MeterName m = meterName(key);
            if (m.counter()) {
                FunctionCounter.builder(m.name(), router, r -> read(r, key))
                        .description("expvar " + key).register(registry);
            } else {
                Gauge.builder(m.name(), router, r -> read(r, key)).description("expvar " + key).register(registry);
            }
        }
    }

    private static double read(RouterControl r, String key) {
        try {
            Long v = r.expvar().get(key);
            return v == null ? Double.NaN : v;
        } catch (IllegalStateException notRunning) {
            return Double.NaN;
        }
    }
}
