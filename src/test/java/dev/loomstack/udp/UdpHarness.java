package dev.loomstack.udp;

import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.packet.UdpHeader;
import dev.loomstack.stack.NetworkOutput;
import dev.loomstack.stack.NetworkPacket;
import dev.loomstack.stack.Stats;
import dev.loomstack.stack.TimerService;
import java.util.concurrent.LinkedBlockingQueue;

/** Drives a {@link UdpProtocol} without a network: builds inbound packets, captures what it sends. */
public final class UdpHarness implements NetworkOutput {
    public record Sent(IpAddress source, IpAddress destination, int protocol, byte[] transport) {}

    public final Stats stats = new Stats();
    public final PacketBufferPool pool = PacketBufferPool.forMtu(1500, 64);
    public final LinkedBlockingQueue<Sent> sent = new LinkedBlockingQueue<>();
    public final UdpProtocol udp = new UdpProtocol(this);
    private final NetworkPacket ctx = new NetworkPacket();

    @Override
    public PacketBufferPool pool() {
        return pool;
    }

    @Override
    public int mtu() {
        return 1500;
    }

    @Override
    public boolean send(IpAddress source, IpAddress destination, int protocol, PacketBuffer packet) {
        sent.add(new Sent(source, destination, protocol, packet.toByteArray()));
        packet.release();
        return true;
    }

    @Override
    public Stats stats() {
        return stats;
    }

    @Override
    public TimerService timers() {
        throw new UnsupportedOperationException("UDP needs no timers");
    }

    /** A UDP datagram with a correct checksum. */
    public static byte[] datagram(IpAddress src, int srcPort, IpAddress dst, int dstPort, byte[] payload) {
        byte[] u = new byte[UdpHeader.LENGTH + payload.length];
        System.arraycopy(payload, 0, u, UdpHeader.LENGTH, payload.length);
        UdpHeader.write(u, 0, srcPort, dstPort, payload.length, src, dst);
        return u;
    }

    /** Delivers {@code udp} as if the IP layer had validated a packet from {@code src} to {@code dst}. */
    public UdpProtocol.Delivery deliver(IpAddress src, IpAddress dst, byte[] udpBytes) {
        int alen = src.byteLength();
        int ipLen = src.v4() ? 20 : 40;
        PacketBuffer b = PacketBuffer.unpooled(ipLen + udpBytes.length);
        byte[] a = b.array();
        int srcOff = src.v4() ? 12 : 8;
        int dstOff = srcOff + alen;
        src.write(a, srcOff);
        dst.write(a, dstOff);
        System.arraycopy(udpBytes, 0, a, ipLen, udpBytes.length);
        b.range(0, ipLen + udpBytes.length);
        ctx.set(b, !src.v4(), 0, srcOff, dstOff, 17, ipLen, udpBytes.length, 64);
        return udp.handlePacket(ctx);
    }
}
