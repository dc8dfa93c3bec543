package dev.loomstack.engine;

import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.function.LongSupplier;

/**
 * The addresses of the host this process runs on: every address of every interface (read from
 * {@link NetworkInterface}), plus the whole loopback range and the unspecified addresses, which the
 * kernel also delivers to the host itself. Interfaces come and go (a pod gains an address, an
 * operator adds one), so the set is re-read when it is older than {@link #MAX_AGE}; readers in
 * between share one snapshot.
 */
public final class HostAddresses {
    /** How stale the set may be; a dial to a denied port is also checked after connecting. */
    public static final Duration MAX_AGE = Duration.ofSeconds(1);
    private static final System.Logger LOG = System.getLogger(HostAddresses.class.getName());

    private final Callable<Set<InetAddress>> source;
    private final LongSupplier nanoTime;
    private final long maxAgeNanos;
    private volatile Snapshot snapshot;

    /** One reading of the interfaces; {@code addresses} null when none has succeeded yet. */
    private record Snapshot(Set<InetAddress> addresses, long readAt) {}

    /** Reads the host's interfaces. */
    public HostAddresses() {
        this(HostAddresses::readInterfaces, System::nanoTime, MAX_AGE);
    }

    HostAddresses(Callable<Set<InetAddress>> source, LongSupplier nanoTime, Duration maxAge) {
        this.source = source;
        this.nanoTime = nanoTime;
        this.maxAgeNanos = maxAge.toNanos();
    }

    /**
     * True when a connection to {@code a} ends on this host. Fails closed: while the interfaces
     * have never been read, every address counts as the host's.
     */
    public boolean contains(InetAddress a) {
        if (a.isLoopbackAddress() || a.isAnyLocalAddress()) {
            return true;
        }
        Set<InetAddress> current = current();
        return current == null || current.contains(plain(a));
    }

    private Set<InetAddress> current() {
        Snapshot s = snapshot;
        long now = nanoTime.getAsLong();
        if (s != null && now - s.readAt() < maxAgeNanos) {
            return s.addresses();
        }
        synchronized (this) {
            s = snapshot;
            if (s != null && now - s.readAt() < maxAgeNanos) {
                return s.addresses();
            }
            Set<InetAddress> read;
            try {
                read = Set.copyOf(source.call());
            } catch (Exception e) {
                // Keep what was known (or nothing, which fails closed); try again after MAX_AGE.
                LOG.log(Level.WARNING, "cannot read the interface addresses of this host: {0}", e.toString());
                read = s == null ? null : s.addresses();
            }
            snapshot = new Snapshot(read, now);
            return read;
        }
    }

    /** Every address of every interface of this host, without IPv6 scope (equality is by bytes). */
    static Set<InetAddress> readInterfaces() throws SocketException {
        Set<InetAddress> out = new HashSet<>();
        for (NetworkInterface nif : NetworkInterface.networkInterfaces().toList()) {
            nif.inetAddresses().forEach(a -> out.add(plain(a)));
        }
        return out;
    }

    private static InetAddress plain(InetAddress a) {
        try {
            return InetAddress.getByAddress(a.getAddress());
        } catch (UnknownHostException impossible) {
            throw new IllegalArgumentException(impossible);
        }
    }
}
