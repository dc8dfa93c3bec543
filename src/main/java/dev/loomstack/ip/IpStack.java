package dev.loomstack.ip;

import dev.loomstack.link.LinkEndpoint;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.stack.Stack;
import dev.loomstack.stack.Stats;
import dev.loomstack.stack.TimerService;

/** Builds a {@link Stack} with IPv4 and IPv6 (and their ICMP) installed, as Tailscale's {@code Create} does. */
public final class IpStack {
    private IpStack() {}

    public static Stack create(LinkEndpoint link, PacketBufferPool pool, Stats stats, TimerService timers) {
        return create(link, pool, stats, timers, Reassembler.DEFAULT_MEMORY_CAP);
    }

    public static Stack create(LinkEndpoint link, PacketBufferPool pool, Stats stats, TimerService timers,
                               int reassemblyMemoryCap) {
        Stack s = new Stack(link, pool, stats, timers);
        s.registerNetworkProtocol(new Ipv4Protocol(s, reassemblyMemoryCap));
        s.registerNetworkProtocol(new Ipv6Protocol(s, reassemblyMemoryCap));
        return s;
    }
}
