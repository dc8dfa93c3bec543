package dev.loomstack.link;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.testing.Await;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class MemoryLinkTest {
    private final PacketBufferPool pool = PacketBufferPool.forMtu(1500, 64);

    private PacketBuffer packet(int i) {
        PacketBuffer b = pool.acquire();
        b.array()[b.append(4)] = (byte) i;
        return b;
    }

    @Test
    void deliversInOrderToThePeer() {
        try (MemoryLink.Pair p = MemoryLink.pair(1500)) {
            List<Integer> got = new CopyOnWriteArrayList<>();
            p.b().start(b -> got.add((int) b.array()[b.start()]));
            p.a().start(b -> {});
            for (int i = 0; i < 100; i++) {
                assertTrue(p.a().writePacket(packet(i)));
            }
            Await.until(Duration.ofSeconds(5), "100 packets", () -> got.size() == 100);
            for (int i = 0; i < 100; i++) {
                assertEquals((byte) i, got.get(i).byteValue());
            }
        }
    }

    @Test
    void aFullQueueBlocksTheWriter() throws Exception {
        try (MemoryLink.Pair p = MemoryLink.pair(1500, 4)) {
            CountDownLatch gate = new CountDownLatch(1);
            AtomicInteger delivered = new AtomicInteger();
            p.b().start(b -> {
                try {
                    gate.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                delivered.incrementAndGet();
            });
            AtomicInteger written = new AtomicInteger();
            Thread writer = Thread.ofVirtual().start(() -> {
                for (int i = 0; i < 20; i++) {
                    p.a().writePacket(packet(i));
                    written.incrementAndGet();
                }
            });
            // One packet is held by the blocked dispatcher, four fill the queue: the writer must stall.
            Await.until(Duration.ofSeconds(5), "queue filled", () -> written.get() >= 5);
            assertFalse(writer.join(Duration.ofMillis(300)), "writer must block while the queue is full");
            assertTrue(written.get() <= 6, "written " + written.get());
            gate.countDown();
            assertTrue(writer.join(Duration.ofSeconds(5)));
            Await.until(Duration.ofSeconds(5), "all delivered", () -> delivered.get() == 20);
        }
    }

    @Test
    void oversizedPacketsAreDroppedAndCounted() {
        try (MemoryLink.Pair p = MemoryLink.pair(100)) {
            PacketBuffer big = pool.acquire();
            big.append(200);
            assertFalse(p.a().writePacket(big));
            assertEquals(1, p.a().stats().dropped.sum());
        }
    }
}
