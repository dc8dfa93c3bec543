package dev.loomstack.engine;

import dev.loomstack.wireguard.WireGuardKey;
import dev.loomstack.wireguard.WireGuardPeerConfig;
import dev.loomstack.packet.IpPrefix;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Turns a netmap into the WireGuard link's peer list, as Tailscale's netmap becomes a WireGuard
 * configuration ({@code wgcfg.Peer}): every peer with a public key, routed to and accepted from its
 * addresses plus its allowed IPs, its endpoint resolved now, its pre-shared key read from the file
 * the netmap names in the pre-shared key directory (a mounted Kubernetes Secret, say). Anything it
 * cannot turn into a peer is an {@link NetworkMap.InvalidException} naming the field; it changes nothing.
 */
public final class WireGuardPeers {
    /** A pre-shared key file holds 44 characters of base64 and a newline; anything much larger is not one. */
    static final int MAX_PRESHARED_KEY_FILE = 1024;

    private final WireGuardKey ownKey;
    private final Path presharedKeyDir;
    private final WireGuardPeer.Endpoint.Resolver resolver;

    /**
     * @param ownKey          the link's public key: no peer may have it
     * @param presharedKeyDir where {@code presharedKey} references are looked up; null: none may be used
     * @param resolver        resolves endpoint host names
     */
    public WireGuardPeers(WireGuardKey ownKey, Path presharedKeyDir, WireGuardPeer.Endpoint.Resolver resolver) {
        this.ownKey = Objects.requireNonNull(ownKey, "ownKey");
        this.presharedKeyDir = presharedKeyDir;
        this.resolver = Objects.requireNonNull(resolver, "resolver");
    }

    /** The link's configuration for {@code map}: its peers with a public key, in netmap order. */
    public List<WireGuardPeerConfig> configsOf(NetworkMap map) {
        List<WireGuardPeerConfig> out = new ArrayList<>();
        List<Node> peers = map.peers();
        for (int i = 0; i < peers.size(); i++) {
            Node peer = peers.get(i);
            if (peer.wireGuard().isEmpty()) {
                continue;
            }
            WireGuardPeer wg = peer.wireGuard().get();
            if (wg.publicKey().equals(ownKey)) {
                throw new NetworkMap.InvalidException(NetworkMap.peerField(i, "publicKey"),
                        "is this router's own public key");
            }
            if (wg.publicKey().isZero()) {
                throw new NetworkMap.InvalidException(NetworkMap.peerField(i, "publicKey"), "the all-zero key is no peer's key");
            }
            out.add(new WireGuardPeerConfig(wg.publicKey(), presharedKey(i, wg.presharedKey()),
                    endpoint(i, wg.endpoint()), allowedIps(peer), Duration.ofSeconds(wg.persistentKeepalive())));
        }
        return out;
    }

    /** The prefixes a peer may send from and is routed to: its addresses, then its allowed IPs. */
    static List<IpPrefix> allowedIps(Node peer) {
        Set<IpPrefix> all = new LinkedHashSet<>(peer.addresses());
        all.addAll(peer.allowedIPs());
        return List.copyOf(all);
    }

    private Optional<InetSocketAddress> endpoint(int index, Optional<String> text) {
        if (text.isEmpty()) {
            return Optional.empty();
        }
        String field = NetworkMap.peerField(index, "endpoint");
        WireGuardPeer.Endpoint endpoint;
        try {
            endpoint = WireGuardPeer.Endpoint.parse(text.get());
        } catch (IllegalArgumentException e) {
            throw new NetworkMap.InvalidException(field, e.getMessage());
        }
        try {
            return Optional.of(endpoint.resolve(resolver));
        } catch (UnknownHostException e) {
            throw new NetworkMap.InvalidException(field, "host '" + endpoint.host() + "' does not resolve");
        }
    }

    private Optional<WireGuardKey> presharedKey(int index, Optional<String> reference) {
        if (reference.isEmpty()) {
            return Optional.empty();
        }
        String field = NetworkMap.peerField(index, "presharedKey");
        String name = reference.get();
        if (!WireGuardPeer.PRESHARED_KEY_NAME.matcher(name).matches()) {
            throw new NetworkMap.InvalidException(field, WireGuardPeer.PRESHARED_KEY_NAME_RULE);
        }
        if (presharedKeyDir == null) {
            throw new NetworkMap.InvalidException(field, "no pre-shared key directory is configured");
        }
        Path file = presharedKeyDir.resolve(name);
        if (!file.normalize().getParent().equals(presharedKeyDir.normalize())) {
            throw new NetworkMap.InvalidException(field, WireGuardPeer.PRESHARED_KEY_NAME_RULE);
        }
        // Following links: a Kubernetes Secret volume's entries are symbolic links into its ..data.
        if (!Files.isRegularFile(file)) {
            throw new NetworkMap.InvalidException(field, "no pre-shared key file '" + name + "' in " + presharedKeyDir);
        }
        byte[] content;
        try (InputStream in = Files.newInputStream(file)) {
            content = in.readNBytes(MAX_PRESHARED_KEY_FILE + 1);
        } catch (IOException e) {
            throw new NetworkMap.InvalidException(field, "cannot read the pre-shared key file '" + name + "' in "
                    + presharedKeyDir + ": " + e.getMessage());
        }
        if (content.length > MAX_PRESHARED_KEY_FILE) {
            throw new NetworkMap.InvalidException(field, "the pre-shared key file '" + name + "' is not a key (over "
                    + MAX_PRESHARED_KEY_FILE + " bytes)");
        }
        try {
            return Optional.of(WireGuardKey.parse(new String(content, StandardCharsets.US_ASCII)));
        } catch (IllegalArgumentException e) {
            // The parser's message describes the format only, never the content.
            throw new NetworkMap.InvalidException(field, "the pre-shared key file '" + name + "' does not hold a key: "
                    + e.getMessage());
        }
    }
}
