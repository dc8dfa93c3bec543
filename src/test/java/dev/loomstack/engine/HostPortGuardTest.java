package dev.loomstack.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Which dials the host-port guard refuses, and how current its view of the host's addresses is. */
class HostPortGuardTest {
    static final InetAddress HOST = address("198.18.1.2");
    static final InetAddress HOST_V6 = address("2001:db8:1::2");
    static final InetAddress OTHER = address("198.18.1.9");
    static final int API = 8080;

    static InetAddress address(String s) {
        try {
            return InetAddress.getByName(s);
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    /** A host whose interfaces are {@code addresses}, read through a hand-moved clock. */
    private static final class FakeHost {
        final Set<InetAddress> addresses = new HashSet<>(Set.of(HOST, HOST_V6));
        final AtomicLong now = new AtomicLong();
        final AtomicInteger reads = new AtomicInteger();
        final HostAddresses view = new HostAddresses(() -> {
            reads.incrementAndGet();
            return Set.copyOf(addresses);
        }, now::get, Duration.ofSeconds(1));
    }

    @Test
    void deniedPortsOfTheHostAreRefusedAndCountedOthersPass() {
        FakeHost host = new FakeHost();
        HostPortGuard guard = new HostPortGuard(host.view);
        guard.deny(API);
        assertTrue(guard.refusesDial(new InetSocketAddress(HOST, API)), "a host address on a denied port");
        assertTrue(guard.refusesDial(new InetSocketAddress(HOST_V6, API)), "IPv6 too");
        assertTrue(guard.refusesDial(new InetSocketAddress(address("127.0.0.1"), API)), "loopback, as own-address flows dial");
        assertTrue(guard.refusesDial(new InetSocketAddress(address("127.3.4.5"), API)), "all of 127/8");
        assertTrue(guard.refusesDial(new InetSocketAddress(address("::1"), API)));
        assertTrue(guard.refusesDial(new InetSocketAddress(address("0.0.0.0"), API)), "the kernel delivers 0.0.0.0 locally");
        assertTrue(guard.refusesDial(new InetSocketAddress(address("::ffff:198.18.1.2"), API)), "IPv4-mapped");
        assertEquals(7, guard.refused());
        assertFalse(guard.refusesDial(new InetSocketAddress(OTHER, API)), "another subnet host's port 8080 is its own");
        assertFalse(guard.refusesDial(new InetSocketAddress(HOST, 8000)), "an ordinary port of the host");
        assertEquals(7, guard.refused());
    }

    @Test
    void deniedPortsAreValidated() {
        HostPortGuard guard = new HostPortGuard(new FakeHost().view);
        assertThrows(IllegalArgumentException.class, () -> guard.deny(0));
        assertThrows(IllegalArgumentException.class, () -> guard.deny(65_536));
        guard.deny(65_535);
        guard.deny(1);
        assertEquals(Set.of(1, 65_535), guard.deniedPorts());
    }

    @Test
    void theHostsAddressesAreReReadOnceStale() {
        FakeHost host = new FakeHost();
        assertFalse(host.view.contains(OTHER));
        host.addresses.add(OTHER);
        host.now.addAndGet(Duration.ofMillis(999).toNanos());
        assertFalse(host.view.contains(OTHER), "within the cache age the old reading holds");
        assertEquals(1, host.reads.get(), "readers share one reading");
        host.now.addAndGet(Duration.ofMillis(1).toNanos());
        assertTrue(host.view.contains(OTHER), "an address the host gained is seen after at most a second");
        host.addresses.remove(HOST);
        host.now.addAndGet(Duration.ofSeconds(1).toNanos());
        assertFalse(host.view.contains(HOST), "and one it lost");
        assertEquals(3, host.reads.get());
    }

    @Test
    void unreadableInterfacesFailClosed() {
        AtomicLong now = new AtomicLong();
        HostAddresses view = new HostAddresses(() -> {
            throw new java.net.SocketException("netlink unavailable");
        }, now::get, Duration.ofSeconds(1));
        assertTrue(view.contains(OTHER), "never read: every address counts as the host's");
        FakeHost host = new FakeHost();
        AtomicInteger reads = new AtomicInteger();
        HostAddresses flaky = new HostAddresses(() -> {
            if (reads.incrementAndGet() > 1) {
                throw new java.net.SocketException("netlink unavailable");
            }
            return Set.copyOf(host.addresses);
        }, now::get, Duration.ofSeconds(1));
        assertTrue(flaky.contains(HOST));
        now.addAndGet(Duration.ofSeconds(2).toNanos());
        assertTrue(flaky.contains(HOST), "a failed re-read keeps the last reading");
        assertFalse(flaky.contains(OTHER));
    }

    @Test
    void theRealInterfacesIncludeLoopback() throws Exception {
        assertTrue(HostAddresses.readInterfaces().contains(address("127.0.0.1")));
        assertTrue(new HostAddresses().contains(address("127.0.0.1")));
    }

    /** After connecting, the kernel's own choice of source shows a local destination. */
    @Test
    void aConnectedSocketWhoseSourceIsItsDestinationIsOnThisHost() {
        HostPortGuard guard = new HostPortGuard(new FakeHost().view);
        guard.deny(API);
        InetSocketAddress newlyAdded = new InetSocketAddress(address("198.18.7.7"), API);
        assertTrue(guard.refusesConnected(new InetSocketAddress(address("198.18.7.7"), 40000), newlyAdded));
        assertTrue(guard.refusesConnected(new InetSocketAddress(address("127.0.0.1"), 40000),
                new InetSocketAddress(address("127.0.0.1"), API)));
        assertFalse(guard.refusesConnected(new InetSocketAddress(address("10.0.0.1"), 40000), newlyAdded),
                "a remote host: our source is another address");
        assertFalse(guard.refusesConnected(new InetSocketAddress(address("198.18.7.7"), 40000),
                new InetSocketAddress(address("198.18.7.7"), 8000)), "not a denied port");
        assertEquals(2, guard.refused());
    }
}
