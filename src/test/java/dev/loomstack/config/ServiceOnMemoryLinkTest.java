package dev.loomstack.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.LoomstackApplication;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The whole service on {@code loomstack.link=memory} (no device needed): the probes answer on the
 * main port, and a shutdown runs in the documented order, each step logged: the web servers stop
 * taking requests, then the flows drain, then the link closes.
 */
@ExtendWith(OutputCaptureExtension.class)
class ServiceOnMemoryLinkTest {
    static ConfigurableApplicationContext start(Path state) {
        return SpringApplication.run(LoomstackApplication.class, "--loomstack.link=memory", "--server.port=0",
                "--management.server.port=0", "--loomstack.state-dir=" + state, "--loomstack.admin.token=t",
                "--loomstack.dns.upstreams=192.0.2.53");
    }

    static int mainPort(ConfigurableApplicationContext ctx) {
        return ((WebServerApplicationContext) ctx).getWebServer().getPort();
    }

    @Test
    void livezAndReadyzAnswerOnTheMainPort(@TempDir Path state) throws Exception {
        try (ConfigurableApplicationContext ctx = start(state); HttpClient http = HttpClient.newHttpClient()) {
            for (String probe : new String[] {"/livez", "/readyz"}) {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                                URI.create("http://127.0.0.1:" + mainPort(ctx) + probe)).timeout(Duration.ofSeconds(10)).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertEquals(200, r.statusCode(), probe + ": " + r.body());
                assertTrue(r.body().contains("\"status\":\"UP\""), probe + ": " + r.body());
            }
        }
    }

    @Test
    void shutdownStopsTheApiThenDrainsThenClosesTheLink(@TempDir Path state, CapturedOutput output) {
        ConfigurableApplicationContext ctx = start(state);
        assertTrue(ctx.getBean(NetstackLifecycle.class).isRunning());
        int from = output.getAll().length();
        ctx.close();
        String shutdown = output.getAll().substring(from);
        int apiStopped = shutdown.lastIndexOf("Graceful shutdown complete");
        int drainStarts = shutdown.indexOf("draining 0 open flows for up to 10s; new flows are refused");
        assertTrue(apiStopped >= 0, "the web servers shut down gracefully:\n" + shutdown);
        assertTrue(drainStarts > apiStopped, "the drain starts only after the web servers stopped taking requests:\n"
                + shutdown);
        AotTrainingRunIT.assertInOrder(shutdown.substring(apiStopped), "admin API stopped taking requests",
                "draining 0 open flows for up to 10s", "drained: no flow left open", "link memory closed");
        String all = output.getAll();
        assertTrue(all.contains("serving on memory (mtu 1280) with addresses [100.64.0.1/32, fd7a:115c:a1e0::1/128]; "
                + "limits: max-in-flight "), "numbers as written, limits by field:\n" + all);
        assertFalse(all.matches("(?s).*\\d,\\d{3}.*") || all.contains("InFlightLimits["),
                "no locale grouping in numbers, no record toString():\n" + all);
    }
}
