package dev.loomstack.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.IpPrefix;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Tailscale's {@code shouldProcessInbound} and {@code shouldHandlePing}, as tables. */
class InboundPolicyTest {
    static final int TCP = 6;
    static final int UDP = 17;
    static final int ICMP = 1;

    static InboundPolicy policy(boolean localIps, boolean subnets) {
        LocalAddresses local = new LocalAddresses();
        local.replace(List.of(IpAddress.parse("100.64.0.1"), IpAddress.parse("fd7a:115c:a1e0::1")));
        InboundPolicy p = new InboundPolicy(local, localIps, subnets);
        p.setAdvertisedRoutes(List.of(
                IpPrefix.parse("100.64.0.1/32"),
                IpPrefix.parse("198.18.1.0/24"),
                // Site 7 of 4via6: every IPv4 address.
                IpPrefix.parse("fd7a:115c:a1e0:b1a:0:7::/96")));
        p.setInterceptedTcpPorts(Set.of(22));
        return p;
    }

    @ParameterizedTest(name = "{0} proto {1} port {2}, local={3} subnets={4} -> {5}")
    @CsvSource({
            // own address: taken when own addresses are processed
            "100.64.0.1, 6, 80, true, true, true",
            "100.64.0.1, 6, 80, false, true, false",
            "fd7a:115c:a1e0::1, 17, 53, true, false, true",
            // an intercepted TCP port of an own address is taken even when own addresses are not
            "100.64.0.1, 6, 22, false, false, true",
            "100.64.0.1, 17, 22, false, false, false",
            // subnet hosts: only inside advertised routes, only when subnets are processed
            "198.18.1.2, 6, 80, true, true, true",
            "198.18.1.2, 6, 80, true, false, false",
            "198.18.2.2, 6, 80, true, true, false",
            "169.254.169.254, 6, 80, true, true, false",
            // another tailnet node is not ours
            "100.64.0.7, 6, 80, true, true, false",
            // 4via6: taken when the site is advertised, whatever the subnet setting
            "fd7a:115c:a1e0:b1a:0:7:c612:102, 6, 80, false, false, true",
            "fd7a:115c:a1e0:b1a:0:8:c612:102, 6, 80, true, true, false",
            "198.18.1.2, 1, -1, true, true, true",
    })
    void shouldProcessInbound(String dst, int proto, int port, boolean localIps, boolean subnets, boolean expected) {
        assertEquals(expected, policy(localIps, subnets).shouldProcessInbound(IpAddress.parse(dst), proto, port));
    }

    /** A policy advertising {@code route} beside the node's own address. */
    static InboundPolicy advertising(String route) {
        LocalAddresses local = new LocalAddresses();
        local.replace(List.of(IpAddress.parse("100.64.0.1"), IpAddress.parse("fd7a:115c:a1e0::1")));
        InboundPolicy p = new InboundPolicy(local, true, true);
        p.setAdvertisedRoutes(List.of(IpPrefix.parse("100.64.0.1/32"), IpPrefix.parse(route)));
        return p;
    }

    /**
     * An IPv6 route names 4via6 sites only when it lies inside {@code fd7a:115c:a1e0:b1a::/64};
     * a wider route that merely contains the 4via6 range (a default route, the ULA block, the
     * tailnet's /48) is an ordinary subnet and opens no site.
     */
    @ParameterizedTest(name = "advertising {0}: {1} taken={2}, 4via6 site={3}")
    @CsvSource({
            // an IPv6 default route (exit node): plain IPv6 hosts are subnet hosts, no site is open
            "::/0, 2001:db8:1::2, true, false",
            "::/0, fd7a:115c:a1e0:b1a:0:2:c612:102, false, false",
            // the unique-local block
            "fc00::/7, fd00::5, true, false",
            "fc00::/7, fd7a:115c:a1e0:b1a:0:2:c612:102, false, false",
            // the tailnet's own /48
            "fd7a:115c:a1e0::/48, fd7a:115c:a1e0:b1a:0:2:c612:102, false, false",
            // one bit short of the 4via6 range
            "fd7a:115c:a1e0:b1a::/63, fd7a:115c:a1e0:b1a:0:2:c612:102, false, false",
            "fd7a:115c:a1e0:b1a::/63, fd7a:115c:a1e0:b1b::9, true, false",
            // the whole 4via6 range: every site
            "fd7a:115c:a1e0:b1a::/64, fd7a:115c:a1e0:b1a:0:2:c612:102, true, true",
            // one site, and one site's /120
            "fd7a:115c:a1e0:b1a:0:1::/96, fd7a:115c:a1e0:b1a:0:1:c612:102, true, true",
            "fd7a:115c:a1e0:b1a:0:1::/96, fd7a:115c:a1e0:b1a:0:2:c612:102, false, false",
            "fd7a:115c:a1e0:b1a:0:1:c612:100/120, fd7a:115c:a1e0:b1a:0:1:c612:102, true, true",
            "fd7a:115c:a1e0:b1a:0:1:c612:100/120, fd7a:115c:a1e0:b1a:0:1:c612:202, false, false",
            // an IPv4 route is never a site
            "198.18.0.0/16, 198.18.1.2, true, false",
    })
    void ipv6RoutesAreSitesOnlyInsideTheViaRange(String route, String dst, boolean taken, boolean site) {
        InboundPolicy p = advertising(route);
        IpAddress a = IpAddress.parse(dst);
        assertEquals(taken, p.shouldProcessInbound(a, TCP, 80), "TCP to " + dst);
        assertEquals(site, p.handlesVia(a), "4via6 site of " + dst);
        assertEquals(taken && !site && !TailnetAddresses.isVia(a), p.routesSubnet(a), "subnet route to " + dst);
    }

