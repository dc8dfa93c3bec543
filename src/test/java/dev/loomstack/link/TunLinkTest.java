package dev.loomstack.link;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.packet.Bytes;
import dev.loomstack.packet.Checksum;
import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.Ipv4Header;
import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.testing.Await;
import dev.loomstack.testing.Cmd;
import dev.loomstack.testing.NetNs;
import dev.loomstack.testing.Privileges;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class TunLinkTest {
    private final PacketBufferPool pool = PacketBufferPool.forMtu(1500, 64);

    @BeforeEach
    void needsRoot() {
        Privileges.assumeRootAndTun();
    }

    @Test
    void kernelPingCrossesTheDeviceBothWays() {
        String dev = NetNs.uniqueDeviceName("lstun");
        AtomicInteger echoRequests = new AtomicInteger();
        try (NetNs ns = NetNs.create(); TunLink link = TunLink.open(dev, 1400, pool)) {
            TunLink[] self = {link};
            boolean[] handOff = {false};
            java.util.concurrent.ArrayBlockingQueue<PacketBuffer> handed = new java.util.concurrent.ArrayBlockingQueue<>(64);
            link.start(p -> {
                byte[] a = p.array();
                int o = p.start();
                // IPv4 ICMP echo request to 100.64.0.1: answer it by swapping addresses and type.
                if ((a[o] >>> 4) == 4 && a[o + 9] == 1 && a[o + 20] == 8
                        && Bytes.u32(a, o + 16) == 0x64400001L) {
                    echoRequests.incrementAndGet();
                    PacketBuffer r = copyWithAddressesSwapped(p, pool);
                    int len = r.length();
                    int at = r.start();
                    byte[] b = r.array();
                    b[at + 20] = 0;
                    Bytes.put16(b, at + 22, 0);
                    Bytes.put16(b, at + 22, Checksum.compute(b, at + 20, len - 20));
                    self[0].writePacket(r);
                }
            });
            String show = Cmd.run("ip", "-o", "link", "show", dev).check().output();
            assertTrue(show.contains("mtu 1400"), show);
            assertTrue(show.contains(",UP"), show);
            // Moving a device to another namespace takes it down; the descriptor keeps working.
            ns.adopt(dev);
            ns.exec("ip", "link", "set", dev, "up").check();
            ns.exec("ip", "addr", "add", "100.64.0.2/32", "dev", dev).check();
            ns.exec("ip", "route", "add", "100.64.0.0/10", "dev", dev).check();

            Cmd.Result ping = ns.exec(20, "ping", "-c", "2", "-W", "2", "100.64.0.1");
            assertTrue(ping.ok(), ping.output());
            assertTrue(echoRequests.get() >= 2);
            assertTrue(link.stats().packetsWritten.sum() >= 2);

            link.close();
            Await.until(Duration.ofSeconds(5), "device removed after close",
                    () -> !ns.exec("ip", "link", "show", dev).ok());
        }
    }

    @Test
    void closeRemovesTheDeviceAndIsIdempotent() {
        String dev = NetNs.uniqueDeviceName("lstun");
        TunLink link = TunLink.open(dev, 1280, pool);
        link.start(p -> {});
        assertTrue(Cmd.run("ip", "link", "show", dev).ok());
        link.close();
        link.close();
        assertFalse(Cmd.run("ip", "link", "show", dev).ok());
        assertFalse(link.writePacket(pool.acquire()), "a closed link refuses writes");
    }

    @Test
    void aDeletedDeviceEndsTheReaderWithOneLogLine() {
        String dev = NetNs.uniqueDeviceName("lstun");
        assertDeviceLossIsHandled(dev, () -> Cmd.run("ip", "link", "del", dev).check());
    }

    @Test
    void aDeletedNamespaceHoldingTheDeviceEndsTheReaderWithOneLogLine() {
        String dev = NetNs.uniqueDeviceName("lstun");
        NetNs ns = NetNs.create();
        try {
            assertDeviceLossIsHandled(dev, () -> {
                ns.adopt(dev);
                // Deleting a namespace deletes the virtual devices in it (it does not hand them back).
                ns.close();
            });
        } finally {
            ns.close();
        }
    }

    /**
     * Runs a reader on a fresh device, takes the device away, and checks the kernel's answer
     * (POLLERR, then EBADFD on read) ends the reader after one log line instead of a spin, and
     * that the loss is reported once, to listeners registered before and after it.
     */
    private void assertDeviceLossIsHandled(String dev, Runnable loseTheDevice) {
        Logger julLogger = Logger.getLogger(TunLink.class.getName());
        AtomicInteger logLines = new AtomicInteger();
        Handler counting = new Handler() {
            @Override
            public void publish(LogRecord r) {
                logLines.incrementAndGet();
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        boolean parents = julLogger.getUseParentHandlers();
        julLogger.addHandler(counting);
        // A spinning reader would flood the console: counted here, not printed.
        julLogger.setUseParentHandlers(false);
        List<String> told = new CopyOnWriteArrayList<>();
        try (TunLink link = TunLink.open(dev, 1280, pool)) {
            link.onLoss(told::add);
            link.start(p -> {});
            Thread reader = readerOf(dev);
            assertFalse(link.isLost());
            loseTheDevice.run();
            Await.until(Duration.ofSeconds(5), "the reader of a lost device ends", () -> !reader.isAlive());
            assertTrue(link.isLost());
            assertEquals(1, told.size(), "told once: " + told);
            assertTrue(told.get(0).contains(dev) && told.get(0).contains("descriptor in bad state"), told.get(0));
            link.onLoss(told::add);
            assertEquals(2, told.size(), "a listener registered after the loss is told at once");
            assertTrue(logLines.get() <= 2, logLines.get() + " log lines for one lost device");
            assertTrue(link.stats().readErrors.sum() <= 2, link.stats().readErrors.sum() + " read errors counted");
            assertFalse(link.writePacket(pool.acquire()), "a lost link refuses writes");
        } finally {
            julLogger.removeHandler(counting);
            julLogger.setUseParentHandlers(parents);
        }
    }

    /**
     * After warm-up, reading and writing packets allocates nothing on the link's threads: the
     * native calls take the packet arrays as they are, the queue has no nodes, and the vnet header
     * is written in place. A kernel client sends UDP datagrams one at a time and waits for each
     * echo, made from pooled buffers; measured with the JVM's per-thread allocation counter over the
     * last of three rounds in each of two ways: the reader writing its echoes itself, and another
     * platform thread handing them to the link's writer.
     */
    @Test
    void readingAndWritingAllocateNothingPerPacketAfterWarmUp() {
        String dev = NetNs.uniqueDeviceName("lsalloc");
        int batch = 20_000;
        PacketBufferPool writes = PacketBufferPool.forMtu(1280, 256);
        try (NetNs ns = NetNs.create(); TunLink link = TunLink.open(dev, 1280, writes, true)) {
            TunLink[] self = {link};
            boolean[] handOff = {false};
            java.util.concurrent.ArrayBlockingQueue<PacketBuffer> handed = new java.util.concurrent.ArrayBlockingQueue<>(64);
            link.start(p -> {
                byte[] a = p.array();
                int o = p.start();
                if ((a[o] >>> 4) != 4 || a[o + 9] != 17) {
                    return;
                }
                // Echo: the same datagram with addresses and ports swapped and no UDP checksum (RFC 768).
                PacketBuffer r = copyWithAddressesSwapped(p, writes);
                int at = r.start();
                byte[] b = r.array();
                System.arraycopy(a, o + 22, b, at + 20, 2);
                System.arraycopy(a, o + 20, b, at + 22, 2);
                Bytes.put16(b, at + 26, 0);
                if (handOff[0]) {
                    handed.offer(r);
                } else {
                    self[0].writePacket(r);
                }
            });
            // Takes echoes without blocking on a lock (a blocked take would allocate its wait node).
            Thread producer = Thread.ofPlatform().daemon().name(dev + "-echo").start(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    PacketBuffer r = handed.poll();
                    if (r == null) {
                        java.util.concurrent.locks.LockSupport.parkNanos(10_000);
                    } else {
                        self[0].writePacket(r);
                    }
                }
            });
            ns.adoptAsTailnetClient(dev);
            Thread reader = readerOf(dev);
            Thread writer = threadNamed(dev + "-write");
            com.sun.management.ThreadMXBean threads =
                    (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
            String pingPong = """
                    import socket
                    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    s.bind(("100.64.0.2", 0))
                    s.settimeout(5)
                    ok = 0
                    for i in range(%d):
                        s.sendto(b"x" * 100, ("100.64.0.1", 9))
                        try:
                            ok += len(s.recv(2048)) == 100
                        except socket.timeout:
                            pass
                    print(ok)
                    """.formatted(batch);
            long[] direct = new long[3];
            long[] handedOff = new long[3];
            try {
                for (int round = 0; round < 6; round++) {
                    handOff[0] = round >= 3;
                    long readerBefore = threads.getThreadAllocatedBytes(reader.threadId());
                    long writerBefore = threads.getThreadAllocatedBytes(writer.threadId());
                    long producerBefore = threads.getThreadAllocatedBytes(producer.threadId());
                    long began = System.nanoTime();
                    Cmd.Result r = ns.exec(120, "python3", "-c", pingPong);
                    long micros = (System.nanoTime() - began) / 1000;
                    assertEquals(String.valueOf(batch), r.output().strip(), "every datagram echoed");
                    long[] allocated = handOff[0] ? handedOff : direct;
                    allocated[0] = threads.getThreadAllocatedBytes(reader.threadId()) - readerBefore;
                    allocated[1] = threads.getThreadAllocatedBytes(writer.threadId()) - writerBefore;
                    allocated[2] = threads.getThreadAllocatedBytes(producer.threadId()) - producerBefore;
                    System.out.printf("round %d (%s), %d packets each way: reader allocated %d bytes, writer %d,"
                            + " echo producer %d; %.1f us per echo (python included)%n", round,
                            handOff[0] ? "handed to the writer" : "the reader writes", batch, allocated[0],
                            allocated[1], allocated[2], (double) micros / batch);
                }
            } finally {
                producer.interrupt();
            }
            // Less than a byte per packet: something incidental at most, never something per packet.
            assertTrue(direct[0] < batch, "reader writing itself allocated " + direct[0] + " bytes for " + batch);
            assertTrue(handedOff[0] < batch, "reader allocated " + handedOff[0] + " bytes for " + batch);
            assertTrue(handedOff[1] < batch, "writer allocated " + handedOff[1] + " bytes for " + batch);
            assertTrue(handedOff[2] < batch, "writePacket from another thread allocated " + handedOff[2] + " bytes for " + batch);
        }
    }

    private static Thread threadNamed(String name) {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no thread " + name));
    }

    private static Thread readerOf(String dev) {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().equals(dev + "-read")).findFirst()
                .orElseThrow(() -> new AssertionError("no reader thread for " + dev));
    }

    @Test
    void onlyADetachedOrMissingDeviceCountsAsLost() {
        for (int gone : new int[] {LibC.EBADFD, LibC.EBADF, LibC.ENODEV, LibC.ENXIO}) {
            assertTrue(TunLink.deviceGone(gone), LibC.describe(gone));
        }
        // Transient (would block, interrupted) or recoverable (EIO: the device is down, not gone).
        for (int errno : new int[] {LibC.EAGAIN, LibC.EINTR, 5, LibC.EPERM}) {
            assertFalse(TunLink.deviceGone(errno), LibC.describe(errno));
        }
    }

    @Test
    void badNamesAreRefusedClearly() {
        var e = assertThrows(IllegalArgumentException.class, () -> TunLink.open("a-name-far-too-long", 1280, pool));
        assertTrue(e.getMessage().contains("1-15 characters"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> TunLink.open("ok", 20, pool));
    }

    @Test
    void busyNameGivesOneClearLine() {
        String dev = NetNs.uniqueDeviceName("lstun");
        try (TunLink first = TunLink.open(dev, 1280, pool)) {
            var e = assertThrows(LinkUnavailableException.class, () -> TunLink.open(dev, 1280, pool));
            assertTrue(e.getMessage().contains(dev), e.getMessage());
            assertFalse(e.getMessage().contains("\n"));
            assertEquals(0, e.getStackTrace().length, "a cause to log, not a stack trace");
        }
    }

    /** A copy of the IPv4 packet {@code p} from {@code pool}, source and destination swapped, header checksum redone. */
    private static PacketBuffer copyWithAddressesSwapped(PacketBuffer p, PacketBufferPool pool) {
        byte[] a = p.array();
        int o = p.start();
        int len = p.length();
        PacketBuffer r = pool.acquire();
        int at = r.append(len);
        byte[] b = r.array();
        System.arraycopy(a, o, b, at, len);
        System.arraycopy(a, o + 16, b, at + 12, 4);
        System.arraycopy(a, o + 12, b, at + 16, 4);
        Bytes.put16(b, at + 10, 0);
        Bytes.put16(b, at + 10, Checksum.compute(b, at, 20));
        return r;
    }
}
