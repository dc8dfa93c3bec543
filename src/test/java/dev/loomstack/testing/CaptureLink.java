package dev.loomstack.testing;

import dev.loomstack.link.LinkEndpoint;
import dev.loomstack.link.LinkStats;
import dev.loomstack.link.NetworkDispatcher;
import dev.loomstack.packet.PacketBuffer;
import java.util.ArrayList;
import java.util.List;

/** A link that keeps what is written to it and lets the test deliver packets by hand, on the test's thread. */
public final class CaptureLink implements LinkEndpoint {
    private final int mtu;
    private final LinkStats stats = new LinkStats();
    private final List<byte[]> written = new ArrayList<>();
    private NetworkDispatcher dispatcher;

    public CaptureLink(int mtu) {
        this.mtu = mtu;
    }

    @Override
    public int mtu() {
        return mtu;
    }

    @Override
    public String name() {
        return "capture";
    }

    @Override
    public void start(NetworkDispatcher d) {
        this.dispatcher = d;
    }

    @Override
    public synchronized boolean writePacket(PacketBuffer packet) {
        written.add(packet.toByteArray());
        packet.release();
        stats.packetsWritten.increment();
        return true;
    }

    /** Delivers {@code bytes} as the link's reader would. */
    public void deliver(byte[] bytes) {
        dispatcher.deliverNetworkPacket(PacketBuffer.copyOf(bytes, 0));
    }

    /** Everything written so far, then forgets it. */
    public synchronized List<byte[]> take() {
        List<byte[]> out = new ArrayList<>(written);
        written.clear();
        return out;
    }

    @Override
    public LinkStats stats() {
        return stats;
    }

    @Override
    public void close() {}
}
