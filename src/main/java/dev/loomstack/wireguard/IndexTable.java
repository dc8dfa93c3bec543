package dev.loomstack.wireguard;

import java.security.SecureRandom;
import java.util.HashMap;
import java.util.Map;

/**
 * The receiver indices this node handed out (paper section 5.4.1: each side picks a random 32-bit
 * index for its half of a handshake, and transport messages name the receiver's): to the pending
 * handshake or the keypair it stands for. Indices are drawn at random and unique among those in
 * use, so they say nothing about how many sessions exist.
 *
 * <p>Lookups (one per received transport packet) read an immutable open-addressing snapshot
 * through a volatile reference and allocate nothing. Changes happen per handshake, on the
 * handshake thread or a configuration change, and rebuild the snapshot under the lock. At most
 * {@link ProtocolLimits#MAX_INDICES} indices are held.
 */
final class IndexTable {
    /** What an index stands for: a handshake this node initiated, or a keypair. */
    interface Entry {
        Peer peer();
    }

    private record Snapshot(int[] keys, Entry[] values, int mask) {
        Entry get(int index) {
            int i = mix(index) & mask;
            Entry e;
            while ((e = values[i]) != null) {
                if (keys[i] == index) {
                    return e;
                }
                i = (i + 1) & mask;
            }
            return null;
        }
    }

    private final SecureRandom random = new SecureRandom();
    private final int limit;
    /** Guarded by {@code this}. */
    private final Map<Integer, Entry> entries = new HashMap<>();
    private volatile Snapshot snapshot = new Snapshot(new int[2], new Entry[2], 1);

    IndexTable() {
        this(ProtocolLimits.MAX_INDICES);
    }

    IndexTable(int limit) {
        this.limit = limit;
    }

    /**
     * A fresh random index for {@code entry}.
     *
     * @throws IllegalStateException when the table holds its limit
     */
    synchronized int add(Entry entry) {
        if (entries.size() >= limit) {
            throw new IllegalStateException("index table full (" + limit + " indices)");
        }
        int index;
        do {
            index = random.nextInt();
        } while (entries.containsKey(index));
        entries.put(index, entry);
        rebuild();
        return index;
    }

    /** Points {@code index} at {@code replacement} if it still stands for {@code expected}. */
    synchronized boolean replace(int index, Entry expected, Entry replacement) {
        if (entries.get(index) != expected) {
            return false;
        }
        entries.put(index, replacement);
        rebuild();
        return true;
    }

    /** Frees {@code index} if it still stands for {@code expected}. */
    synchronized void remove(int index, Entry expected) {
        if (entries.remove(index, expected)) {
            rebuild();
        }
    }

    Entry get(int index) {
        return snapshot.get(index);
    }

    synchronized int size() {
        return entries.size();
    }

    private void rebuild() {
        int capacity = Integer.highestOneBit(Math.max(2, entries.size() * 2 + 1)) << 1;
        int[] keys = new int[capacity];
        Entry[] values = new Entry[capacity];
        int mask = capacity - 1;
        entries.forEach((index, entry) -> {
            int i = mix(index) & mask;
            while (values[i] != null) {
                i = (i + 1) & mask;
            }
            keys[i] = index;
            values[i] = entry;
        });
        snapshot = new Snapshot(keys, values, mask);
    }

    private static int mix(int index) {
        int h = index * 0x9e3779b9;
        return h ^ (h >>> 16);
    }
}
