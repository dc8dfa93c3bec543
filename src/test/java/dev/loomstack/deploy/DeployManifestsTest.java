package dev.loomstack.deploy;

import static dev.loomstack.deploy.ChartRender.get;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * deploy/loomstack.yaml, the plain manifests for users without Helm, is exactly what the chart
 * renders with its defaults and deploy/render-values.yaml, and carries no token.
 */
class DeployManifestsTest {
    static final Path DEPLOY = Path.of("deploy");
    static final Path MANIFESTS = DEPLOY.resolve("loomstack.yaml");
    static final Path VALUES = DEPLOY.resolve("render-values.yaml");
    static final String RELEASE = "loomstack";
    static final String NAMESPACE = "loomstack";
    static final String SECRET = "loomstack-admin-token";
    /** Set to rewrite deploy/loomstack.yaml from a fresh render instead of comparing. */
    static final String REGENERATE = "loomstack.deploy.regenerate";

    static String freshRender() {
        return ChartRender.renderText(RELEASE, NAMESPACE, VALUES);
    }

    /** The leading comment block of the committed file: kept as it is when regenerating. */
    static String header(String committed) {
        return committed.lines().takeWhile(l -> l.startsWith("#")).map(l -> l + "\n").collect(Collectors.joining());
    }

    @Test
    void theManifestsAreAFreshRenderOfTheChart() throws IOException {
        String committed = Files.readString(MANIFESTS);
        String fresh = freshRender();
        if (Boolean.getBoolean(REGENERATE)) {
            Files.writeString(MANIFESTS, header(committed) + fresh.strip() + "\n");
            committed = Files.readString(MANIFESTS);
        }
        Map<String, Map<String, Object>> expected = byKindAndName(ChartRender.parse(fresh));
        Map<String, Map<String, Object>> actual = byKindAndName(ChartRender.parse(committed));
        String howToFix = """
                deploy/loomstack.yaml differs from the chart rendered with deploy/render-values.yaml. Regenerate it:
                  deploy/render.sh
                or, without Helm:
                  ./mvnw -B -ntp test -Dtest=DeployManifestsTest -D%s=true
                """.formatted(REGENERATE);
        assertEquals(expected.keySet(), actual.keySet(), howToFix + "The objects differ");
        for (var e : expected.entrySet()) {
            assertEquals(e.getValue(), actual.get(e.getKey()), howToFix + e.getKey() + " differs");
        }
    }

    /** Documents by "Kind/name", in rendering order. */
    static Map<String, Map<String, Object>> byKindAndName(List<Map<String, Object>> docs) {
        Map<String, Map<String, Object>> byName = new java.util.LinkedHashMap<>();
        for (Map<String, Object> d : docs) {
            byName.put(d.get("kind") + "/" + get(d, "metadata", "name"), d);
        }
        assertEquals(docs.size(), byName.size(), "kind and name identify each object");
        return byName;
    }

    @Test
    void theManifestsCarryNoTokenAndReadItFromTheSecretTheHeaderTellsHowToCreate() throws IOException {
        String committed = Files.readString(MANIFESTS);
        List<Map<String, Object>> docs = ChartRender.parse(committed);
        assertTrue(docs.stream().noneMatch(d -> "Secret".equals(d.get("kind"))), "a committed token is a leaked token");
        Map<String, Object> deployment = docs.stream().filter(d -> "Deployment".equals(d.get("kind"))).findFirst()
                .orElseThrow();
        List<Map<String, Object>> env = get(deployment, "spec", "template", "spec", "containers", 0, "env");
        Map<String, Object> token = env.stream().filter(e -> "LOOMSTACK_ADMIN_TOKEN".equals(e.get("name"))).findFirst()
                .orElseThrow();
        assertEquals(SECRET, get(token, "valueFrom", "secretKeyRef", "name"));
        assertEquals("token", get(token, "valueFrom", "secretKeyRef", "key"));
        assertTrue(header(committed).contains("kubectl -n " + NAMESPACE + " create secret generic " + SECRET
                + " --from-literal=token="), "the header shows the one command that creates the Secret");
        for (Map<String, Object> d : docs) {
            assertEquals(NAMESPACE, get(d, "metadata", "namespace"), d.get("kind") + " lands in the namespace");
        }
    }
}
