package dev.loomstack.deploy;

import static dev.loomstack.deploy.ChartRender.envVar;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The chart's JVM always exits on {@link OutOfMemoryError} (a restarted container rather than a
 * half-alive router), whatever {@code javaOpts} adds.
 */
class ChartJvmOptionsTest {
    private static String javaToolOptions(String values) {
        List<Map<String, Object>> docs = ChartRender.render(values);
        return String.valueOf(envVar(docs, "JAVA_TOOL_OPTIONS").orElseThrow().get("value"));
    }

    @Test
    void theDefaultsExitOnOutOfMemoryError() {
        assertEquals("-XX:+ExitOnOutOfMemoryError -XX:MaxRAMPercentage=75", javaToolOptions(""));
    }

    @Test
    void javaOptsAddToTheFlagRatherThanReplaceIt() {
        assertEquals("-XX:+ExitOnOutOfMemoryError -Xmx256m", javaToolOptions("javaOpts: \"-Xmx256m\"\n"));
        assertEquals("-XX:+ExitOnOutOfMemoryError", javaToolOptions("javaOpts: \"\"\n"));
    }
}
