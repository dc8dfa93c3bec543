package dev.loomstack.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.packet.IpAddress;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class TailnetAddressesTest {
    @ParameterizedTest
    @CsvSource({
        "100.64.0.1, true", "100.127.255.254, true", "100.128.0.1, false", "100.63.255.255, false",
        "100.115.92.5, false", "100.115.93.255, false", "100.115.94.0, true",
        "fd7a:115c:a1e0::1, true", "fd7a:115c:a1e1::1, false", "10.0.0.1, false"})
    void tailscaleRange(String addr, boolean expected) {
        assertEquals(expected, TailnetAddresses.isTailscaleIp(IpAddress.parse(addr)));
    }

    @Test
    void viaAddressesCarrySiteAndIpv4() {
        IpAddress via = IpAddress.parse("fd7a:115c:a1e0:b1a:0:7:c0a8:101");
        assertTrue(TailnetAddresses.isVia(via));
        assertEquals(IpAddress.parse("192.168.1.1"), TailnetAddresses.unmapVia(via));
        assertEquals(7, TailnetAddresses.viaSiteId(via));
        assertEquals(via, TailnetAddresses.mapVia(7, IpAddress.parse("192.168.1.1")));
        assertFalse(TailnetAddresses.isVia(IpAddress.parse("fd7a:115c:a1e0:b1b::1")));
        assertThrows(IllegalArgumentException.class, () -> TailnetAddresses.mapVia(65536, IpAddress.parse("10.0.0.1")));
        assertThrows(IllegalArgumentException.class, () -> TailnetAddresses.unmapVia(IpAddress.parse("fd7a:115c:a1e0::1")));
    }

    @Test
    void serviceIps() {
        assertTrue(TailnetAddresses.isServiceIp(IpAddress.parse("100.100.100.100")));
        assertTrue(TailnetAddresses.isServiceIp(IpAddress.parse("fd7a:115c:a1e0::53")));
        assertFalse(TailnetAddresses.isServiceIp(IpAddress.parse("100.100.100.101")));
    }
}
