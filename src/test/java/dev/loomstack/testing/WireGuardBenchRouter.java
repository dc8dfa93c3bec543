package dev.loomstack.testing;

import dev.loomstack.engine.Netstack;
import dev.loomstack.engine.NetworkMap;
import dev.loomstack.engine.Node;
import dev.loomstack.packet.IpPrefix;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.wireguard.StaticIdentity;
import dev.loomstack.wireguard.WireGuardKey;
import dev.loomstack.wireguard.WireGuardLink;
import dev.loomstack.wireguard.WireGuardPeerConfig;
import dev.loomstack.wireguard.WireGuardSettings;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The engine on a {@link WireGuardLink} as a process of its own, without the Spring service: for
 * measuring the link when the service is not at hand (bench/wireguard.sh with {@code ROUTER=main}).
 *
 * <pre>
 * java ... dev.loomstack.testing.WireGuardBenchRouter &lt;listen host:port&gt; &lt;peer public key&gt; &lt;peer host:port&gt; [mtu]
 * </pre>
 *
 * The router is {@code 100.64.0.1} (own-address flows go to {@code 127.0.0.1}); its one peer is
 * {@code 100.64.0.2/32} at the given endpoint. Prints {@code public-key <base64>} once listening,
 * then runs until killed.
 */
public final class WireGuardBenchRouter {
    private WireGuardBenchRouter() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: WireGuardBenchRouter <listen host:port> <peer public key> <peer host:port> [mtu]");
            System.exit(2);
        }
        int mtu = args.length > 3 ? Integer.parseInt(args[3]) : WireGuardSettings.DEFAULT_MTU;
        List<IpPrefix> self = List.of(IpPrefix.parse("100.64.0.1/32"));
        WireGuardLink link = WireGuardLink.open(
                new WireGuardSettings(StaticIdentity.generate().privateKey(), socketAddress(args[0]), mtu),
                PacketBufferPool.forMtu(mtu, 1024));
        Netstack netstack = Netstack.create(link, Netstack.Options.defaults(self));
        netstack.start();
        netstack.applyNetmap(new NetworkMap(new Node("router-1", self, self),
                List.of(new Node("client", List.of(IpPrefix.parse("100.64.0.2/32")), List.of())), "tail.example"));
        link.configure(List.of(new WireGuardPeerConfig(WireGuardKey.parse(args[1]), Optional.empty(),
                Optional.of(socketAddress(args[2])), List.of(IpPrefix.parse("100.64.0.2/32")), Duration.ZERO)));
        Runtime.getRuntime().addShutdownHook(new Thread(netstack::close));
        System.out.println("public-key " + link.publicKey().toBase64());
        System.out.flush();
        Thread.currentThread().join();
    }

    private static InetSocketAddress socketAddress(String hostPort) throws Exception {
        int colon = hostPort.lastIndexOf(':');
        return new InetSocketAddress(InetAddress.getByName(hostPort.substring(0, colon)),
                Integer.parseInt(hostPort.substring(colon + 1)));
    }
}
