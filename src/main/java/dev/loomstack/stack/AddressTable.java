package dev.loomstack.stack;

import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.IpPrefix;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The NIC's addresses (Tailscale's {@code AddProtocolAddress}/{@code RemoveAddress}). Writers copy
 * on write under a lock; the hot path looks an address up in the packet's own bytes through an
 * immutable open-addressing snapshot, allocating nothing.
 */
public final class AddressTable {
    private final ReentrantLock lock = new ReentrantLock();
    private volatile Snapshot snapshot = Snapshot.of(List.of());

    private record Snapshot(List<IpPrefix> prefixes, IpAddress[] slots, int mask) {
        static Snapshot of(List<IpPrefix> prefixes) {
            int size = Integer.highestOneBit(Math.max(4, prefixes.size() * 2 - 1)) << 1;
            IpAddress[] slots = new IpAddress[size];
            int mask = size - 1;
            for (IpPrefix p : prefixes) {
                int i = mix(TransportEndpointId.addressHash(p.address())) & mask;
                while (slots[i] != null) {
                    i = (i + 1) & mask;
                }
                slots[i] = p.address();
            }
            return new Snapshot(List.copyOf(prefixes), slots, mask);
        }
    }

    private static int mix(int h) {
        h *= 0x9e3779b9;
        return h ^ (h >>> 16);
    }

    /** Adds an address; false when it is already present. */
    public boolean add(IpPrefix prefix) {
        lock.lock();
        try {
            Snapshot s = snapshot;
            for (IpPrefix p : s.prefixes) {
                if (p.address().equals(prefix.address())) {
                    return false;
                }
            }
            List<IpPrefix> next = new ArrayList<>(s.prefixes);
            next.add(prefix);
            snapshot = Snapshot.of(next);
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** Removes the address of {@code prefix}; false when it was not present. */
    public boolean remove(IpPrefix prefix) {
        lock.lock();
        try {
            Snapshot s = snapshot;
            List<IpPrefix> next = new ArrayList<>(s.prefixes);
            if (!next.removeIf(p -> p.address().equals(prefix.address()))) {
                return false;
            }
            snapshot = Snapshot.of(next);
            return true;
        } finally {
            lock.unlock();
        }
    }

    public boolean contains(IpAddress a) {
        Snapshot s = snapshot;
        int i = mix(TransportEndpointId.addressHash(a)) & s.mask;
        IpAddress x;
        while ((x = s.slots[i]) != null) {
            if (x.equals(a)) {
                return true;
            }
            i = (i + 1) & s.mask;
        }
        return false;
    }

    /** Whether the {@code len}-byte address at {@code off} is one of ours; allocation-free. */
    public boolean contains(byte[] b, int off, int len) {
        Snapshot s = snapshot;
        int i = mix(TransportEndpointId.addressHash(b, off, len)) & s.mask;
        IpAddress x;
        while ((x = s.slots[i]) != null) {
            if (x.equalsAt(b, off, len)) {
                return true;
            }
            i = (i + 1) & s.mask;
        }
        return false;
    }

    /** The addresses as they were added, with their prefix lengths. */
    public List<IpPrefix> prefixes() {
        return snapshot.prefixes;
    }
}
