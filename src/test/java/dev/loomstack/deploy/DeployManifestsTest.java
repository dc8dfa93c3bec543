package dev.loomstack.deploy;

import static dev.loomstack.deploy.ChartRender.get;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.deploy.PodSecurityStandards.Level;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * deploy/loomstack.yaml (tun mode) and deploy/loomstack-wireguard.yaml (wireguard mode), the plain
 * manifests for users without Helm, are exactly what the chart renders with its defaults and
 * their values file, carry no token, and their pods are admitted at the Pod Security level their
 * install instructions label the namespace with.
 */
class DeployManifestsTest {
    static final Path DEPLOY = Path.of("deploy");
    static final String RELEASE = "loomstack";
    static final String NAMESPACE = "loomstack";
    static final String SECRET = "loomstack-admin-token";
    /** Set to rewrite the manifests from a fresh render instead of comparing. */
    static final String REGENERATE = "loomstack.deploy.regenerate";

    /** Each committed manifest file and the values it is rendered with. */
    enum Manifests {
        TUN("loomstack.yaml", "render-values.yaml"),
        WIREGUARD("loomstack-wireguard.yaml", "render-values-wireguard.yaml");

        final Path file;
        final Path values;

        Manifests(String file, String values) {
            this.file = DEPLOY.resolve(file);
            this.values = DEPLOY.resolve(values);
        }
    }

    static String freshRender(Manifests m) {
        return ChartRender.renderText(RELEASE, NAMESPACE, m.values);
    }

    /** The leading comment block of the committed file: kept as it is when regenerating. */
    static String header(String committed) {
        return committed.lines().takeWhile(l -> l.startsWith("#")).map(l -> l + "\n").collect(Collectors.joining());
    }

    @ParameterizedTest
    @EnumSource(Manifests.class)
    void theManifestsAreAFreshRenderOfTheChart(Manifests m) throws IOException {
        String committed = Files.readString(m.file);
        String fresh = freshRender(m);
        if (Boolean.getBoolean(REGENERATE)) {
            Files.writeString(m.file, header(committed) + fresh.strip() + "\n");
            committed = Files.readString(m.file);
        }
        Map<String, Map<String, Object>> expected = byKindAndName(ChartRender.parse(fresh));
        Map<String, Map<String, Object>> actual = byKindAndName(ChartRender.parse(committed));
        String howToFix = """
                %s differs from the chart rendered with %s. Regenerate it:
                  deploy/render.sh
                or, without Helm:
                  ./mvnw -B -ntp test -Dtest=DeployManifestsTest -D%s=true
                """.formatted(m.file, m.values, REGENERATE);
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

    @ParameterizedTest
    @EnumSource(Manifests.class)
    void theManifestsCarryNoTokenAndReadItFromTheSecretTheHeaderTellsHowToCreate(Manifests m) throws IOException {
        String committed = Files.readString(m.file);
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

    @ParameterizedTest
    @EnumSource(Manifests.class)
    void thePodIsAdmittedAtThePodSecurityLevelTheHeaderLabelsTheNamespaceWith(Manifests m) throws IOException {
        String committed = Files.readString(m.file);
        Matcher label = Pattern.compile("kubectl label namespace " + NAMESPACE
                + " pod-security\\.kubernetes\\.io/enforce=(privileged|baseline|restricted)\n").matcher(header(committed));
        assertTrue(label.find(), "the header labels the namespace with its Pod Security level");
        String level = label.group(1);
        assertEquals(m == Manifests.WIREGUARD ? "restricted" : "privileged", level,
                "wireguard mode needs nothing beyond restricted; every tun mode needs privileged");
        Map<String, Object> deployment = ChartRender.parse(committed).stream()
                .filter(d -> "Deployment".equals(d.get("kind"))).findFirst().orElseThrow();
        if (!"privileged".equals(level)) {
            assertEquals(List.of(), PodSecurityStandards.violationsOfDeployment(deployment,
                    Level.valueOf(level.toUpperCase(java.util.Locale.ROOT))));
        } else {
            assertTrue(!PodSecurityStandards.violationsOfDeployment(deployment, Level.BASELINE).isEmpty(),
                    "a tun-mode pod is not admitted at baseline, so the label must say privileged");
        }
    }
}
