package dev.loomstack.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.link.TunLink;
import dev.loomstack.packet.IpPrefix;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.stack.Stats;
import dev.loomstack.testing.Await;
import dev.loomstack.testing.Cmd;
import dev.loomstack.testing.NetNs;
import dev.loomstack.testing.Privileges;
import dev.loomstack.testing.UdpEchoServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The stack on a real TUN device, with the Linux kernel in a namespace as the client: the kernel's
 * own ping and socat talk to Loomstack's ICMP and UDP.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NetstackEndToEndTest {
    private NetNs client;
    private Netstack netstack;
    private String dev;

    @BeforeAll
    void start() {
        Privileges.assumeRootAndTun();
        dev = NetNs.uniqueDeviceName("lse2e");
        client = NetNs.create();
        TunLink link = TunLink.open(dev, 1280, PacketBufferPool.forMtu(1280, 16));
        netstack = Netstack.create(link, Netstack.Options.defaults(
                List.of(IpPrefix.parse("100.64.0.1/32"), IpPrefix.parse("fd7a:115c:a1e0::1/128"))));
        netstack.start();
        client.adoptAsTailnetClient(dev);
    }

    @AfterAll
    void stop() {
        if (netstack != null) {
            netstack.close();
        }
        if (client != null) {
            client.close();
        }
    }

    private Stats stats() {
        return netstack.stats();
    }

    @Test
    void pingV4() {
        Cmd.Result r = client.exec(30, "ping", "-c", "3", "-i", "0.2", "-W", "2", "100.64.0.1");
        assertTrue(r.ok(), r.output());
        assertTrue(r.output().contains("3 received"), r.output());
    }

    @Test
    void pingV6() {
        Cmd.Result r = client.exec(30, "ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", "fd7a:115c:a1e0::1");
        assertTrue(r.ok(), r.output());
        assertTrue(r.output().contains("3 received"), r.output());
    }

    @Test
    void largePingIsFragmentedBothWays() {
        long before = netstack.stack().stats().icmp.echoRepliesSent.value();
        Cmd.Result r = client.exec(30, "ping", "-c", "2", "-i", "0.2", "-W", "3", "-s", "30000", "100.64.0.1");
        assertTrue(r.ok(), r.output());
        assertTrue(r.output().contains("2 received"), r.output());
        Cmd.Result r6 = client.exec(30, "ping", "-6", "-c", "2", "-i", "0.2", "-W", "3", "-s", "30000", "fd7a:115c:a1e0::1");
        assertTrue(r6.ok(), r6.output());
        assertTrue(r6.output().contains("2 received"), r6.output());
        assertTrue(netstack.stack().stats().icmp.echoRepliesSent.value() >= before + 4);
    }

    @Test
    void udpIsForwardedToALoopbackEchoServer() throws Exception {
        try (UdpEchoServer server = UdpEchoServer.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                text -> "echo:" + text)) {
            int port = server.port();
            Cmd.Result r = client.exec(20, "sh", "-c", "echo hello | socat -T 3 - UDP4:100.64.0.1:" + port);
            assertEquals("echo:hello\n", r.output(), r.output());
            Cmd.Result r6 = client.exec(20, "sh", "-c", "echo hello6 | socat -T 3 - UDP6:[fd7a:115c:a1e0::1]:" + port);
            assertEquals("echo:hello6\n", r6.output(), r6.output());
        }
    }

    /** Hostile bytes written into the TUN from the client side with a packet socket. */
    @Test
    void malformedBurstIsCountedAndServiceContinues() {
        long malformedBefore = stats().ip.malformedPacketsReceived.value();
        long udpChecksumBefore = stats().udp.checksumErrors.value();
        long fragBefore = stats().ip.malformedFragmentsReceived.value();
        String script = """
                import socket, struct, random
                dev = "%s"
                s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
                def send(b): s.sendto(b, (dev, 0))
                def csum(b):
                    if len(b) %% 2: b += b"\\0"
                    t = sum(struct.unpack("!%%dH" %% (len(b)//2), b)); t = (t >> 16) + (t & 0xffff); t += t >> 16
                    return ~t & 0xffff
                def ip4(payload, proto=17, frag=0, ident=1, total=None):
                    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total or 20+len(payload), ident, frag, 64, proto, 0,
                                    bytes([100,64,0,2]), bytes([100,64,0,1]))
                    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload
                random.seed(7)
                n = 0
                send(b"\\x45\\x00\\x00"); n += 1                                    # truncated
                p = bytearray(ip4(b"x"*8)); p[0] = 0x55; send(bytes(p)); n += 1      # bad version nibble in IPv4 shape
                p = bytearray(ip4(b"x"*8)); p[0] = 0x44; send(bytes(p)); n += 1      # header length below 20
                send(ip4(b"x"*8, total=400)); n += 1                                # total length beyond the packet
                p = bytearray(ip4(b"x"*8)); p[11] ^= 0xff; send(bytes(p)); n += 1   # header checksum
                send(b"\\x60" + b"\\0"*20); n += 1                                    # truncated IPv6
                for i in range(200):                                                 # garbage with IP-ish first bytes
                    b = bytes([random.choice([0x45, 0x60])]) + random.randbytes(random.randint(1, 80))
                    send(b); n += 1
                udp = struct.pack("!HHHH", 5555, 7777, 12, 0x1234) + b"abcd"         # wrong UDP checksum
                send(ip4(udp))
                a = ip4(b"A"*16, frag=0x2000, ident=99)                              # overlapping fragments
                b = ip4(b"B"*16, frag=0x2001, ident=99)
                send(a); send(b)
                print(n)
                """.formatted(dev);
        Cmd.Result r = client.exec(30, "python3", "-c", script);
        assertTrue(r.ok(), r.output());
        int sent = Integer.parseInt(r.output().strip());
        Await.until(Duration.ofSeconds(10), "malformed packets counted",
                () -> stats().ip.malformedPacketsReceived.value() - malformedBefore >= 6
                        && stats().udp.checksumErrors.value() > udpChecksumBefore
                        && stats().ip.malformedFragmentsReceived.value() > fragBefore);
        assertTrue(sent > 200);
        // The process still serves.
        Cmd.Result ping = client.exec(20, "ping", "-c", "1", "-W", "2", "100.64.0.1");
        assertTrue(ping.ok(), ping.output());
    }
}
