package dev.loomstack.wireguard;

import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.IpPrefix;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Cryptokey routing's table (paper section 2): IPv4 and IPv6 prefixes, each belonging to one peer;
 * the peer of an address is the one whose prefix containing it is the longest. Outbound, the
 * destination picks the peer to encrypt for; inbound, a decrypted packet's source must map back
 * to the peer that sent it.
 *
 * <p>A prefix belongs to one peer at a time: giving it to another moves it, as {@code wg set}
 * does. Lookups read an immutable binary trie per family through a volatile reference and
 * allocate nothing; a change (a netmap update, rare) rebuilds both tries under the lock.
 */
final class AllowedIps<P> {
    private static final class Node {
        Node zero;
        Node one;
        Object owner;
    }

    /** Prefixes (masked) to their peers; guarded by {@code this}. */
    private final Map<IpPrefix, P> table = new HashMap<>();
    private volatile Node v4 = new Node();
    private volatile Node v6 = new Node();

    /** Gives {@code peer} exactly {@code prefixes} (its former ones go, unless named again). */
    synchronized void set(P peer, List<IpPrefix> prefixes) {
        table.values().removeIf(p -> p == peer);
        for (IpPrefix prefix : prefixes) {
            table.put(prefix.masked(), peer);
        }
        rebuild();
    }

    /**
     * Replaces the whole table at once (a new configuration): each peer gets its prefixes, in
     * order, a prefix named twice going to the later peer. One rebuild, however many peers.
     */
    synchronized void replaceAll(List<Map.Entry<P, List<IpPrefix>>> peers) {
        table.clear();
        for (Map.Entry<P, List<IpPrefix>> e : peers) {
            for (IpPrefix prefix : e.getValue()) {
                table.put(prefix.masked(), e.getKey());
            }
        }
        rebuild();
    }

    synchronized void removePeer(P peer) {
        if (table.values().removeIf(p -> p == peer)) {
            rebuild();
        }
    }

    synchronized List<IpPrefix> prefixesOf(P peer) {
        List<IpPrefix> out = new ArrayList<>();
        table.forEach((prefix, p) -> {
            if (p == peer) {
                out.add(prefix);
            }
        });
        out.sort(null);
        return out;
    }

    private void rebuild() {
        Node root4 = new Node();
        Node root6 = new Node();
        table.forEach((prefix, peer) -> {
            IpAddress a = prefix.address();
            Node n = a.v4() ? root4 : root6;
            for (int i = 0; i < prefix.bits(); i++) {
                if (a.bit(i)) {
                    n = n.one != null ? n.one : (n.one = new Node());
                } else {
                    n = n.zero != null ? n.zero : (n.zero = new Node());
                }
            }
            n.owner = peer;
        });
        v4 = root4;
        v6 = root6;
    }

    P lookup(IpAddress a) {
        return a.v4() ? walk(v4, 0, a.low() << 32, 32) : walk(v6, a.high(), a.low(), 128);
    }

    /** The peer of the IPv4 address at {@code a[off..off+4)}, or null. */
    P lookupV4(byte[] a, int off) {
        long bits = ((a[off] & 0xffL) << 56) | ((a[off + 1] & 0xffL) << 48) | ((a[off + 2] & 0xffL) << 40)
                | ((a[off + 3] & 0xffL) << 32);
        return walk(v4, 0, bits, 32);
    }

    /** The peer of the IPv6 address at {@code a[off..off+16)}, or null. */
    P lookupV6(byte[] a, int off) {
        return walk(v6, bigEndian64(a, off), bigEndian64(a, off + 8), 128);
    }

    /**
     * Walks from the root along the address's bits, most significant first, remembering the last
     * owner passed: the longest matching prefix. For IPv4 the 32 bits sit at the top of {@code low}.
     */
    @SuppressWarnings("unchecked")
    private P walk(Node root, long high, long low, int length) {
        Node n = root;
        Object best = n.owner;
        for (int i = 0; i < length; i++) {
            boolean bit;
            if (length == 32) {
                bit = (low << i) < 0;
            } else {
                bit = i < 64 ? (high << i) < 0 : (low << (i - 64)) < 0;
            }
            n = bit ? n.one : n.zero;
            if (n == null) {
                break;
            }
            if (n.owner != null) {
                best = n.owner;
            }
        }
        return (P) best;
    }

    private static long bigEndian64(byte[] a, int off) {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = (v << 8) | (a[off + i] & 0xffL);
        }
        return v;
    }
}
