package dev.loomstack.engine;

import dev.loomstack.packet.IpPrefix;
import java.util.List;

/** The result of applying a netmap: the map now in force and the prefixes added to and removed from the NIC. */
public record NetmapChange(NetworkMap applied, List<IpPrefix> added, List<IpPrefix> removed) {
    public NetmapChange {
        added = List.copyOf(added);
        removed = List.copyOf(removed);
    }
}
