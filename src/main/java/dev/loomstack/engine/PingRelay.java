package dev.loomstack.engine;

import dev.loomstack.packet.IpAddress;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * Relays echo requests to hosts behind the router (the seed's {@code userPing}): the real host is
 * pinged from this process and the client's request is answered only if it replied. At most
 * {@link #MAX_CONCURRENT} pings run at once; beyond that requests are dropped and counted. An
 * unprivileged ICMP datagram socket is used where the kernel allows one; otherwise the
 * {@code ping} command.
 */
public final class PingRelay {
    /** The seed's bound on concurrent pings. */
    public static final int MAX_CONCURRENT = 20;
    /** How long the real host has to answer (the seed's {@code ping -W 3}). */
    public static final Duration TIMEOUT = Duration.ofSeconds(3);
    private static final System.Logger LOG = System.getLogger(PingRelay.class.getName());

    /** How a host is pinged. */
    @FunctionalInterface
    interface Pinger {
        boolean ping(IpAddress target) throws IOException, InterruptedException;
    }

    private final Semaphore slots = new Semaphore(MAX_CONCURRENT);
    private final Pinger pinger;
    private final AtomicInteger sequence = new AtomicInteger();
    final LongAdder relayed = new LongAdder();
    final LongAdder answered = new LongAdder();
    final LongAdder unanswered = new LongAdder();
    final LongAdder overLimit = new LongAdder();

    public PingRelay() {
        this.pinger = this::pingBest;
    }

    PingRelay(Pinger pinger) {
        this.pinger = pinger;
    }

    /**
     * Pings {@code target} on a virtual thread and runs {@code onReply} if it answers; returns false
     * (nothing started) when {@link #MAX_CONCURRENT} pings are already running.
     */
    public boolean relay(IpAddress target, Runnable onReply) {
        if (!slots.tryAcquire()) {
            overLimit.increment();
            return false;
        }
        relayed.increment();
        Thread.ofVirtual().name("ping " + target).start(() -> {
            try {
                if (pinger.ping(target)) {
                    answered.increment();
                    onReply.run();
                } else {
                    unanswered.increment();
                }
            } catch (IOException e) {
                unanswered.increment();
                LOG.log(Level.DEBUG, "ping {0} failed: {1}", target, e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                slots.release();
            }
        });
        return true;
    }

    public int running() {
        return MAX_CONCURRENT - slots.availablePermits();
    }

    private boolean pingBest(IpAddress target) throws IOException, InterruptedException {
        IcmpDatagramSocket s;
        try {
            s = IcmpDatagramSocket.open(target);
        } catch (IOException | UnsatisfiedLinkError refused) {
            return pingCommand(target);
        }
        try (s) {
            return s.ping(sequence.incrementAndGet(), (int) TIMEOUT.toMillis());
        }
    }

    /** The fallback: one {@code ping}, as the seed runs it on Linux. */
    static boolean pingCommand(IpAddress target) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder("ping", target.v4() ? "-4" : "-6", "-c", "1", "-W",
                Long.toString(TIMEOUT.toSeconds()), target.toString())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD);
        Process p = pb.start();
        if (!p.waitFor(TIMEOUT.toMillis() + 2000, TimeUnit.MILLISECONDS)) {
            p.destroyForcibly();
            return false;
        }
        return p.exitValue() == 0;
    }
}
