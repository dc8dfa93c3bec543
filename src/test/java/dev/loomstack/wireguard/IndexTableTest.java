package dev.loomstack.wireguard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class IndexTableTest {
    private static IndexTable.Entry entry() {
        return new PendingHandshake(null);
    }

    @Test
    void indicesAreUniqueRandomAndFoundUntilRemoved() {
        IndexTable t = new IndexTable();
        Map<Integer, IndexTable.Entry> made = new HashMap<>();
        for (int i = 0; i < 5000; i++) {
            IndexTable.Entry e = entry();
            int index = t.add(e);
            assertNull(made.put(index, e), "index " + index + " handed out twice");
        }
        assertEquals(5000, t.size());
        made.forEach((index, e) -> assertSame(e, t.get(index)));
        // Random, not sequential: far more distinct high bytes than a counter would give.
        Set<Integer> highBytes = new HashSet<>();
        made.keySet().forEach(i -> highBytes.add(i >>> 24));
        assertTrue(highBytes.size() > 200, highBytes.size() + " distinct high bytes");
        made.forEach((index, e) -> {
            t.remove(index, e);
            assertNull(t.get(index));
        });
        assertEquals(0, t.size());
    }

    @Test
    void removeAndReplaceActOnlyOnTheExpectedEntry() {
        IndexTable t = new IndexTable();
        IndexTable.Entry a = entry();
        IndexTable.Entry b = entry();
        int index = t.add(a);
        t.remove(index, b);
        assertSame(a, t.get(index), "another entry's removal leaves it");
        assertFalse(t.replace(index, b, b));
        assertTrue(t.replace(index, a, b));
        assertSame(b, t.get(index));
        assertNull(t.get(index + 1));
    }

    @Test
    void theTableIsBounded() {
        IndexTable t = new IndexTable(3);
        t.add(entry());
        t.add(entry());
        t.add(entry());
        assertThrows(IllegalStateException.class, () -> t.add(entry()));
    }
}
