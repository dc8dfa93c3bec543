package dev.loomstack.wireguard;

import dev.loomstack.stack.StatCounter;

/**
 * Counters of a {@link WireGuardLink}, named as they are exported ({@code counter_wireguard_*}).
 * Every packet the link throws away lands in exactly one of the drop counters.
 */
public final class WireGuardStats {
    /** Handshake initiations and responses this link sent. */
    public final StatCounter handshakesSent = new StatCounter();
    /** Initiations and responses received that authenticated and were taken. */
    public final StatCounter handshakesReceived = new StatCounter();
    /** Initiations and responses received that failed: bad mac1, failed decryption, unknown peer, replayed timestamp, flood. */
    public final StatCounter handshakesFailed = new StatCounter();
    /** Cookie replies sent because the link was under load (paper section 5.4.7). */
    public final StatCounter cookieRepliesSent = new StatCounter();
    /** Cookie replies received and taken. */
    public final StatCounter cookieRepliesReceived = new StatCounter();
    /** Transport packets dropped as replays or too old for the window. */
    public final StatCounter packetsReplayed = new StatCounter();
    /** Packets dropped as malformed, of an unknown type or receiver index, or failing authentication. */
    public final StatCounter packetsInvalid = new StatCounter();
    /** Decrypted packets dropped because their inner source is outside the sending peer's allowed IPs. */
    public final StatCounter sourceMismatch = new StatCounter();
    /** Outbound packets dropped because no peer's allowed IPs contain the destination. */
    public final StatCounter noPeer = new StatCounter();
    /** Outbound packets dropped because the peer had no session and its staged queue was full, or no endpoint. */
    public final StatCounter sendDropped = new StatCounter();
    /** Transport data received (outer UDP payload bytes / packets, keepalives included) that authenticated. */
    public final StatCounter receivedBytes = new StatCounter();
    public final StatCounter receivedPackets = new StatCounter();
    /** Transport data sent (outer UDP payload bytes / packets, keepalives included). */
    public final StatCounter sentBytes = new StatCounter();
    public final StatCounter sentPackets = new StatCounter();
    /** Keepalives (empty transport packets) sent. */
    public final StatCounter keepalivesSent = new StatCounter();
}
