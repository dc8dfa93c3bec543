package dev.loomstack.engine;

import dev.loomstack.packet.IpAddress;
import java.net.InetSocketAddress;

/** The tailnet peer behind a backend-side local connection (Tailscale's {@code proxymap} answer). */
public record Whois(InetSocketAddress local, IpAddress peerAddress, String peerName) {}
