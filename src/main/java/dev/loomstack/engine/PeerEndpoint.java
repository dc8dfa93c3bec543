package dev.loomstack.engine;

import dev.loomstack.packet.IpAddress;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

/**
 * A peer's endpoint as the netmap writes it, {@code host:port} ({@code 198.51.100.7:51820},
 * {@code peer.example:51820}, IPv6 as {@code [2001:db8::7]:51820}), split into host and port;
 * the host is resolved only when the netmap is applied ({@link #resolve}).
 */
public record PeerEndpoint(String host, int port) {
    public static final String RULE = "must be host:port with a port of 1-65535 (IPv6 as [addr]:port)";

    /** Resolves a host name to an address (the JDK's resolver in the service; a fixed table in tests). */
    @FunctionalInterface
    public interface Resolver {
        Resolver SYSTEM = InetAddress::getByName;

        InetAddress resolve(String host) throws UnknownHostException;
    }

    /** @throws IllegalArgumentException saying what is wrong with {@code text} */
    public static PeerEndpoint parse(String text) {
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
        return new PeerEndpoint(host, port);
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
