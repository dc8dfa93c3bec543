package dev.loomstack.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The configuration metadata the build generates (spring-boot-configuration-processor): IDE
 * completion shows every {@code loomstack.*} property with a description, written as plain
 * sentences (no Javadoc markup leaking into the IDE).
 */
class ConfigurationMetadataTest {
    static final String METADATA = "META-INF/spring-configuration-metadata.json";

    static JsonNode metadata() throws Exception {
        try (InputStream in = ConfigurationMetadataTest.class.getClassLoader().getResourceAsStream(METADATA)) {
            assertNotNull(in, METADATA + " is generated into the build's classes");
            return JsonMapper.builder().build().readTree(in);
        }
    }

    @Test
    void everyLoomstackPropertyHasADescription() throws Exception {
        Set<String> names = new TreeSet<>();
        List<String> undescribed = new ArrayList<>();
        for (JsonNode p : metadata().path("properties")) {
            String name = p.path("name").asString();
            if (!name.startsWith("loomstack.")) {
                continue;
            }
            names.add(name);
            String description = p.path("description").asString("").strip();
            if (description.isEmpty() || description.contains("{@") || !Character.isUpperCase(description.charAt(0))
                    || !description.endsWith(".")) {
                undescribed.add(name + ": '" + description + "'");
            }
        }
        assertTrue(undescribed.isEmpty(), "properties without a plain-sentence description: " + undescribed);
        // The whole tree is there, down to the nested records' components.
        assertTrue(names.containsAll(Set.of("loomstack.link", "loomstack.exit-when-ready", "loomstack.tun.name",
                "loomstack.tun.mtu", "loomstack.tun.offload", "loomstack.self-addresses", "loomstack.tcp.keep-alive.idle",
                "loomstack.tcp.forward.dial-timeout", "loomstack.limits.max-udp-flows", "loomstack.dns.upstreams",
                "loomstack.admin.token", "loomstack.shutdown.drain", "loomstack.state-dir",
                "loomstack.deny-host-ports", "loomstack.limits.heap-pressure-percent", "loomstack.wireguard.listen-port",
                "loomstack.wireguard.private-key-file", "loomstack.wireguard.mtu",
                "loomstack.wireguard.preshared-key-dir")), names.toString());
        assertEquals(33, names.size(), "a property added or removed: update this count and its description " + names);
    }

    @Test
    void defaultsAndTypesAreThereForCompletion() throws Exception {
        JsonNode link = null;
        JsonNode self = null;
        for (JsonNode p : metadata().path("properties")) {
            switch (p.path("name").asString()) {
                case "loomstack.link" -> link = p;
                case "loomstack.self-addresses" -> self = p;
                default -> { }
            }
        }
        assertNotNull(link);
        assertEquals("tun", link.path("defaultValue").asString());
        assertNotNull(self);
        assertEquals("java.util.List<dev.loomstack.packet.IpPrefix>", self.path("type").asString());
        assertEquals("[\"100.64.0.1/32\",\"fd7a:115c:a1e0::1/128\"]", self.path("defaultValue").toString());
    }
}
