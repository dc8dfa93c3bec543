package dev.loomstack.deploy;

import static dev.loomstack.deploy.ChartRender.render;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.config.LoomstackProperties;
import java.nio.file.Files;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** values.schema.json refuses bad values before anything renders, naming the value and what is wrong. */
class ChartSchemaTest {

    static Stream<Arguments> badValues() {
        return Stream.of(
                Arguments.of("replicaCount: 2\n", "at '/replicaCount'", "maximum"),
                Arguments.of("tun:\n  name: loomstack0\n  mtu: 1280\n  mode: tap\n", "at '/tun/mode'",
                        "'hostPath', 'devicePlugin', 'privileged'"),
                Arguments.of("tun:\n  name: this-name-is-far-too-long\n  mtu: 1280\n  mode: hostPath\n", "at '/tun/name'",
                        "'this-name-is-far-too-long'"),
                Arguments.of("tun:\n  name: loomstack0\n  mtu: 1280\n  mode: devicePlugin\n  devicePlugin:\n    resource: tun\n",
                        "at '/tun/devicePlugin/resource'", "'tun' does not match"),
                Arguments.of("shutdown:\n  drain: 10 seconds\n  margin: 20s\n", "at '/shutdown/drain'", "'10 seconds' does not match"),
                Arguments.of("shutdown:\n  drain: 10s\n  margin: PT20S\n", "at '/shutdown/margin'", "'PT20S' does not match"),
                Arguments.of("selfAddresses: [\"10.0.0.0/33\"]\n", "at '/selfAddresses/0'", "'10.0.0.0/33' does not match"),
                Arguments.of("selfAddresses: [\"100.64.0.1\"]\n", "at '/selfAddresses/0'", "'100.64.0.1' does not match"),
                Arguments.of("selfAddresses: [\"fd7a::1/129\"]\n", "at '/selfAddresses/0'", "'fd7a::1/129' does not match"),
                Arguments.of("networkPolicy:\n  enabled: true\n  api:\n    allowedNamespaces: [Bad_NS]\n",
                        "at '/networkPolicy/api/allowedNamespaces/0'", "'Bad_NS' does not match"),
                Arguments.of("adminToken:\n  value: short\n", "at '/adminToken/value'", "'short' does not match"),
                Arguments.of("adminToken:\n  existingSecret: Not_A_Name\n", "at '/adminToken/existingSecret'", ""),
                Arguments.of("config:\n  tun:\n    name: x\n", "at '/config'", "'tun' not allowed"),
                Arguments.of("config:\n  self-addresses: [\"10.0.0.1/32\"]\n", "at '/config'", "'self-addresses' not allowed"),
                Arguments.of("config:\n  dns:\n    upstreams: [\"resolver.example\"]\n", "at '/config/dns/upstreams/0'",
                        "'resolver.example' does not match"),
                Arguments.of("config:\n  tcp:\n    congestion-control: bbr\n", "at '/config/tcp/congestion-control'", "one of"),
                Arguments.of("config:\n  tcp:\n    time-wait: 1 minute\n", "at '/config/tcp/time-wait'", "'1 minute' does not match"),
                Arguments.of("logging:\n  level:\n    dev.loomstack: LOUD\n", "at '/logging/level/dev.loomstack'", "one of"),
                Arguments.of("extraEnv:\n  - value: x\n", "at '/extraEnv/0'", "missing property 'name'"),
                Arguments.of("extraEnv:\n  - name: 1BAD\n    value: x\n", "at '/extraEnv/0/name'", "'1BAD' does not match"),
                Arguments.of("podDisruptionBudget:\n  enabled: true\n  minAvailable: 1\n", "at '/podDisruptionBudget'",
                        "'minAvailable' not allowed"),
                Arguments.of("sysctls:\n  - name: net.ipv4.ping_group_range\n", "at '/sysctls/0'", "missing property 'value'"),
                Arguments.of("tunMode: privileged\n", "at ''", "'tunMode' not allowed"),
                Arguments.of("link:\n  mode: tap\n", "at '/link/mode'", "'tun', 'wireguard'"),
                Arguments.of("link:\n  mode: WireGuard\n", "at '/link/mode'", "'tun', 'wireguard'"),
                Arguments.of("wireguard:\n  listenPort: 500\n", "at '/wireguard/listenPort'", "minimum"),
                Arguments.of("wireguard:\n  listenPort: 70000\n", "at '/wireguard/listenPort'", "maximum"),
                Arguments.of("wireguard:\n  listenPort: \"51820\"\n", "at '/wireguard/listenPort'", "integer"),
                Arguments.of("wireguard:\n  mtu: 1000\n", "at '/wireguard/mtu'", "minimum"),
                Arguments.of("wireguard:\n  runAsUser: 0\n", "at '/wireguard/runAsUser'", "minimum"),
                Arguments.of("wireguard:\n  runAsGroup: 0\n", "at '/wireguard/runAsGroup'", "minimum"),
                Arguments.of("wireguard:\n  privateKeySecret: Not_A_Name\n", "at '/wireguard/privateKeySecret'", ""),
                Arguments.of("wireguard:\n  presharedKeysSecret: Not_A_Name\n", "at '/wireguard/presharedKeysSecret'", ""),
                Arguments.of("wireguard:\n  service:\n    type: ClusterIP\n", "at '/wireguard/service/type'",
                        "'NodePort', 'LoadBalancer'"),
                Arguments.of("wireguard:\n  service:\n    externalTrafficPolicy: Nearest\n",
                        "at '/wireguard/service/externalTrafficPolicy'", "'Local', 'Cluster'"),
                Arguments.of("wireguard:\n  service:\n    loadBalancerSourceRanges: [\"198.51.100.0\"]\n",
                        "at '/wireguard/service/loadBalancerSourceRanges/0'", "does not match"),
                Arguments.of("wireguard:\n  privateKey: abc\n", "at '/wireguard'", "'privateKey' not allowed"),
                Arguments.of("config:\n  link: wireguard\n", "at '/config'", "'link' not allowed"),
                Arguments.of("config:\n  wireguard:\n    listen-port: 51820\n", "at '/config'", "'wireguard' not allowed"));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("badValues")
    void refuses(String values, String where, String what) {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> render(values));
        String message = e.getMessage();
        assertTrue(message.contains("values don't meet the specifications of the schema"), message);
        assertTrue(message.contains(where), "names " + where + ": " + message);
        assertTrue(message.contains(what), "says " + what + ": " + message);
    }