    @ParameterizedTest(name = "advertising {0}: ping {1} -> {2}")
    @CsvSource({
            "::/0, 2001:db8:1::2, 2001:db8:1::2",
            "fc00::/7, fd00::5, fd00::5",
    })
    void plainIpv6HostsUnderWideRoutesArePinged(String route, String dst, String expected) {
        assertEquals(IpAddress.parse(expected), advertising(route).pingTarget(IpAddress.parse(dst)));
    }

    @ParameterizedTest(name = "ping {0} subnets={1} -> {2}")
    @CsvSource({
            // subnet host: pinged as itself
            "198.18.1.2, true, 198.18.1.2",
            "198.18.1.2, false, ",
            // tailnet addresses (own or not) are never relayed
            "100.64.0.1, true, ",
            "100.64.0.9, true, ",
            "fd7a:115c:a1e0::9, true, ",
            // outside the advertised routes
            "203.0.113.9, true, ",
            // 4via6 pings the IPv4 host it stands for, even without subnet processing
            "fd7a:115c:a1e0:b1a:0:7:c612:102, false, 198.18.1.2",
            // ... but never a host-scoped or special one
            "fd7a:115c:a1e0:b1a:0:7:7f00:1, true, ",
            "fd7a:115c:a1e0:b1a:0:7:a9fe:a9fe, true, ",
            "fd7a:115c:a1e0:b1a:0:7:6440:1, true, ",
            "fd7a:115c:a1e0:b1a:0:7:e000:1, true, ",
            "fd7a:115c:a1e0:b1a:0:7:ffff:ffff, true, ",
    })
    void pingTarget(String dst, boolean subnets, String expected) {
        IpAddress got = policy(true, subnets).pingTarget(IpAddress.parse(dst));
        if (expected == null) {
            assertNull(got);
        } else {
            assertEquals(IpAddress.parse(expected), got);
        }
    }

    @ParameterizedTest(name = "4via6 to {0} refused={1}")
    @CsvSource({
            "127.0.0.1, true", "127.255.0.9, true", "0.0.0.0, true", "0.1.2.3, true",
            "169.254.169.254, true", "169.254.0.1, true", "100.64.0.1, true", "100.127.255.255, true",
            "224.0.0.251, true", "239.1.1.1, true", "255.255.255.255, true", "240.0.0.1, true",
            "10.0.0.5, false", "192.168.1.1, false", "198.18.1.2, false", "100.63.255.255, false",
            "100.128.0.0, false", "8.8.8.8, false",
    })
    void viaSafety(String v4, boolean refused) {
        assertEquals(refused, ViaSafety.refuses(IpAddress.parse(v4)));
    }

    @ParameterizedTest(name = "{0} proto {1}, held by open flows -> {2}")
    @CsvSource({
            // a withdrawn subnet host with open flows: their TCP and UDP packets are still taken
            "198.18.9.9, 6, true",
            "198.18.9.9, 17, true",
            // but it is not pinged on the stack's behalf
            "198.18.9.9, 1, false",
            // a withdrawn 4via6 site likewise
            "fd7a:115c:a1e0:b1a:0:9:c612:909, 6, true",
            "fd7a:115c:a1e0:b1a:0:9:c612:909, 1, false",
            // an address no flow holds stays refused
            "198.18.9.10, 6, false",
    })
    void addressesHeldByOpenFlowsStayRoutableForThem(String dst, int proto, boolean expected) {
        LocalAddresses local = new LocalAddresses();
        local.replace(List.of(IpAddress.parse("100.64.0.1")));
        Set<IpAddress> held = Set.of(IpAddress.parse("198.18.9.9"), IpAddress.parse("fd7a:115c:a1e0:b1a:0:9:c612:909"));
        InboundPolicy p = new InboundPolicy(local, true, true, held::contains);
        p.setAdvertisedRoutes(List.of(IpPrefix.parse("100.64.0.1/32")));
        assertEquals(expected, p.shouldProcessInbound(IpAddress.parse(dst), proto, 80));
    }
}
