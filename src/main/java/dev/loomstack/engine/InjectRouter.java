package dev.loomstack.engine;

import dev.loomstack.link.LinkEndpoint;
import dev.loomstack.link.LinkStats;
import dev.loomstack.link.NetworkDispatcher;
import dev.loomstack.packet.PacketBuffer;
import java.util.concurrent.atomic.LongAdder;

/**
 * Where packets the stack generates go (Tailscale's {@code inject} loop): a packet from the service
 * IP answers the host side, everything else goes to the tailnet peer. On a single TUN both sides
 * are the same device; the decision stays explicit and counted so that a deployment with a
 * separate host path only swaps the {@code hostSide} link.
 */
final class InjectRouter implements LinkEndpoint {
    private final LinkEndpoint peerSide;
    private final LinkEndpoint hostSide;
    final LongAdder toHost = new LongAdder();
    final LongAdder toPeer = new LongAdder();

    InjectRouter(LinkEndpoint peerSide, LinkEndpoint hostSide) {
        this.peerSide = peerSide;
        this.hostSide = hostSide;
    }

    @Override
    public boolean writePacket(PacketBuffer packet) {
        if (fromServiceIp(packet)) {
            toHost.increment();
            return hostSide.writePacket(packet);
        }
        toPeer.increment();
        return peerSide.writePacket(packet);
    }

    /** Reads the source address in place: no allocation per packet. */
    static boolean fromServiceIp(PacketBuffer p) {
        byte[] b = p.array();
        int at = p.start();
        if (p.length() < 1) {
            return false;
        }
        int version = (b[at] & 0xff) >>> 4;
        if (version == 4 && p.length() >= 20) {
            return TailnetAddresses.SERVICE_IP.equalsAt(b, at + 12, 4);
        }
        if (version == 6 && p.length() >= 40) {
            return TailnetAddresses.SERVICE_IP_V6.equalsAt(b, at + 8, 16);
        }
        return false;
    }

    @Override
    public int mtu() {
        return peerSide.mtu();
    }

    /** A super-segment may go either way, so both sides must take it. */
    @Override
    public int maxOffloadSize() {
        return Math.min(peerSide.maxOffloadSize(), hostSide.maxOffloadSize());
    }

    @Override
    public String name() {
        return peerSide.name();
    }

    @Override
    public void start(NetworkDispatcher dispatcher) {
        peerSide.start(dispatcher);
    }

    @Override
    public LinkStats stats() {
        return peerSide.stats();
    }

    @Override
    public void close() {
        peerSide.close();
        if (hostSide != peerSide) {
            hostSide.close();
        }
    }
}
