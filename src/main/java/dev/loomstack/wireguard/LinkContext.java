package dev.loomstack.wireguard;

import dev.loomstack.link.LinkStats;
import dev.loomstack.stack.Clock;
import java.util.Map;

/**
 * What the parts of a {@link WireGuardLink} share: its socket, clocks, index table, cryptokey
 * routing table, counters, peer set and whether it is closed. The link creates it and is the only
 * writer of its mutable fields (under the link's configuration lock); {@link Outbound},
 * {@link Inbound} and {@link HandshakeExchange} read them.
 */
final class LinkContext {
    /** One logger for the link and its parts: they log as the link. */
    static final System.Logger LOG = System.getLogger(WireGuardLink.class.getName());

    final String name;
    final UdpTransport transport;
    final Clock clock;
    final java.time.Clock wallClock;
    final IndexTable indices = new IndexTable();
    final AllowedIps<Peer> allowedIps = new AllowedIps<>();
    final LinkStats stats = new LinkStats();
    final WireGuardStats wgStats = new WireGuardStats();
    /** Peers by public key; replaced whole by the link under its configuration lock. */
    volatile Map<WireGuardKey, Peer> peers = Map.of();
    /** Set once, by the link's close, under its configuration lock. */
    volatile boolean closed;

    LinkContext(String name, UdpTransport transport, Clock clock, java.time.Clock wallClock) {
        this.name = name;
        this.transport = transport;
        this.clock = clock;
        this.wallClock = wallClock;
    }
}
