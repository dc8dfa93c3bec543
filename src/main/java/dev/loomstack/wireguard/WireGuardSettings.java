package dev.loomstack.wireguard;

import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * How a {@link WireGuardLink} is opened: this node's static private key, the UDP address it listens
 * on (port 0: any free port, for tests) and the MTU of the IP packets it carries inside the tunnel.
 */
public record WireGuardSettings(WireGuardKey privateKey, InetSocketAddress listen, int mtu) {
    /** WireGuard's well-known port. */
    public static final int DEFAULT_LISTEN_PORT = 51820;
    /** Tailscale's tunnel MTU; also IPv6's minimum (RFC 8200 section 5). */
    public static final int DEFAULT_MTU = 1280;

    public WireGuardSettings {
        Objects.requireNonNull(privateKey, "privateKey");
        Objects.requireNonNull(listen, "listen");
        if (mtu < 1280 || mtu > 65_535 - 80) {
            throw new IllegalArgumentException("mtu must be 1280 to 65455");
        }
    }

    /** Without the private key in the text. */
    @Override
    public String toString() {
        return "WireGuardSettings[listen=" + listen + ", mtu=" + mtu + "]";
    }
}
