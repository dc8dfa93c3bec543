package dev.loomstack.wireguard;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.IpPrefix;
import dev.loomstack.packet.PacketBufferPool;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.LinkedBlockingQueue;
import org.junit.jupiter.api.Test;

/** The real UDP socket: a wildcard listen address takes IPv4 and IPv6 peers on one port (dual-stack). */
class DatagramChannelTransportTest {
    @Test
    void aWildcardLinkServesAnIpv4AndAnIpv6PeerOnOnePort() throws Exception {
        PacketBufferPool pool = PacketBufferPool.forMtu(1280, 64);
        StaticIdentity idA = StaticIdentity.generate();
        StaticIdentity idB = StaticIdentity.generate();
        StaticIdentity idC = StaticIdentity.generate();
        InetAddress v4 = InetAddress.getByName("127.0.0.1");
        InetAddress v6 = InetAddress.getByName("::1");
        IpAddress b = IpAddress.parse("100.64.0.2");
        IpAddress c = IpAddress.parse("100.64.0.3");
        LinkedBlockingQueue<byte[]> atA = new LinkedBlockingQueue<>();
        LinkedBlockingQueue<byte[]> atB = new LinkedBlockingQueue<>();
        LinkedBlockingQueue<byte[]> atC = new LinkedBlockingQueue<>();
        try (WireGuardLink a = WireGuardLink.open(new WireGuardSettings(idA.privateKey(), new InetSocketAddress(0), 1280), pool);
                WireGuardLink lb = WireGuardLink.open(new WireGuardSettings(idB.privateKey(), new InetSocketAddress(v4, 0), 1280), pool);
                WireGuardLink lc = WireGuardLink.open(new WireGuardSettings(idC.privateKey(), new InetSocketAddress(v6, 0), 1280), pool)) {
            a.start(WireGuardPair.capture(atA));
            lb.start(WireGuardPair.capture(atB));
            lc.start(WireGuardPair.capture(atC));
            // A knows no endpoints: B and C make contact, A answers where they came from.
            a.configure(List.of(peer(idB, null, b), peer(idC, null, c)));
            lb.configure(List.of(peer(idA, new InetSocketAddress(v4, a.listenPort()), WireGuardPair.A4)));
            lc.configure(List.of(peer(idA, new InetSocketAddress(v6, a.listenPort()), WireGuardPair.A4)));
            byte[] fromB = WireGuardPair.udp4(b, WireGuardPair.A4, WireGuardPair.payload(100, 1));
            byte[] fromC = WireGuardPair.udp4(c, WireGuardPair.A4, WireGuardPair.payload(100, 2));
            WireGuardPair.write(lb, fromB);
            assertArrayEquals(fromB, WireGuardPair.next(atA));
            WireGuardPair.write(lc, fromC);
            assertArrayEquals(fromC, WireGuardPair.next(atA));
            byte[] toB = WireGuardPair.udp4(WireGuardPair.A4, b, WireGuardPair.payload(100, 3));
            byte[] toC = WireGuardPair.udp4(WireGuardPair.A4, c, WireGuardPair.payload(100, 4));
            WireGuardPair.write(a, toB);
            WireGuardPair.write(a, toC);
            assertArrayEquals(toB, WireGuardPair.next(atB));
            assertArrayEquals(toC, WireGuardPair.next(atC));
            List<WireGuardStatus.Peer> peers = a.status().peers();
            assertEquals(v4, peers.get(0).endpoint().orElseThrow().getAddress(), "B as a plain IPv4 address");
            assertEquals(v6, peers.get(1).endpoint().orElseThrow().getAddress());
            assertEquals(2, a.peersWithSession());
        }
    }

    private static WireGuardPeerConfig peer(StaticIdentity id, InetSocketAddress endpoint, IpAddress inside) {
        return new WireGuardPeerConfig(id.publicKey(), Optional.empty(), Optional.ofNullable(endpoint),
                List.of(IpPrefix.host(inside)), Duration.ZERO);
    }

    @Test
    void anEndpointOfTheOtherFamilyIsASendErrorNotACrash() throws Exception {
        DatagramChannelTransport v4only = DatagramChannelTransport.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0));
        try {
            var e = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class,
                    () -> v4only.send(java.nio.ByteBuffer.wrap(new byte[8]), new InetSocketAddress(InetAddress.getByName("::1"), 9)));
            org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().startsWith("cannot send to"), e.getMessage());
        } finally {
            v4only.close();
        }
    }
}
