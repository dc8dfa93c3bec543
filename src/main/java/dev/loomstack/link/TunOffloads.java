package dev.loomstack.link;

import java.util.ArrayList;
import java.util.List;

/**
 * What a TUN device and its kernel agreed to: whether every packet carries a {@code virtio_net_hdr}
 * ({@code IFF_VNET_HDR}) and which offloads {@code TUNSETOFFLOAD} accepted.
 *
 * @param vnetHeader       every packet read and written is preceded by a {@code virtio_net_hdr}
 * @param checksum         partial checksums both ways ({@code TUN_F_CSUM}): the kernel hands over
 *                         packets of local origin with their checksum left partial, and takes ours so
 * @param tcpSegmentation  TCP super-segments both ways ({@code TUN_F_TSO4 | TUN_F_TSO6})
 * @param udpSegmentation  UDP super-datagrams both ways ({@code TUN_F_USO4 | TUN_F_USO6})
 */
public record TunOffloads(boolean vnetHeader, boolean checksum, boolean tcpSegmentation, boolean udpSegmentation) {
    /** Plain packets: no header, no offload ({@code loomstack.tun.offload=false}). */
    public static final TunOffloads NONE = new TunOffloads(false, false, false, false);

    @Override
    public String toString() {
        if (!vnetHeader) {
            return "none";
        }
        List<String> on = new ArrayList<>();
        if (checksum) {
            on.add("checksum");
        }
        if (tcpSegmentation) {
            on.add("TSO4/6");
        }
        if (udpSegmentation) {
            on.add("USO4/6");
        }
        return on.isEmpty() ? "none (virtio_net_hdr kept, all zero)" : String.join(", ", on);
    }
}
