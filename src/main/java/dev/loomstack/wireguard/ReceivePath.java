package dev.loomstack.wireguard;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The receive side (wireguard-go's RoutineReceiveIncoming and RoutineSequentialReceiver): one
 * platform thread reads datagrams into the slots of a ring, in arrival order, and passes handshake
 * messages to the handshake thread and transport messages to the crypto workers; one platform
 * thread, the deliverer, walks the ring in the same order, waits for each slot's decryption, and
 * does everything that must be sequential: the replay window, keypair confirmation, roaming,
 * timers, cryptokey routing and the one-at-a-time delivery to the stack. A full ring stops the
 * reader, and the socket's buffer then overflows in the kernel, as it would under any slow reader.
 */
final class ReceivePath {
    private static final System.Logger LOG = System.getLogger(ReceivePath.class.getName());
    private static final long PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final long ERROR_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    /** What the link does with a datagram and a decrypted slot. */
    interface Handler {
        /** Looks at a datagram just read; true when it is transport data to decrypt in this slot. */
        boolean arrived(InboundSlot slot, int length, InetSocketAddress source);

        /** A slot's turn, in arrival order, on the deliverer. */
        void decrypted(InboundSlot slot);

        /** No further slot is ready: the deliverer is about to wait (the end of a burst). */
        void burstEnded();

        void readFailed(IOException e);
    }

    private final InboundSlot[] ring;
    private final int mask;
    private final UdpTransport transport;
    private final CryptoWorkers workers;
    private final Handler handler;
    private final Wakeup readerWakeup = new Wakeup();
    private final Wakeup delivererWakeup = new Wakeup();
    private final Thread reader;
    private final Thread deliverer;
    /** Next slot the deliverer takes; written by the deliverer. */
    private volatile long head;
    /** Next slot the reader fills; written by the reader. */
    private volatile long tail;
    private volatile boolean closed;

    ReceivePath(String name, int slots, int mtu, UdpTransport transport, CryptoWorkers workers, Handler handler) {
        int n = Integer.highestOneBit(slots - 1) << 1;
        this.ring = new InboundSlot[n];
        for (int i = 0; i < n; i++) {
            ring[i] = new InboundSlot(mtu);
        }
        this.mask = n - 1;
        this.transport = transport;
        this.workers = workers;
        this.handler = handler;
        this.reader = Thread.ofPlatform().daemon().name(name + "-receive").unstarted(this::readLoop);
        this.deliverer = Thread.ofPlatform().daemon().name(name + "-deliver").unstarted(this::deliverLoop);
    }

    Wakeup decryptedWakeup() {
        return delivererWakeup;
    }

    void start() {
        reader.start();
        deliverer.start();
    }

    Thread reader() {
        return reader;
    }

    Thread deliverer() {
        return deliverer;
    }

    int capacity() {
        return ring.length;
    }

    private void readLoop() {
        while (!closed) {
            long t = tail;
            if (t - head >= ring.length) {
                readerWakeup.announce();
                if (t - head >= ring.length && !closed) {
                    readerWakeup.park(PARK_NANOS);
                } else {
                    readerWakeup.cancel();
                }
                continue;
            }
            InboundSlot s = ring[(int) t & mask];
            s.wireBuffer.clear();
            InetSocketAddress from;
            try {
                from = transport.receive(s.wireBuffer);
            } catch (IOException e) {
                if (closed) {
                    break;
                }
                handler.readFailed(e);
                LockSupport.parkNanos(ERROR_PAUSE_NANOS);
                continue;
            }
            if (from == null) {
                break;
            }
            int len = s.wireBuffer.position();
            try {
                if (handler.arrived(s, len, from)) {
                    s.wireLength = len;
                    s.state = InboundSlot.QUEUED;
                    tail = t + 1;
                    workers.decrypt(s);
                }
            } catch (RuntimeException e) {
                LOG.log(Level.ERROR, "handling a datagram failed", e);
            }
        }
    }

    private void deliverLoop() {
        while (!closed) {
            long h = head;
            InboundSlot s = ring[(int) h & mask];
            if (h == tail || s.state == InboundSlot.QUEUED) {
                try {
                    handler.burstEnded();
                } catch (RuntimeException e) {
                    LOG.log(Level.ERROR, "delivering a packet failed", e);
                }
                delivererWakeup.announce();
                if ((h == tail || s.state == InboundSlot.QUEUED) && !closed) {
                    delivererWakeup.park(PARK_NANOS);
                } else {
                    delivererWakeup.cancel();
                }
                continue;
            }
            try {
                handler.decrypted(s);
            } catch (RuntimeException e) {
                LOG.log(Level.ERROR, "delivering a packet failed", e);
            }
            s.clear();
            head = h + 1;
            readerWakeup.signal();
        }
    }

    /** Stops both threads; the transport must be closed first (it unblocks the reader). */
    void close() {
        closed = true;
        LockSupport.unpark(deliverer);
        LockSupport.unpark(reader);
        WireGuardLink.joinQuietly(reader);
        WireGuardLink.joinQuietly(deliverer);
    }
}
