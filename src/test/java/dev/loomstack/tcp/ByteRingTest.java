package dev.loomstack.tcp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Out-of-order bytes stored past the readable ones survive reads, wrap-around and growth. */
class ByteRingTest {
    private static byte[] pattern(int from, int len) {
        byte[] b = new byte[len];
        for (int i = 0; i < len; i++) {
            b[i] = (byte) ((from + i) * 13 + ((from + i) >>> 8));
        }
        return b;
    }

    @Test
    void storedBytesBecomeReadableWhenTheGapFills() {
        int capacity = 256 << 10;
        ByteRing ring = new ByteRing(capacity);
        // Readable 0..1000, a hole at 1000..1500, 1500..3000 stored, and a far piece past the first allocation.
        ring.write(pattern(0, 1000), 0, 1000);
        ring.store(1500, pattern(1500, 1500), 0, 1500);
        ring.store(100_000, pattern(100_000, 2000), 0, 2000);
        assertEquals(1000, ring.size());
        assertEquals(capacity - 1000, ring.free(), "stored bytes lie inside the free space, the window");

        // Reading everything readable must not drop the stored bytes.
        byte[] got = new byte[1000];
        assertEquals(1000, ring.read(got, 0, 1000));
        assertArrayEquals(pattern(0, 1000), got);
        assertEquals(0, ring.size());
        ring.write(pattern(1000, 500), 0, 500);
        ring.commit(1500);
        got = new byte[2000];
        assertEquals(2000, ring.read(got, 0, 2000));
        assertArrayEquals(pattern(1000, 2000), got);

        // The far piece is 100_000 - 3000 = 97_000 past the head now.
        ring.write(pattern(3000, 97_000), 0, 97_000);
        ring.commit(2000);
        got = new byte[99_000];
        assertEquals(99_000, ring.read(got, 0, got.length));
        assertArrayEquals(pattern(3000, 99_000), got);
        assertEquals(0, ring.allocated(), "an empty ring with nothing stored holds no buffer");
    }

    @Test
    void storingAcrossTheWrapPointKeepsTheBytes() {
        ByteRing ring = new ByteRing(16 << 10);
        byte[] skip = new byte[12 << 10];
        ring.write(skip, 0, skip.length);
        ring.read(skip, 0, 10 << 10);
        // Head at 10 KiB of a 16 KiB array, 2 KiB readable: storing at 4 KiB..9 KiB wraps.
        byte[] piece = pattern(7, 5 << 10);
        ring.store(4 << 10, piece, 0, piece.length);
        ring.write(pattern(0, 2 << 10), 0, 2 << 10);
        ring.commit(5 << 10);
        byte[] got = new byte[9 << 10];
        assertEquals(got.length, ring.read(got, 0, got.length));
        assertArrayEquals(piece, Arrays.copyOfRange(got, 4 << 10, 9 << 10));
    }

    @Test
    void discardingStoredBytesReleasesAnEmptyRing() {
        ByteRing ring = new ByteRing(64 << 10);
        ring.store(100, pattern(0, 10), 0, 10);
        assertEquals(16 << 10, ring.allocated());
        ring.discardStored();
        assertEquals(0, ring.allocated());
        assertThrows(IllegalStateException.class, () -> ring.commit(1), "nothing stored to commit");
        assertThrows(IllegalArgumentException.class, () -> ring.store(64 << 10, new byte[1], 0, 1),
                "past the capacity");
    }
}
