package dev.loomstack.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.IpPrefix;
import dev.loomstack.testing.CaptureLink;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Tailscale's {@code UpdateNetstackIPs} and subnet-address reference counting, on a link with no network behind it. */
class NetmapTest {
    static final IpPrefix SELF4 = IpPrefix.parse("100.64.0.1/32");
    static final IpPrefix SELF6 = IpPrefix.parse("fd7a:115c:a1e0::1/128");
    static final IpPrefix SUBNET = IpPrefix.parse("198.18.1.0/24");
    private Netstack ns;

    @BeforeEach
    void start() {
        ns = Netstack.create(new CaptureLink(1280), Netstack.Options.defaults(List.of(SELF4, SELF6))
                .withDnsUpstreams(List.of()));
        ns.start();
    }

    @AfterEach
    void stop() {
        ns.close();
    }

    static NetworkMap map(List<IpPrefix> self, List<IpPrefix> allowed, Node... peers) {
        return new NetworkMap(new Node("router-1", self, allowed), List.of(peers), "tail.example");
    }

    @Test
    void initialMapRegistersTheSelfAddresses() {
        assertTrue(ns.stack().hasAddress(SELF4.address()));
        assertTrue(ns.stack().hasAddress(SELF6.address()));
        assertTrue(ns.localAddresses().contains(SELF4.address()));
        assertEquals(List.of(SELF4, SELF6), ns.netmap().selfNode().addresses());
    }

    @Test
    void updatesDiffAndSwapTheLocalSet() {
        IpPrefix other = IpPrefix.parse("100.64.0.5/32");
        NetmapChange c = ns.applyNetmap(map(List.of(SELF4, other), List.of(SELF4, other, SUBNET)));
        assertEquals(List.of(other, SUBNET).stream().sorted().toList(), c.added());
        assertEquals(List.of(SELF6), c.removed());
        assertTrue(ns.stack().addresses().prefixes().contains(SUBNET), "the advertised route is on the NIC");
        assertFalse(ns.stack().hasAddress(SELF6.address()));
        assertTrue(ns.localAddresses().contains(other.address()));
        assertFalse(ns.localAddresses().contains(SELF6.address()));

        NetmapChange again = ns.applyNetmap(map(List.of(SELF4, other), List.of(SELF4, other, SUBNET)));
        assertTrue(again.added().isEmpty() && again.removed().isEmpty(), "the same map changes nothing");

        NetmapChange back = ns.applyNetmap(map(List.of(SELF4), List.of(SELF4)));
        assertEquals(List.of(other, SUBNET).stream().sorted().toList(), back.removed());
        assertFalse(ns.stack().addresses().prefixes().contains(SUBNET));
    }

    @Test
    void broadcastIsNeverTheNetmapsToAddOrRemove() {
        IpPrefix broadcast = IpPrefix.host(IpAddress.V4_BROADCAST);
        ns.stack().addAddress(broadcast);
        NetmapChange c = ns.applyNetmap(map(List.of(SELF4), List.of(SELF4, broadcast)));
        assertFalse(c.added().contains(broadcast));
        ns.applyNetmap(map(List.of(SELF4), List.of(SELF4)));
        assertTrue(ns.stack().hasAddress(IpAddress.V4_BROADCAST), "255.255.255.255/32 is left alone");
    }

    @Test
    void aSubnetAddressIsRegisteredOnFirstUseAndRemovedAfterTheLast() {
        IpAddress host = IpAddress.parse("203.0.113.5");
        SubnetAddresses s = ns.subnetAddresses();
        s.acquire(host);
        s.acquire(host);
        assertTrue(ns.stack().hasAddress(host));
        s.release(host);
        assertTrue(ns.stack().hasAddress(host), "one flow still open");
        s.release(host);
        assertFalse(ns.stack().hasAddress(host));
    }

