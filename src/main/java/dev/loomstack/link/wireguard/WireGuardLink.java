package dev.loomstack.link.wireguard;

import dev.loomstack.link.LinkEndpoint;
import dev.loomstack.link.LinkStats;
import dev.loomstack.link.NetworkDispatcher;
import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.packet.PacketBufferPool;
import java.util.List;

/**
 * The WireGuard link: speaks WireGuard over a UDP socket and carries the decrypted IP packets to
 * and from the stack, routing by the peers' allowed IPs (cryptokey routing).
 *
 * <p>CONTRACT (implemented by the device part; the service calls it).
 */
public final class WireGuardLink implements LinkEndpoint {
    private WireGuardLink() {}

    /** Binds the UDP socket of {@code settings}; throws {@link dev.loomstack.link.LinkUnavailableException} if it cannot. */
    public static WireGuardLink open(WireGuardSettings settings, PacketBufferPool pool) {
        throw new UnsupportedOperationException("device part");
    }

    /**
     * Replaces the peer set: peers not named any more are removed (their sessions wiped), new ones
     * added, and a peer named before keeps its sessions, with its pre-shared key, endpoint,
     * allowed IPs and keepalive updated in place. Throws IllegalArgumentException for two peers with
     * the same public key or a peer whose key is this link's own.
     */
    public void configure(List<WireGuardPeerConfig> peers) {
        throw new UnsupportedOperationException("device part");
    }

    public WireGuardStatus status() {
        throw new UnsupportedOperationException("device part");
    }

    public WireGuardStats wireGuardStats() {
        throw new UnsupportedOperationException("device part");
    }

    public WireGuardKey publicKey() {
        throw new UnsupportedOperationException("device part");
    }

    /** The UDP port bound (the one asked for, or the one the kernel picked for port 0). */
    public int listenPort() {
        throw new UnsupportedOperationException("device part");
    }

    /** Peers holding a session usable now (a current keypair not past reject-after-time). */
    public int peersWithSession() {
        throw new UnsupportedOperationException("device part");
    }

    @Override
    public int mtu() {
        throw new UnsupportedOperationException("device part");
    }

    @Override
    public String name() {
        throw new UnsupportedOperationException("device part");
    }

    @Override
    public void start(NetworkDispatcher dispatcher) {
        throw new UnsupportedOperationException("device part");
    }

    @Override
    public boolean writePacket(PacketBuffer packet) {
        throw new UnsupportedOperationException("device part");
    }

    @Override
    public LinkStats stats() {
        throw new UnsupportedOperationException("device part");
    }

    @Override
    public void close() {
        throw new UnsupportedOperationException("device part");
    }
}
