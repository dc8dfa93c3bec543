package dev.loomstack.dns;

import dev.loomstack.packet.IpAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The names MagicDNS answers itself: each node of the netmap as {@code name.domain.} with its
 * addresses, and the reverse mapping for PTR. Immutable; a new netmap builds a new zone.
 *
 * @param domain the tailnet domain, lower case, without trailing dot ("" for none)
 */
public record DnsZone(String domain, Map<String, List<IpAddress>> addressesByName, Map<IpAddress, String> nameByAddress) {
    public static final DnsZone EMPTY = new DnsZone("", Map.of(), Map.of());

    public DnsZone {
        addressesByName = Map.copyOf(addressesByName);
        nameByAddress = Map.copyOf(nameByAddress);
    }

    /** A zone from (node name, addresses) pairs under {@code domain}. */
    public static DnsZone of(String domain, Map<String, List<IpAddress>> nodes) {
        String d = normalise(domain);
        Map<String, List<IpAddress>> byName = new HashMap<>();
        Map<IpAddress, String> byAddress = new HashMap<>();
        nodes.forEach((name, addresses) -> {
            String fqdn = fqdn(normalise(name), d);
            byName.put(fqdn, List.copyOf(addresses));
            for (IpAddress a : addresses) {
                byAddress.putIfAbsent(a, fqdn);
            }
        });
        return new DnsZone(d, byName, byAddress);
    }

    /** Lower case, no trailing dot. */
    static String normalise(String name) {
        String n = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
        return n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
    }

    private static String fqdn(String name, String domain) {
        if (domain.isEmpty() || name.endsWith("." + domain)) {
            return name + ".";
        }
        return name + "." + domain + ".";
    }

    /** True when {@code fqdn} (absolute, any case) lies in the tailnet domain: never forwarded. */
    public boolean isAuthoritativeFor(String fqdn) {
        String n = normalise(fqdn);
        return !domain.isEmpty() && (n.equals(domain) || n.endsWith("." + domain));
    }

    /** The addresses of {@code fqdn}, or null when the zone has no such name. */
    public List<IpAddress> lookup(String fqdn) {
        return addressesByName.get(normalise(fqdn) + ".");
    }

    /** The name of {@code address}, or null. */
    public String reverse(IpAddress address) {
        return nameByAddress.get(address);
    }
}
