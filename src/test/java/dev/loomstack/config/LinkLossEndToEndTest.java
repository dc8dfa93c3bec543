package dev.loomstack.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import dev.loomstack.LoomstackApplication;
import dev.loomstack.testing.Await;
import dev.loomstack.testing.Cmd;
import dev.loomstack.testing.NetNs;
import dev.loomstack.testing.Privileges;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;
import org.springframework.boot.SpringApplication;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The running service loses its TUN device: the reader must not spin, the loss is logged a bounded
 * number of times and counted, liveness turns DOWN (so Kubernetes restarts the pod) and readiness
 * stops reporting UP.
 */
class LinkLossEndToEndTest {
    /** The loss is one event: a line from the link, perhaps one from the availability change. */
    static final int MAX_LOG_LINES_AFTER_LOSS = 10;
    private final HttpClient http = HttpClient.newHttpClient();

    private HttpResponse<String> get(int port, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static long counter(String json, String key) {
        Matcher m = Pattern.compile("\"" + key + "\":(\\d+)").matcher(json);
        assertTrue(m.find(), key + " in " + json);
        return Long.parseLong(m.group(1));
    }

    /** Counts every event logged through Logback (the JDK's System.Logger is bridged into it). */
    static final class CountingAppender extends AppenderBase<ILoggingEvent> {
        final AtomicInteger events = new AtomicInteger();

        @Override
        protected void append(ILoggingEvent event) {
            events.incrementAndGet();
        }
    }

    @Test
    void deletingTheTunTurnsLivenessDownWithoutASpin(@TempDir Path state) throws Exception {
        Privileges.assumeRootAndTun();
        String dev = NetNs.uniqueDeviceName("lsloss");
        ch.qos.logback.classic.Logger root = (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(
                org.slf4j.Logger.ROOT_LOGGER_NAME);
        CountingAppender logged = new CountingAppender();
        try (ConfigurableApplicationContext ctx = SpringApplication.run(LoomstackApplication.class,
                "--loomstack.tun.name=" + dev, "--server.port=0", "--management.server.port=0",
                "--loomstack.state-dir=" + state, "--loomstack.admin.token=loss-token",
                "--loomstack.shutdown.drain=1s", "--loomstack.dns.upstreams=127.0.0.1:9")) {
            int mgmt = Integer.parseInt(ctx.getEnvironment().getProperty("local.management.port"));
            assertEquals(200, get(mgmt, "/actuator/health/liveness").statusCode());
            assertEquals(200, get(mgmt, "/actuator/health/readiness").statusCode());
            Thread reader = Thread.getAllStackTraces().keySet().stream()
                    .filter(t -> t.getName().equals(dev + "-read")).findFirst()
                    .orElseThrow(() -> new AssertionError("no reader thread for " + dev));

            logged.setContext(root.getLoggerContext());
            logged.start();
            root.addAppender(logged);
            Cmd.run("ip", "link", "del", dev).check();

            Await.until(Duration.ofSeconds(5), "liveness DOWN after the TUN is deleted", () -> {
                try {
                    HttpResponse<String> live = get(mgmt, "/actuator/health/liveness");
                    return live.statusCode() == 503 && live.body().contains("DOWN");
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            });
            HttpResponse<String> ready = get(mgmt, "/actuator/health/readiness");
            assertNotEquals(200, ready.statusCode(), ready.body());
            assertTrue(!ready.body().contains("\"UP\""), ready.body());
            Await.until(Duration.ofSeconds(5), "the reader of the lost device ends", () -> !reader.isAlive());

            String expvar = get(mgmt, "/actuator/netstack").body();
            assertEquals(1, counter(expvar, "counter_link_down"), expvar);
            assertEquals(0, counter(expvar, "gauge_link_up"), expvar);
            assertTrue(logged.events.get() <= MAX_LOG_LINES_AFTER_LOSS,
                    logged.events.get() + " lines logged after the loss");
        } finally {
            root.detachAppender(logged);
            logged.stop();
            Cmd.run("ip", "link", "del", dev);
        }
    }
}
