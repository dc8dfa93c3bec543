package dev.loomstack.deploy;

import com.marcnuri.helm.Helm;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.yaml.snakeyaml.Yaml;

/**
 * Renders the chart as {@code helm template} does (release "edge" in namespace "net" unless told
 * otherwise) and reads the objects back, so tests assert on what Kubernetes would receive.
 */
final class ChartRender {
    static final Path CHART = Path.of("helm", "loomstack");
    static final String RELEASE = "edge";
    static final String NAMESPACE = "net";
    static final String FULLNAME = "edge-loomstack";

    private ChartRender() {}

    /** The rendered text; a schema or template error surfaces as {@link IllegalStateException}. */
    static String renderText(String release, String namespace, Path valuesFile) {
        var cmd = new Helm(CHART).template().withName(release).withNamespace(namespace);
        if (valuesFile != null) {
            cmd = cmd.withValuesFile(valuesFile);
        }
        return cmd.call();
    }

    static List<Map<String, Object>> parse(String manifests) {
        List<Map<String, Object>> docs = new ArrayList<>();
        for (Object o : new Yaml().loadAll(manifests)) {
            if (o instanceof Map<?, ?> m) {
                @SuppressWarnings("unchecked")
                Map<String, Object> doc = (Map<String, Object>) m;
                docs.add(doc);
            }
        }
        return docs;
    }

    static List<Map<String, Object>> render(Path valuesFile) {
        return parse(renderText(RELEASE, NAMESPACE, valuesFile));
    }

    /** Renders with these values (YAML text; empty for the chart's defaults). */
    static List<Map<String, Object>> render(String valuesYaml) {
        return parse(renderText(RELEASE, NAMESPACE, valuesYaml));
    }

    /** The rendered text with these values (YAML text; empty for the chart's defaults). */
    static String renderText(String release, String namespace, String valuesYaml) {
        if (valuesYaml.isBlank()) {
            return renderText(release, namespace, (Path) null);
        }
        try {
            Path file = Files.createTempFile("loomstack-values", ".yaml");
            try {
                Files.writeString(file, valuesYaml);
                return renderText(release, namespace, file);
            } finally {
                Files.deleteIfExists(file);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Map<String, Object> find(List<Map<String, Object>> docs, String kind, String name) {
        return findOptional(docs, kind, name).orElseThrow(() -> new AssertionError(kind + " " + name + " not rendered"));
    }

    static Optional<Map<String, Object>> findOptional(List<Map<String, Object>> docs, String kind, String name) {
        return docs.stream().filter(d -> kind.equals(d.get("kind")) && name.equals(get(d, "metadata", "name")))
                .findFirst();
    }

    static boolean noneOfKind(List<Map<String, Object>> docs, String kind) {
        return docs.stream().noneMatch(d -> kind.equals(d.get("kind")));
    }

    /** Walks maps by key and lists by index; null where the path ends early. */
    @SuppressWarnings("unchecked")
    static <T> T get(Object o, Object... path) {
        Object cur = o;
        for (Object p : path) {
            if (cur == null) {
                return null;
            }
            cur = p instanceof Integer i ? ((List<Object>) cur).get(i) : ((Map<String, Object>) cur).get(p);
        }
        return (T) cur;
    }

    static Map<String, Object> deployment(List<Map<String, Object>> docs) {
        return find(docs, "Deployment", FULLNAME);
    }

    static Map<String, Object> podSpec(List<Map<String, Object>> docs) {
        return get(deployment(docs), "spec", "template", "spec");
    }

    static Map<String, Object> container(List<Map<String, Object>> docs) {
        return get(podSpec(docs), "containers", 0);
    }

    static Map<String, String> podAnnotations(List<Map<String, Object>> docs) {
        Map<String, String> a = get(deployment(docs), "spec", "template", "metadata", "annotations");
        return a == null ? Map.of() : a;
    }

    static List<Map<String, Object>> env(List<Map<String, Object>> docs) {
        return get(container(docs), "env");
    }

    static Optional<Map<String, Object>> envVar(List<Map<String, Object>> docs, String name) {
        return env(docs).stream().filter(e -> name.equals(e.get("name"))).findFirst();
    }

    static List<Map<String, Object>> volumes(List<Map<String, Object>> docs) {
        return get(podSpec(docs), "volumes");
    }

    static List<Map<String, Object>> volumeMounts(List<Map<String, Object>> docs) {
        return get(container(docs), "volumeMounts");
    }

    /** A copy of rendered YAML (maps and lists all the way down) that can be changed freely. */
    @SuppressWarnings("unchecked")
    static <T> T deepCopy(T yaml) {
        if (yaml instanceof Map<?, ?> m) {
            Map<String, Object> copy = new java.util.LinkedHashMap<>();
            m.forEach((k, v) -> copy.put((String) k, deepCopy(v)));
            return (T) copy;
        }
        if (yaml instanceof List<?> l) {
            List<Object> copy = new ArrayList<>();
            l.forEach(v -> copy.add(deepCopy(v)));
            return (T) copy;
        }
        return yaml;
    }

    static String sha256Hex(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
