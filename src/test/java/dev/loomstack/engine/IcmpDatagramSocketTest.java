package dev.loomstack.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.packet.IpAddress;
import dev.loomstack.testing.Privileges;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The unprivileged ICMP socket the ping relay prefers, polled by {@link EchoPoller}. The kernel
 * allows it only to groups inside {@code net.ipv4.ping_group_range}; the test opens the range for
 * the duration and restores it.
 */
class IcmpDatagramSocketTest {
    static final Path RANGE = Path.of("/proc/sys/net/ipv4/ping_group_range");

    @Test
    void pingsLoopbackWhenTheKernelAllowsAndIsRefusedOtherwise() throws Exception {
        Privileges.assumeRootAndTun();
        String saved = Files.readString(RANGE).strip();
        try (EchoPoller poller = new EchoPoller("test-ping", Duration.ofSeconds(3))) {
            Files.writeString(RANGE, "1 0");
            assertThrows(IOException.class, () -> IcmpDatagramSocket.open(IpAddress.parse("127.0.0.1")),
                    "closed range: the relay must fall back to the ping command");
            Files.writeString(RANGE, "0 0");
            assertTrue(poller.ping(IpAddress.parse("127.0.0.1")).get(5, TimeUnit.SECONDS), "loopback answers");
            assertTrue(poller.ping(IpAddress.parse("::1")).get(5, TimeUnit.SECONDS), "IPv6 loopback answers");
        } finally {
            Files.writeString(RANGE, saved.replace('\t', ' '));
        }
    }

    @Test
    void aClosedPollerLeavesNoThreadAndAnswersNothing() throws Exception {
        Privileges.assumeRootAndTun();
        EchoPoller poller = new EchoPoller("test-ping-closed", Duration.ofSeconds(3));
        poller.close();
        poller.close();
        assertFalse(poller.ping(IpAddress.parse("127.0.0.1")).get(1, TimeUnit.SECONDS),
                "a closed poller answers nothing");
        assertEquals(0, Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().equals("test-ping-closed")).count(), "its thread has ended");
    }
}