    /**
     * Every loomstack.* property is reachable: through a value of its own, or through {@code config},
     * whose schema names it (a property added to the service without a line in the schema fails here).
     */
    @Test
    void theConfigSchemaNamesEveryPropertyWithoutAValueOfItsOwn() throws Exception {
        JsonNode schema = JsonMapper.builder().build()
                .readTree(Files.readString(ChartRender.CHART.resolve("values.schema.json")));
        Set<String> inConfig = new TreeSet<>(schema.get("properties").get("config").get("properties").propertyNames());
        // Set by the chart from values of their own (or fixed by it, like the state directory).
        Map<String, String> dedicated = Map.of("tun", "tun", "self-addresses", "selfAddresses", "limits", "limits",
                "shutdown", "shutdown", "state-dir", "the state volume", "initial-netmap", "initialNetmap",
                "link", "link.mode", "wireguard", "wireguard");
        Set<String> properties = new TreeSet<>();
        for (var c : LoomstackProperties.class.getRecordComponents()) {
            properties.add(c.getName().replaceAll("([A-Z])", "-$1").toLowerCase(java.util.Locale.ROOT));
        }
        // Switches for the image build and tests, never for a router pod: an exit once ready. (Named
        // here before the service may have them: removing an absent name is harmless.)
        Set<String> notForAPod = Set.of("exit-when-ready");
        Set<String> expected = new TreeSet<>(properties);
        expected.removeAll(dedicated.keySet());
        expected.removeAll(notForAPod);
        assertEquals(expected, inConfig, "values.schema.json config.properties against LoomstackProperties");
    }
}
