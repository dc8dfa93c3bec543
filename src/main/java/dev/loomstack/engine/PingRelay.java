package dev.loomstack.engine;

import dev.loomstack.packet.IpAddress;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.LongAdder;

/**
 * Relays echo requests to hosts behind the router (Tailscale's netstack {@code userPing}): the real
 * host is pinged from this process and the client's request is answered only if it replied. At
 * most {@link #MAX_CONCURRENT} pings are outstanding; beyond that requests are dropped and counted.
 *
 * <p>No thread waits for a reply: one platform thread ({@link EchoPoller}, started with the first
 * ping) polls an unprivileged ICMP datagram socket per outstanding ping, or starts the {@code ping}
 * command where the kernel refuses those sockets ({@link PingCommand}). A blocking native wait on a
 * virtual thread would pin its carrier, and a few silent hosts would then stall every forwarded flow.
 */
public final class PingRelay implements AutoCloseable {
    /** Tailscale's netstack bound on concurrent pings. */
    public static final int MAX_CONCURRENT = 20;
    /** How long the real host has to answer (Tailscale's netstack runs {@code ping -W 3}). */
    public static final Duration TIMEOUT = Duration.ofSeconds(3);
    static final String THREAD_NAME = "loomstack-ping";
    private static final System.Logger LOG = System.getLogger(PingRelay.class.getName());

    /** How a host is pinged: the stage completes true when it answered. Must not block the caller. */
    @FunctionalInterface
    interface Pinger {
        CompletionStage<Boolean> ping(IpAddress target);
    }

    private final Semaphore slots = new Semaphore(MAX_CONCURRENT);
    private final Pinger pinger;
    private EchoPoller poller;
    private boolean pollerUnavailable;
    private boolean closed;
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
     * Pings {@code target} and runs {@code onReply} (on the relay's thread) if it answers; returns
     * false (nothing started, counted) when {@link #MAX_CONCURRENT} pings are already outstanding.
     */
    public boolean relay(IpAddress target, Runnable onReply) {
        if (!slots.tryAcquire()) {
            overLimit.increment();
            return false;
        }
        relayed.increment();
        CompletionStage<Boolean> outcome;
        try {
            outcome = pinger.ping(target);
        } catch (RuntimeException e) {
            unanswered.increment();
            slots.release();
            LOG.log(Level.DEBUG, "ping {0} failed: {1}", target, e.getMessage());
            return true;
        }
        outcome.whenComplete((ok, e) -> {
            try {
                if (e == null && Boolean.TRUE.equals(ok)) {
                    answered.increment();
                    onReply.run();
                } else {
                    unanswered.increment();
                    if (e != null) {
                        LOG.log(Level.DEBUG, "ping {0} failed: {1}", target, e.getMessage());
                    }
                }
            } catch (RuntimeException replyFailed) {
                LOG.log(Level.WARNING, "answering the echo request for " + target + " failed", replyFailed);
            } finally {
                slots.release();
            }
        });
        return true;
    }

    public int running() {
        return MAX_CONCURRENT - slots.availablePermits();
    }

    private CompletionStage<Boolean> pingBest(IpAddress target) {
        EchoPoller p;
        synchronized (this) {
            if (closed) {
                return CompletableFuture.completedFuture(false);
            }
            p = poller();
        }
        return p != null ? p.ping(target) : PingCommand.run(target, TIMEOUT);
    }

    /** The loop, started on first use; null where it cannot run. */
    private EchoPoller poller() {
        if (poller == null && !pollerUnavailable) {
            try {
                poller = new EchoPoller(THREAD_NAME, TIMEOUT);
            } catch (IOException | LinkageError e) {
                // Without the loop each ping is a command; the fork is the only wait, and brief.
                LOG.log(Level.WARNING, "ICMP poll loop unavailable ({0}); relaying pings with the ping command",
                        e.getMessage());
                pollerUnavailable = true;
            }
        }
        return poller;
    }

    /** Stops the relay's thread; pings still outstanding end unanswered. */
    @Override
    public void close() {
        EchoPoller p;
        synchronized (this) {
            closed = true;
            p = poller;
        }
        if (p != null) {
            p.close();
        }
    }
}
