package dev.loomstack.engine;

import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.IpPrefix;
import java.util.List;

/**
 * Which IPv4 destinations a 4via6 address may never reach. A 4via6 address names a host in a
 * remote site; letting it unmap to the router's own loopback, its link-local neighbours (cloud
 * metadata at 169.254.169.254), the tailnet itself or a multicast or broadcast group would hand a
 * peer the router's host-scoped services.
 */
public final class ViaSafety {
    static final List<IpPrefix> REFUSED = List.of(
            IpPrefix.parseStrict("0.0.0.0/8"),
            IpPrefix.parseStrict("127.0.0.0/8"),
            IpPrefix.parseStrict("169.254.0.0/16"),
            TailnetAddresses.CGNAT_RANGE,
            IpPrefix.parseStrict("224.0.0.0/4"),
            IpPrefix.parseStrict("240.0.0.0/4"));

    private ViaSafety() {}

    /** True when {@code v4} (a 4via6 address unmapped) must not be dialled or pinged. */
    public static boolean refuses(IpAddress v4) {
        if (!v4.v4()) {
            return true;
        }
        for (IpPrefix p : REFUSED) {
            if (p.contains(v4)) {
                return true;
            }
        }
        return false;
    }
}
