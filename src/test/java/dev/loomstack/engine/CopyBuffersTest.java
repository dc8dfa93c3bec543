package dev.loomstack.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Copy buffers are reused, bounded by their budget, and only a few idle ones are kept. */
class CopyBuffersTest {
    @Test
    void aGivenBackBufferIsTakenAgain() {
        CopyBuffers pool = new CopyBuffers(4);
        byte[] b = pool.take();
        assertEquals(CopyBuffers.BUFFER_SIZE, b.length);
        assertEquals(1, pool.inUse());
        pool.give(b);
        assertEquals(0, pool.inUse());
        assertEquals(1, pool.idle());
        assertSame(b, pool.take());
    }

    @Test
    void pastTheBudgetSmallUnpooledBuffersAreLent() {
        CopyBuffers pool = new CopyBuffers(2);
        byte[] a = pool.take();
        byte[] b = pool.take();
        byte[] over = pool.take();
        assertEquals(CopyBuffers.OVER_BUDGET_SIZE, over.length);
        assertEquals(2, pool.inUse());
        pool.give(over);
        assertEquals(2, pool.inUse(), "an unpooled buffer is not counted back");
        pool.give(a);
        pool.give(b);
        assertEquals(0, pool.inUse());
    }

    @Test
    void atMostMaxIdleAreKept() {
        CopyBuffers pool = new CopyBuffers(CopyBuffers.MAX_IDLE * 2);
        List<byte[]> taken = new ArrayList<>();
        for (int i = 0; i < CopyBuffers.MAX_IDLE * 2; i++) {
            taken.add(pool.take());
        }
        taken.forEach(pool::give);
        assertEquals(0, pool.inUse());
        assertEquals(CopyBuffers.MAX_IDLE, pool.idle());
    }

    @Test
    void theBudgetFollowsTheHeap() {
        assertEquals(512, CopyBuffers.forHeap(256L << 20).budget(), "an eighth of 256 MiB in 64 KiB buffers");
        assertEquals(CopyBuffers.MIN_BUDGET, CopyBuffers.forHeap(1L << 20).budget());
    }
}
