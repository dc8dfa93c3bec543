package dev.loomstack.wireguard;

import dev.loomstack.packet.PacketBuffer;
import java.lang.System.Logger.Level;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The send side (wireguard-go's encryption queue and RoutineSequentialSender): any thread claims
 * the next slot of a ring with a compare-and-set, fills it with the packet, its peer, keypair and
 * counter, and hands it to the crypto workers; one platform thread, the sender, walks the ring in
 * claim order, waits for each slot's encryption and writes it to the socket. A full ring makes the
 * writer wait (back-pressure), or refuses when it must not wait (a keepalive from a timer).
 */
final class SendPath {
    private static final System.Logger LOG = System.getLogger(SendPath.class.getName());
    private static final long PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    /** How long a writer facing a full ring waits before looking again. */
    private static final long FULL_PAUSE_NANOS = TimeUnit.MICROSECONDS.toNanos(20);
    private static final VarHandle TAIL;

    static {
        try {
            TAIL = MethodHandles.lookup().findVarHandle(SendPath.class, "tail", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Writes an encrypted slot (or drops a failed one), on the sender thread. */
    interface Transmitter {
        void transmit(OutboundSlot slot);
    }

    private final OutboundSlot[] ring;
    private final int mask;
    private final CryptoWorkers workers;
    private final Transmitter transmitter;
    private final Wakeup senderWakeup = new Wakeup();
    private final Thread sender;
    /** Next slot the sender takes; written by the sender. */
    private volatile long head;
    /** Next slot a producer claims. */
    @SuppressWarnings("unused")
    private volatile long tail;
    private volatile boolean closed;

    SendPath(String name, int slots, int mtu, CryptoWorkers workers, Transmitter transmitter) {
        int n = Integer.highestOneBit(slots - 1) << 1;
        this.ring = new OutboundSlot[n];
        for (int i = 0; i < n; i++) {
            ring[i] = new OutboundSlot(mtu);
        }
        this.mask = n - 1;
        this.workers = workers;
        this.transmitter = transmitter;
        this.sender = Thread.ofPlatform().daemon().name(name + "-send").unstarted(this::sendLoop);
    }

    Wakeup encryptedWakeup() {
        return senderWakeup;
    }

    void start() {
        sender.start();
    }

    Thread sender() {
        return sender;
    }

    int capacity() {
        return ring.length;
    }

    /**
     * Queues {@code packet} (null: a keepalive) to go under {@code keypair} with {@code counter};
     * takes ownership of the packet only when it returns true. With {@code block} false a full ring
     * refuses at once.
     */
    boolean enqueue(Peer peer, Keypair keypair, long counter, PacketBuffer packet, boolean block) {
        long t;
        while (true) {
            t = (long) TAIL.getVolatile(this);
            if (t - head >= ring.length) {
                if (!block || closed || Thread.currentThread().isInterrupted()) {
                    return false;
                }
                LockSupport.parkNanos(FULL_PAUSE_NANOS);
                continue;
            }
            if (closed) {
                return false;
            }
            if (TAIL.compareAndSet(this, t, t + 1)) {
                break;
            }
        }
        OutboundSlot s = ring[(int) t & mask];
        s.peer = peer;
        s.keypair = keypair;
        s.counter = counter;
        s.packet = packet;
        s.state = OutboundSlot.QUEUED;
        workers.encrypt(s);
        return true;
    }

    private void sendLoop() {
        while (!closed) {
            long h = head;
            OutboundSlot s = ring[(int) h & mask];
            int state = s.state;
            if (state != OutboundSlot.ENCRYPTED && state != OutboundSlot.FAILED) {
                senderWakeup.announce();
                state = s.state;
                if (state != OutboundSlot.ENCRYPTED && state != OutboundSlot.FAILED && !closed) {
                    senderWakeup.park(PARK_NANOS);
                } else {
                    senderWakeup.cancel();
                }
                continue;
            }
            try {
                transmitter.transmit(s);
            } catch (RuntimeException e) {
                LOG.log(Level.ERROR, "sending a transport message failed", e);
            }
            s.clear();
            head = h + 1;
        }
    }

    /** Stops the sender and releases what waits in the ring (after the workers stopped). */
    void close() {
        closed = true;
        LockSupport.unpark(sender);
        WireGuardLink.joinQuietly(sender);
        for (OutboundSlot s : ring) {
            s.clear();
        }
    }
}
