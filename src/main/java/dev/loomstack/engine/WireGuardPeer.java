package dev.loomstack.engine;

import dev.loomstack.link.wireguard.WireGuardKey;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A peer's WireGuard side as the netmap gives it: its static public key, where to reach it
 * ({@code host:port} text, resolved each time the netmap is applied), the name of the file holding
 * its pre-shared key (a reference, never the key: the netmap is persisted and echoed by the API),
 * and its persistent keepalive in seconds (0: off).
 *
 * @param endpoint            {@code host:port}, IPv6 as {@code [addr]:port}; see {@link PeerEndpoint}
 * @param presharedKey        a file name in the pre-shared key directory ({@link #PRESHARED_KEY_NAME})
 * @param persistentKeepalive seconds between keepalives when idle, 0 to 65535 ({@code wg}'s range)
 */
public record WireGuardPeer(WireGuardKey publicKey, Optional<String> endpoint, Optional<String> presharedKey,
                            int persistentKeepalive) {
    /**
     * A pre-shared key reference: one file name, so that a reference cannot leave the directory
     * (no separators; "." and ".." and Kubernetes' own "..data" entries are not names of keys).
     */
    public static final String PRESHARED_KEY_NAME_REGEX = "^(?!\\.\\.?$)(?!\\.\\.)[A-Za-z0-9._-]{1,128}$";
    public static final Pattern PRESHARED_KEY_NAME = Pattern.compile(PRESHARED_KEY_NAME_REGEX);
    public static final String PRESHARED_KEY_NAME_RULE =
            "must be a file name of 1-128 letters, digits, '.', '_' or '-' (no '/', not '.' or '..')";
    /** {@code wg set ... persistent-keepalive}'s range. */
    public static final int MAX_PERSISTENT_KEEPALIVE = 65_535;
    public static final String PERSISTENT_KEEPALIVE_RULE = "must be 0 (off) to 65535 seconds";

    /** @throws InvalidNetmapException naming the component ({@code endpoint}) that is wrong */
    public WireGuardPeer {
        Objects.requireNonNull(publicKey, "publicKey");
        endpoint = endpoint == null ? Optional.empty() : endpoint;
        presharedKey = presharedKey == null ? Optional.empty() : presharedKey;
        if (endpoint.isPresent()) {
            try {
                PeerEndpoint.parse(endpoint.get());
            } catch (IllegalArgumentException e) {
                throw new InvalidNetmapException("endpoint", e.getMessage());
            }
        }
        if (presharedKey.isPresent() && !PRESHARED_KEY_NAME.matcher(presharedKey.get()).matches()) {
            throw new InvalidNetmapException("presharedKey", PRESHARED_KEY_NAME_RULE);
        }
        if (persistentKeepalive < 0 || persistentKeepalive > MAX_PERSISTENT_KEEPALIVE) {
            throw new InvalidNetmapException("persistentKeepalive", PERSISTENT_KEEPALIVE_RULE);
        }
    }

    /** A peer known by its key only: it makes contact first, no pre-shared key, no keepalive. */
    public static WireGuardPeer of(WireGuardKey publicKey) {
        return new WireGuardPeer(publicKey, Optional.empty(), Optional.empty(), 0);
    }
}
