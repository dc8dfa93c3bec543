package dev.loomstack.wireguard;

import dev.loomstack.packet.IpPrefix;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One peer as the link is configured with it ({@code wg set ... peer}): its static public key, an
 * optional pre-shared key, the endpoint to send to until the peer roams (none: wait for the peer to
 * make contact), the prefixes it may send from and is routed to (cryptokey routing), and the
 * persistent keepalive interval ({@link Duration#ZERO}: off).
 */
public record WireGuardPeerConfig(
        WireGuardKey publicKey,
        Optional<WireGuardKey> presharedKey,
        Optional<InetSocketAddress> endpoint,
        List<IpPrefix> allowedIps,
        Duration persistentKeepalive) {

    /** {@code wg}'s limit on persistent-keepalive: 65535 seconds. */
    public static final Duration MAX_PERSISTENT_KEEPALIVE = Duration.ofSeconds(65_535);

    public WireGuardPeerConfig {
        Objects.requireNonNull(publicKey, "publicKey");
        presharedKey = presharedKey == null ? Optional.empty() : presharedKey;
        endpoint = endpoint == null ? Optional.empty() : endpoint;
        allowedIps = allowedIps == null ? List.of() : List.copyOf(allowedIps);
        persistentKeepalive = persistentKeepalive == null ? Duration.ZERO : persistentKeepalive;
        if (persistentKeepalive.isNegative() || persistentKeepalive.compareTo(MAX_PERSISTENT_KEEPALIVE) > 0) {
            throw new IllegalArgumentException("persistentKeepalive must be 0 to 65535 seconds");
        }
        if (endpoint.isPresent() && endpoint.get().isUnresolved()) {
            throw new IllegalArgumentException("endpoint " + endpoint.get() + " is not resolved");
        }
    }

    /** Without the pre-shared key in the text. */
    @Override
    public String toString() {
        return "WireGuardPeerConfig[publicKey=" + publicKey + ", presharedKey=" + (presharedKey.isPresent() ? "(set)" : "(none)")
                + ", endpoint=" + endpoint.map(InetSocketAddress::toString).orElse("(none)") + ", allowedIps=" + allowedIps
                + ", persistentKeepalive=" + persistentKeepalive.toSeconds() + "s]";
    }
}
