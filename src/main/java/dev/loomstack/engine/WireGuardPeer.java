package dev.loomstack.engine;

import dev.loomstack.wireguard.WireGuardKey;
import dev.loomstack.packet.IpAddress;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A peer's WireGuard side as the netmap gives it: its static public key, where to reach it
 * ({@code host:port} text, resolved each time the netmap is applied), the name of the file holding
 * its pre-shared key (a reference, never the key: the netmap is persisted and echoed by the API),
 * and its persistent keepalive in seconds (0: off).
 *
 * @param endpoint            {@code host:port}, IPv6 as {@code [addr]:port}; see {@link Endpoint}
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

    /** @throws NetworkMap.InvalidException naming the component ({@code endpoint}) that is wrong */
    public WireGuardPeer {
        Objects.requireNonNull(publicKey, "publicKey");
        endpoint = endpoint == null ? Optional.empty() : endpoint;
        presharedKey = presharedKey == null ? Optional.empty() : presharedKey;
        if (endpoint.isPresent()) {
            try {
                Endpoint.parse(endpoint.get());
            } catch (IllegalArgumentException e) {
                throw new NetworkMap.InvalidException("endpoint", e.getMessage());
            }
        }
        if (presharedKey.isPresent() && !PRESHARED_KEY_NAME.matcher(presharedKey.get()).matches()) {
            throw new NetworkMap.InvalidException("presharedKey", PRESHARED_KEY_NAME_RULE);
        }
        if (persistentKeepalive < 0 || persistentKeepalive > MAX_PERSISTENT_KEEPALIVE) {
            throw new NetworkMap.InvalidException("persistentKeepalive", PERSISTENT_KEEPALIVE_RULE);
        }
    }

    /** A peer known by its key only: it makes contact first, no pre-shared key, no keepalive. */
    public static WireGuardPeer of(WireGuardKey publicKey) {
        return new WireGuardPeer(publicKey, Optional.empty(), Optional.empty(), 0);
    }

    /**
     * A peer's endpoint as the netmap writes it, {@code host:port} ({@code 198.51.100.7:51820},
     * {@code peer.example:51820}, IPv6 as {@code [2001:db8::7]:51820}), split into host and port;
     * the host is resolved only when the netmap is applied ({@link #resolve}).
     */
    public record Endpoint(String host, int port) {
        public static final String RULE = "must be host:port with a port of 1-65535 (IPv6 as [addr]:port)";

        /** Resolves a host name to an address (the JDK's resolver in the service; a fixed table in tests). */
        @FunctionalInterface
        public interface Resolver {
            Resolver SYSTEM = InetAddress::getByName;

            InetAddress resolve(String host) throws UnknownHostException;
        }

        /** @throws IllegalArgumentException saying what is wrong with {@code text} */
        public static Endpoint parse(String text) {
            int colon = text.lastIndexOf(':');
            if (colon <= 0 || colon == text.length() - 1) {
                throw new IllegalArgumentException("'" + text + "' " + RULE);
            }
            String host = text.substring(0, colon);
            if (host.startsWith("[") && host.endsWith("]")) {
                host = host.substring(1, host.length() - 1);
                if (!isIpLiteral(host) || host.indexOf(':') < 0) {
                    throw new IllegalArgumentException("'" + text + "': [" + host + "] is not an IPv6 address");
                }
            } else if (host.indexOf(':') >= 0) {
                throw new IllegalArgumentException("'" + text + "': IPv6 addresses need brackets, [addr]:port");
            } else if (!isIpLiteral(host) && !isHostName(host)) {
                throw new IllegalArgumentException("'" + text + "': '" + host + "' is neither an IP address nor a host name");
            }
            String digits = text.substring(colon + 1);
            int port;
            try {
                port = digits.length() > 5 || !digits.chars().allMatch(Character::isDigit) ? -1 : Integer.parseInt(digits);
            } catch (NumberFormatException e) {
                port = -1;
            }
            if (port < 1 || port > 65_535) {
                throw new IllegalArgumentException("'" + text + "': port " + digits + " is not 1-65535");
            }
            return new Endpoint(host, port);
        }

        /**
         * The socket address to send to: IP literals as they are, names through {@code resolver}.
         *
         * @throws UnknownHostException when the name does not resolve
         */
        public InetSocketAddress resolve(Resolver resolver) throws UnknownHostException {
            InetAddress address = isIpLiteral(host) ? IpAddress.parse(host).toInetAddress() : resolver.resolve(host);
            return new InetSocketAddress(address, port);
        }

        private static boolean isIpLiteral(String host) {
            try {
                IpAddress.parse(host);
                return true;
            } catch (IllegalArgumentException e) {
                return false;
            }
        }

        /** RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens. */
        private static boolean isHostName(String host) {
            return host.length() <= 253 && host.matches(
                    "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\\.?");
        }
    }
}
