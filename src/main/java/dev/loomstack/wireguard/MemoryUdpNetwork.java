package dev.loomstack.wireguard;

import dev.loomstack.packet.ConcurrentBoundedQueue;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BiPredicate;

/**
 * UDP in memory for tests, as {@link dev.loomstack.link.MemoryLink} is a link in memory: sockets
 * bound to made-up addresses exchange datagrams through bounded queues (a full queue loses the
 * datagram, as UDP would). A socket can move to another address ({@link Socket#rebind}: a peer
 * roaming), and a filter sees every datagram first (to drop some, or keep copies to replay).
 * Datagrams travel in preallocated buffers: nothing is allocated per datagram.
 */
final class MemoryUdpNetwork {
    static final int QUEUE = 4096;
    static final int MAX_DATAGRAM = 2048;

    private final Map<InetSocketAddress, Socket> sockets = new ConcurrentHashMap<>();
    /** Sees (from, datagram bytes from position to limit) before delivery; false drops it. */
    private volatile BiPredicate<InetSocketAddress, ByteBuffer> filter;

    void filter(BiPredicate<InetSocketAddress, ByteBuffer> f) {
        filter = f;
    }

    Socket bind(InetSocketAddress address) {
        Socket s = new Socket(address);
        if (sockets.putIfAbsent(address, s) != null) {
            throw new IllegalStateException(address + " in use");
        }
        return s;
    }

    /** Delivers {@code bytes} to {@code to} as if {@code from} had sent them (a replayed or forged datagram). */
    boolean inject(InetSocketAddress from, InetSocketAddress to, byte[] bytes) {
        Socket s = sockets.get(to);
        return s != null && s.enqueue(from, ByteBuffer.wrap(bytes));
    }

    private static final class Datagram {
        final byte[] bytes = new byte[MAX_DATAGRAM];
        int length;
        InetSocketAddress from;
    }

    final class Socket implements UdpTransport {
        private volatile InetSocketAddress address;
        private final ConcurrentBoundedQueue<Datagram> inbox = new ConcurrentBoundedQueue<>(QUEUE);
        private final ConcurrentBoundedQueue<Datagram> free = new ConcurrentBoundedQueue<>(QUEUE);
        private volatile Thread receiver;
        private volatile boolean closed;

        Socket(InetSocketAddress address) {
            this.address = address;
            for (int i = 0; i < QUEUE; i++) {
                free.offer(new Datagram());
            }
        }

        InetSocketAddress address() {
            return address;
        }

        /** Moves the socket to {@code next}: what it sends from now on comes from there. */
        void rebind(InetSocketAddress next) {
            if (sockets.putIfAbsent(next, this) != null) {
                throw new IllegalStateException(next + " in use");
            }
            InetSocketAddress old = address;
            address = next;
            sockets.remove(old, this);
        }

        boolean enqueue(InetSocketAddress from, ByteBuffer data) {
            if (closed) {
                return false;
            }
            Datagram d = free.poll();
            if (d == null) {
                return false;
            }
            int n = Math.min(data.remaining(), MAX_DATAGRAM);
            data.get(data.position(), d.bytes, 0, n);
            d.length = n;
            d.from = from;
            if (!inbox.offer(d)) {
                free.offer(d);
                return false;
            }
            Thread r = receiver;
            if (r != null) {
                LockSupport.unpark(r);
            }
            return true;
        }

        @Override
        public InetSocketAddress receive(ByteBuffer into) {
            receiver = Thread.currentThread();
            while (!closed) {
                Datagram d = inbox.poll();
                if (d == null) {
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
                    continue;
                }
                int n = Math.min(d.length, into.remaining());
                into.put(d.bytes, 0, n);
                InetSocketAddress from = d.from;
                d.from = null;
                free.offer(d);
                return from;
            }
            return null;
        }

        @Override
        public void send(ByteBuffer from, InetSocketAddress to) {
            InetSocketAddress self = address;
            BiPredicate<InetSocketAddress, ByteBuffer> f = filter;
            if (f != null && !f.test(self, from.duplicate())) {
                return;
            }
            Socket s = sockets.get(to);
            if (s != null) {
                s.enqueue(self, from);
            }
        }

        @Override
        public int localPort() {
            return address.getPort();
        }

        @Override
        public void close() {
            closed = true;
            sockets.remove(address, this);
            Thread r = receiver;
            if (r != null) {
                LockSupport.unpark(r);
            }
        }
    }
}
