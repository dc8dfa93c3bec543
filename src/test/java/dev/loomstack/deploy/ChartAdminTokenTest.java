package dev.loomstack.deploy;

import static dev.loomstack.deploy.ChartRender.envVar;
import static dev.loomstack.deploy.ChartRender.find;
import static dev.loomstack.deploy.ChartRender.get;
import static dev.loomstack.deploy.ChartRender.noneOfKind;
import static dev.loomstack.deploy.ChartRender.podAnnotations;
import static dev.loomstack.deploy.ChartRender.render;
import static dev.loomstack.deploy.ChartRender.sha256Hex;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The admin token: a Secret the user manages, or one the chart manages whose token's checksum is on
 * the pod template, so a changed token restarts the pod and an unchanged one does not.
 */
class ChartAdminTokenTest {
    static final String CHECKSUM = "checksum/admin-token";

    static String secretToken(List<Map<String, Object>> docs) {
        String b64 = get(find(docs, "Secret", "edge-loomstack-admin"), "data", "token");
        return new String(Base64.getDecoder().decode(b64), StandardCharsets.UTF_8);
    }

    @Test
    void aGeneratedTokenIsTheOneThePodTemplatesChecksumNames() {
        List<Map<String, Object>> docs = render("");
        String token = secretToken(docs);
        assertTrue(token.matches("[A-Za-z0-9]{43}"), "43 random alphanumerics, about 256 bits: " + token.length());
        // The Secret and the annotation are rendered by different templates: both must see the same token.
        assertEquals(sha256Hex(token), podAnnotations(docs).get(CHECKSUM));
        assertEquals("token", get(envVar(docs, "LOOMSTACK_ADMIN_TOKEN").orElseThrow(), "valueFrom", "secretKeyRef", "key"));
    }

    @Test
    void anExistingSecretIsUsedAndNoneIsCreated() {
        List<Map<String, Object>> docs = render("""
                adminToken:
                  existingSecret: router-admin
                  existingSecretKey: bearer
                """);
        assertTrue(noneOfKind(docs, "Secret"), "the user's Secret is the only one");
        Map<String, Object> ref = get(envVar(docs, "LOOMSTACK_ADMIN_TOKEN").orElseThrow(), "valueFrom", "secretKeyRef");
        assertEquals("router-admin", ref.get("name"));
        assertEquals("bearer", ref.get("key"));
        assertFalse(podAnnotations(docs).containsKey(CHECKSUM),
                "the chart cannot see a token it does not manage: rotation takes a rollout restart");
    }

    @Test
    void upgradingWithTheSameTokenKeepsThePodAndWithANewOneRestartsIt() {
        String first = "first-token-0123456789abcdef";
        List<Map<String, Object>> install = render(tokenValues(first));
        List<Map<String, Object>> sameAgain = render(tokenValues(first));
        List<Map<String, Object>> rotated = render(tokenValues("second-token-0123456789abcdef"));

        assertEquals(first, secretToken(install));
        assertEquals(sha256Hex(first), podAnnotations(install).get(CHECKSUM));
        assertEquals(podAnnotations(install), podAnnotations(sameAgain), "an unchanged token leaves the pod template as it was");
        Object before = get(ChartRender.deployment(install), "spec", "template");
        Object after = get(ChartRender.deployment(sameAgain), "spec", "template");
        assertEquals(before, after);
        assertNotEquals(podAnnotations(install).get(CHECKSUM), podAnnotations(rotated).get(CHECKSUM),
                "a rotated token changes the pod template, so the Deployment rolls the pod");
        assertEquals("second-token-0123456789abcdef", secretToken(rotated));
    }

    @Test
    void theSecretIsTheReleasesOwnAndNotKeptBeyondIt() {
        Map<String, Object> secret = find(render(""), "Secret", "edge-loomstack-admin");
        assertEquals(ChartRender.NAMESPACE, get(secret, "metadata", "namespace"));
        Map<String, String> annotations = get(secret, "metadata", "annotations");
        assertTrue(annotations == null || !annotations.containsKey("helm.sh/resource-policy"),
                "an uninstall removes the router; a new install is a new router with a new token");
    }

    private static String tokenValues(String token) {
        return "adminToken:\n  value: " + token + "\n";
    }
}
