package dev.loomstack.link;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.packet.Bytes;
import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.testing.Await;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

class ImpairedLinkTest {
    private static final int N = 2000;
    private final PacketBufferPool pool = PacketBufferPool.forMtu(1500, 256);

    private List<Integer> send(Impairment imp, ImpairedLink[] out) {
        List<Integer> got = new CopyOnWriteArrayList<>();
        MemoryLink.Pair pair = MemoryLink.pair(1500, 4096);
        pair.b().start(b -> got.add(Bytes.i32(b.array(), b.start())));
        ImpairedLink link = new ImpairedLink(pair.a(), imp, pool);
        out[0] = link;
        link.start(b -> {});
        for (int i = 0; i < N; i++) {
            PacketBuffer b = pool.acquire();
            Bytes.put32(b.array(), b.append(64), i);
            link.writePacket(b);
        }
        long expected = N - link.lost.sum() + link.duplicated.sum();
        Await.until(Duration.ofSeconds(10), "delivery of " + expected, () -> got.size() == expected);
        link.close();
        pair.close();
        return got;
    }

    @Test
    void noImpairmentPassesEverythingInOrder() {
        ImpairedLink[] l = new ImpairedLink[1];
        List<Integer> got = send(Impairment.none(1), l);
        assertEquals(N, got.size());
        for (int i = 0; i < N; i++) {
            assertEquals(i, got.get(i));
        }
    }

    @Test
    void lossAndDuplicationFollowTheirProbabilitiesAndTheSeed() {
        ImpairedLink[] l = new ImpairedLink[1];
        List<Integer> first = send(Impairment.loss(0.1, 42).withDuplicate(0.05), l);
        long lost = l[0].lost.sum();
        long dup = l[0].duplicated.sum();
        assertTrue(lost > N * 0.06 && lost < N * 0.14, "lost " + lost);
        assertTrue(dup > N * 0.02 && dup < N * 0.09, "duplicated " + dup);
        List<Integer> again = send(Impairment.loss(0.1, 42).withDuplicate(0.05), l);
        assertEquals(first, again, "the same seed gives the same run");
    }

    @Test
    void reorderingLetsLaterPacketsOvertake() {
        ImpairedLink[] l = new ImpairedLink[1];
        List<Integer> got = send(Impairment.none(7).withReorder(0.05), l);
        assertEquals(N, got.size());
        assertTrue(l[0].reordered.sum() > 0);
        assertNotEquals(got.stream().sorted().toList(), got, "some packets arrive out of order");
    }

    @Test
    void corruptionFlipsBitsInCountedPackets() {
        ImpairedLink[] l = new ImpairedLink[1];
        List<Integer> got = send(Impairment.none(3).withCorrupt(1.0), l);
        // Every packet has one flipped bit somewhere in its 64 bytes; the first word often shows it.
        assertEquals(N, l[0].corrupted.sum());
        assertEquals(N, got.size());
    }

    @Test
    void probabilitiesAreValidated() {
        assertThrows(IllegalArgumentException.class, () -> Impairment.loss(1.5, 1));
        assertThrows(IllegalArgumentException.class, () -> Impairment.loss(Double.NaN, 1));
    }
}
