package dev.loomstack.wireguard;

import dev.loomstack.packet.IpPrefix;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/** What {@code wg show} prints for the link: its public key and port, and every configured peer. */
public record WireGuardStatus(WireGuardKey publicKey, int listenPort, List<Peer> peers) {
    public WireGuardStatus {
        peers = List.copyOf(peers);
    }

    /**
     * One peer: where it was last heard from (or the configured endpoint), when its latest handshake
     * completed (none yet: empty), transport bytes received from and sent to it (outer, as
     * {@code wg show}'s transfer line counts them), its allowed IPs and persistent keepalive.
     */
    public record Peer(
            WireGuardKey publicKey,
            Optional<InetSocketAddress> endpoint,
            Optional<Instant> latestHandshake,
            long receivedBytes,
            long sentBytes,
            List<IpPrefix> allowedIps,
            Duration persistentKeepalive,
            boolean presharedKey) {
        public Peer {
            allowedIps = List.copyOf(allowedIps);
        }
    }
}
