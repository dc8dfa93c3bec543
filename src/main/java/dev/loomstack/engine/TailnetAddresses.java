package dev.loomstack.engine;

import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.IpPrefix;

/** The tailnet's well-known addresses and ranges (Tailscale's {@code tsaddr}). */
public final class TailnetAddresses {
    /** The carrier-grade NAT range the tailnet numbers IPv4 nodes from (RFC 6598). */
    public static final IpPrefix CGNAT_RANGE = IpPrefix.parseStrict("100.64.0.0/10");
    /** Carved out of {@link #CGNAT_RANGE}: ChromeOS uses it for its own VMs. */
    public static final IpPrefix CHROMEOS_VM_RANGE = IpPrefix.parseStrict("100.115.92.0/23");
    /** The tailnet's IPv6 unique-local range. */
    public static final IpPrefix ULA_RANGE = IpPrefix.parseStrict("fd7a:115c:a1e0::/48");
    /** The "quad-100" service address (MagicDNS and friends). */
    public static final IpAddress SERVICE_IP = IpAddress.parse("100.100.100.100");
    public static final IpAddress SERVICE_IP_V6 = IpAddress.parse("fd7a:115c:a1e0::53");
    /**
     * 4via6: bytes 8-11 of an address in this range hold a site ID, bytes 12-15 an IPv4 address in
     * that site, so overlapping IPv4 subnets of different sites stay distinct.
     */
    public static final IpPrefix VIA_RANGE = IpPrefix.parseStrict("fd7a:115c:a1e0:b1a::/64");
    /** Site IDs are 16 bits wide even though the address has room for 32. */
    public static final long MAX_VIA_SITE_ID = 0xffff;

    private TailnetAddresses() {}

    public static boolean isServiceIp(IpAddress a) {
        return a.equals(SERVICE_IP) || a.equals(SERVICE_IP_V6);
    }

    /** True for an address the tailnet assigns to its nodes. */
    public static boolean isTailscaleIp(IpAddress a) {
        if (a.v4()) {
            return CGNAT_RANGE.contains(a) && !CHROMEOS_VM_RANGE.contains(a);
        }
        return ULA_RANGE.contains(a);
    }

    public static boolean isVia(IpAddress a) {
        return VIA_RANGE.contains(a);
    }

    /**
     * True when the advertised route {@code p} names 4via6 sites: it must lie inside
     * {@link #VIA_RANGE} (IPv6, prefix length at least 64). A wider route that merely contains the
     * range ({@code ::/0}, {@code fc00::/7}, the tailnet's /48) is an ordinary IPv6 subnet and
     * opens no site.
     */
    public static boolean isViaRoute(IpPrefix p) {
        return !p.address().v4() && p.bits() >= VIA_RANGE.bits() && VIA_RANGE.contains(p.address());
    }

    /** The IPv4 address a 4via6 address stands for. */
    public static IpAddress unmapVia(IpAddress via) {
        if (!isVia(via)) {
            throw new IllegalArgumentException(via + " is not a 4via6 address");
        }
        return IpAddress.ofV4((int) via.low());
    }

    /** The site ID of a 4via6 address. */
    public static long viaSiteId(IpAddress via) {
        if (!isVia(via)) {
            throw new IllegalArgumentException(via + " is not a 4via6 address");
        }
        return via.low() >>> 32;
    }

    /** The 4via6 address for {@code v4} in site {@code siteId}. */
    public static IpAddress mapVia(long siteId, IpAddress v4) {
        if (siteId < 0 || siteId > MAX_VIA_SITE_ID) {
            throw new IllegalArgumentException("4via6 site ID " + siteId + " out of range 0-" + MAX_VIA_SITE_ID);
        }
        if (!v4.v4()) {
            throw new IllegalArgumentException(v4 + " is not IPv4");
        }
        return IpAddress.ofV6(VIA_RANGE.address().high(), (siteId << 32) | (v4.v4Bits() & 0xffffffffL));
    }
}
