package dev.loomstack.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.testing.Await;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The packaged jar as an operator runs it, on {@code loomstack.link=memory} so no device is needed:
 * JSON logs by one property ({@code logging.structured.format.console=ecs}) that carry the admin
 * API's key-values, {@code /livez} and {@code /readyz} on the main port, and a SIGTERM that stops
 * the API, then drains, then closes the link, with every step's line in the log.
 */
class ServiceProcessIT {
    static final Duration START_LIMIT = Duration.ofSeconds(120);
    static final long STOP_LIMIT_SECONDS = 60;
    /** What a JVM stopped by SIGTERM exits with (128 + 15). */
    static final int EXIT_ON_SIGTERM = 143;

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static HttpResponse<String> send(HttpClient http, HttpRequest.Builder request) {
        try {
            return http.send(request.timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    @Test
    void jsonLogsProbesOnTheMainPortAndAnOrderedShutdownOnSigterm(@TempDir Path tmp) throws Exception {
        int port = freePort();
        int managementPort = freePort();
        Path log = tmp.resolve("service.log");
        Process service = new ProcessBuilder(AotTrainingRunIT.javaOfThisJvm(), "--enable-native-access=ALL-UNNAMED",
                "-jar", AotTrainingRunIT.packagedJar().toAbsolutePath().toString(),
                "--logging.structured.format.console=ecs", "--loomstack.link=memory",
                "--server.port=" + port, "--management.server.port=" + managementPort,
                "--loomstack.state-dir=" + tmp.resolve("state"), "--loomstack.admin.token=it-token",
                "--loomstack.dns.upstreams=192.0.2.53")
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try (HttpClient http = HttpClient.newHttpClient()) {
            String base = "http://127.0.0.1:" + port;
            Await.until(START_LIMIT, "/readyz answers 200 on the main port", () -> {
                assertTrue(service.isAlive(), () -> "the service died:\n" + read(log));
                HttpResponse<String> r = send(http, HttpRequest.newBuilder(URI.create(base + "/readyz")));
                return r != null && r.statusCode() == 200;
            });
            for (String probe : new String[] {"/livez", "/readyz"}) {
                HttpResponse<String> r = send(http, HttpRequest.newBuilder(URI.create(base + probe)));
                assertEquals(200, r.statusCode(), probe);
                assertEquals("UP", JsonMapper.builder().build().readTree(r.body()).path("status").asString(), probe);
            }
            HttpResponse<String> put = send(http, HttpRequest.newBuilder(URI.create(base + "/api/v1/limits"))
                    .header("Authorization", "Bearer it-token").header("Content-Type", "application/json")
                    .PUT(HttpRequest.BodyPublishers.ofString("{\"maxInFlight\":300,\"maxInFlightPerClient\":200}")));
            assertEquals(200, put.statusCode(), put.body());
        } finally {
            service.destroy(); // SIGTERM
            if (!service.waitFor(STOP_LIMIT_SECONDS, TimeUnit.SECONDS)) {
                service.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                throw new AssertionError("no exit within " + STOP_LIMIT_SECONDS + "s of SIGTERM:\n" + read(log));
            }
        }
        assertEquals(EXIT_ON_SIGTERM, service.exitValue(), read(log));

        // Every line is one JSON object (ECS).
        JsonMapper json = JsonMapper.builder().build();
        List<JsonNode> lines = new ArrayList<>();
        for (String line : Files.readAllLines(log)) {
            if (!line.isBlank()) {
                JsonNode node = json.readTree(line);
                assertTrue(node.isObject() && node.has("@timestamp") && node.has("message"), line);
                lines.add(node);
            }
        }
        // The admin API's key-values are fields of their own.
        JsonNode change = lines.stream().filter(l -> "limits.changed".equals(l.path("event").asString(null)))
                .findFirst().orElseThrow(() -> new AssertionError("no limits.changed event:\n" + read(log)));
        assertEquals("dev.loomstack.api.AdminService", change.path("log").path("logger").asString());
        assertEquals("admin@127.0.0.1", change.path("by").asString());
        assertEquals(300, change.path("to").path("maxInFlight").asInt(), change.toString());
        assertEquals(200, change.path("to").path("maxInFlightPerClient").asInt(), change.toString());
        assertTrue(change.path("from").path("maxUdpFlows").isNumber(), change.toString());
        assertTrue(change.path("message").asString().startsWith("forwarding limits changed by admin@127.0.0.1 from "),
                change.toString());
        // SIGTERM: the web servers stop taking requests, then the drain, then the link.
        StringBuilder messages = new StringBuilder();
        lines.forEach(l -> messages.append(l.path("message").asString()).append('\n'));
        String all = messages.toString();
        int apiStopped = all.lastIndexOf("Graceful shutdown complete");
        assertTrue(apiStopped > all.indexOf("Commencing graceful shutdown") && apiStopped >= 0, all);
        AotTrainingRunIT.assertInOrder(all.substring(apiStopped), "admin API stopped taking requests",
                "draining 0 open flows for up to 10s; new flows are refused", "drained: no flow left open",
                "link memory closed");
    }

    static String read(Path log) {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(unreadable: " + e + ")";
        }
    }
}
