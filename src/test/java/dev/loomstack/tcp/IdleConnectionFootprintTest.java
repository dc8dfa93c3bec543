package dev.loomstack.tcp;

import static dev.loomstack.packet.TcpHeader.ACK;
import static dev.loomstack.packet.TcpHeader.SYN;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.tcp.TcpPeer.Seg;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * An idle established connection holds no buffers: its footprint is the endpoint's own fields,
 * its timers and its table entry. The README quotes the figure this test prints.
 */
class IdleConnectionFootprintTest {
    static final int CONNECTIONS = 10_000;
    /** The bound a subnet router with tens of thousands of idle flows can live with. */
    static final long MAX_BYTES_PER_CONNECTION = 4096;

    private static long usedHeap(MemoryMXBean memory) {
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return memory.getHeapMemoryUsage().getUsed();
    }

    @Test
    void idleConnectionsStaySmall() throws Exception {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        try (TcpPeer p = new TcpPeer()) {
            TcpListener l = p.tcp.listen(TcpPeer.LOCAL, 80, CONNECTIONS);
            List<TcpEndpoint> held = new ArrayList<>(CONNECTIONS);
            // Warm up code paths and pools so the measurement sees connections only.
            open(p, l, held, 20000, 100);
            held.forEach(TcpEndpoint::abort);
            held.clear();
            p.take();
            long before = usedHeap(memory);
            open(p, l, held, 30000, CONNECTIONS);
            p.take();
            long after = usedHeap(memory);
            assertEquals(CONNECTIONS, held.size());
            assertTrue(held.stream().allMatch(e -> e.state() == TcpState.ESTABLISHED));
            long perConnection = (after - before) / CONNECTIONS;
            System.out.printf("idle established connection: %d bytes of heap each (%d connections)%n",
                    perConnection, CONNECTIONS);
            assertTrue(perConnection < MAX_BYTES_PER_CONNECTION, perConnection + " bytes per idle connection");
            p.advance(Duration.ofSeconds(1));
        }
    }

    private static void open(TcpPeer p, TcpListener l, List<TcpEndpoint> held, int firstPort, int n) throws Exception {
        for (int i = 0; i < n; i++) {
            int port = firstPort + i;
            p.send(port, 80, 1000, 0, SYN, 65535, TcpPeer.synOptions(1460, 7, true, 0), new byte[0]);
            Seg synAck = p.take().getLast();
            p.send(port, 80, 1001, synAck.seq() + 1, ACK, 65535, new byte[0]);
            held.add(l.accept(Duration.ofSeconds(1).toNanos()));
        }
    }
}
