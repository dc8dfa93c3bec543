package dev.loomstack.engine;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.packet.IpAddress;
import dev.loomstack.testing.Privileges;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The unprivileged ICMP socket the ping relay prefers. The kernel allows it only to groups inside
 * {@code net.ipv4.ping_group_range}; the test opens the range for the duration and restores it.
 */
class IcmpDatagramSocketTest {
    static final Path RANGE = Path.of("/proc/sys/net/ipv4/ping_group_range");

    @Test
    void pingsLoopbackWhenTheKernelAllowsAndIsRefusedOtherwise() throws Exception {
        Privileges.assumeRootAndTun();
        String saved = Files.readString(RANGE).strip();
        try {
            Files.writeString(RANGE, "1 0");
            assertThrows(IOException.class, () -> IcmpDatagramSocket.open(IpAddress.parse("127.0.0.1")),
                    "closed range: the relay must fall back to the ping command");
            Files.writeString(RANGE, "0 0");
            try (IcmpDatagramSocket s = IcmpDatagramSocket.open(IpAddress.parse("127.0.0.1"))) {
                assertTrue(s.ping(1, 3000), "loopback answers");
            }
            try (IcmpDatagramSocket s = IcmpDatagramSocket.open(IpAddress.parse("::1"))) {
                assertTrue(s.ping(2, 3000), "IPv6 loopback answers");
            }
        } finally {
            Files.writeString(RANGE, saved.replace('\t', ' '));
        }
    }
}