    @Test
    void aNetmapUpdateNeitherRemovesAnAddressInUseNorLeaksIt() {
        IpAddress host = IpAddress.parse("203.0.113.6");
        IpPrefix hostPrefix = IpPrefix.host(host);
        SubnetAddresses s = ns.subnetAddresses();
        // Advertised, then used by a flow, then un-advertised while the flow is open.
        ns.applyNetmap(map(List.of(SELF4), List.of(SELF4, hostPrefix)));
        s.acquire(host);
        NetmapChange c = ns.applyNetmap(map(List.of(SELF4), List.of(SELF4)));
        assertEquals(List.of(hostPrefix), c.removed());
        assertTrue(ns.stack().hasAddress(host), "the open flow still needs it");
        s.release(host);
        assertFalse(ns.stack().hasAddress(host), "and it goes with the flow: no leak");

        // Used by a flow, then advertised, then the flow ends: still advertised, so it stays.
        s.acquire(host);
        ns.applyNetmap(map(List.of(SELF4), List.of(SELF4, hostPrefix)));
        s.release(host);
        assertTrue(ns.stack().hasAddress(host), "the netmap still holds it");
        ns.applyNetmap(map(List.of(SELF4), List.of(SELF4)));
        assertFalse(ns.stack().hasAddress(host));
    }

    @Test
    void magicDnsZoneFollowsTheNetmap() {
        ns.applyNetmap(map(List.of(SELF4), List.of(SELF4),
                new Node("laptop", List.of(IpPrefix.parse("100.64.0.2/32")), List.of())));
        assertEquals(List.of(IpAddress.parse("100.64.0.2")), ns.magicDns().zone().lookup("laptop.tail.example."));
        assertEquals(List.of(SELF4.address()), ns.magicDns().zone().lookup("ROUTER-1.tail.example"));
        ns.applyNetmap(map(List.of(SELF4), List.of(SELF4)));
        assertEquals(null, ns.magicDns().zone().lookup("laptop.tail.example."));
    }

    @Test
    void expvarHasEveryTailscaleKeyAndTheEngineGauges() {
        var m = ns.expvar();
        for (String key : List.of("counter_dropped_packets", "counter_ip_packets_received",
                "counter_ip_option_unknown_received", "counter_ip_forward_unrouteable", "counter_ip_forward_errors",
                "counter_tcp_active_connection_openings", "counter_tcp_forward_max_in_flight_drop",
                "gauge_tcp_current_established", "gauge_tcp_current_connected", "counter_udp_packets_received",
                "counter_udp_checksum_errors", "gauge_tcp_forward_in_flight_limit",
                "gauge_tcp_forward_in_flight_per_client_limit", "gauge_tcp_forward_in_flight",
                "counter_tcp_forward_max_in_flight_per_client_drop",
                "gauge_tcp_forward_in_flight_per_client_limit_reached", "netstack_tcp_forward_dropped_attempts",
                "netstack_tcp_forward_dropped_attempts_per_client")) {
            assertTrue(m.containsKey(key), key);
        }
        assertEquals(Netstack.expvarKeys(), m.keySet(), "the keys are known before an engine runs");
        assertEquals(ns.limits().maxInFlight(), m.get("gauge_tcp_forward_in_flight_limit"));
        ns.updateLimits(new InFlightLimits(100, 10));
        assertEquals(100L, ns.expvar().get("gauge_tcp_forward_in_flight_limit"));
        assertEquals(100, ns.tcpForwarder().maxInFlight());
        assertEquals(10, ns.limiter().maxPerClient());
    }

    @Test
    void closeLeavesNoThreadBehind() {
        long before = timerThreads();
        Netstack other = Netstack.create(new CaptureLink(1280), Netstack.Options.defaults(List.of(SELF4))
                .withDnsUpstreams(List.of()));
        other.start();
        assertEquals(before + 1, timerThreads());
        other.close();
        dev.loomstack.testing.Await.until(java.time.Duration.ofSeconds(5), "the timer thread ends",
                () -> timerThreads() == before);
    }

    private static long timerThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals("loomstack-timers")).count();
    }

    @Test
    void creationValidatesItsCollaborators() {
        org.junit.jupiter.api.Assertions.assertThrows(NullPointerException.class,
                () -> Netstack.create(null, Netstack.Options.defaults(List.of(SELF4))));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> Netstack.create(new CaptureLink(576), Netstack.Options.defaults(List.of(SELF4))));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> Netstack.create(new CaptureLink(1280), Netstack.Options.defaults(List.of())));
    }
}
