package dev.loomstack.wireguard;

import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The handshake thread and its queue (wireguard-go's handshake queue and RoutineHandshake): every
 * initiation, response and cookie reply received, and every initiation this node must send, is
 * handled here, one at a time, never on the data path. Received messages are bounded
 * ({@link ProtocolLimits#HANDSHAKE_QUEUE}; more are dropped and counted as failed handshakes);
 * initiation requests are at most one per peer. With {@link ProtocolLimits#UNDER_LOAD_QUEUED} or
 * more messages waiting the link is under load (section 5.4.7) and asks for cookies.
 */
final class HandshakeQueue {
    private static final System.Logger LOG = System.getLogger(HandshakeQueue.class.getName());

    /** What the handshake thread does. */
    interface Handler {
        void message(byte[] message, int length, InetSocketAddress source);

        void initiate(Peer peer, boolean retry);
    }

    private record Message(byte[] bytes, InetSocketAddress source) {}

    private final LinkedBlockingQueue<Object> work = new LinkedBlockingQueue<>();
    private final AtomicInteger messagesQueued = new AtomicInteger();
    private final Handler handler;
    private final Thread thread;
    private volatile boolean forcedUnderLoad;
    private volatile boolean closed;

    HandshakeQueue(String name, Handler handler) {
        this.handler = handler;
        this.thread = Thread.ofPlatform().daemon().name(name + "-handshake").unstarted(this::run);
    }

    void start() {
        thread.start();
    }

    /** Copies a received handshake message in; false (dropped) when the queue is full. */
    boolean offerMessage(byte[] bytes, int length, InetSocketAddress source) {
        if (messagesQueued.incrementAndGet() > ProtocolLimits.HANDSHAKE_QUEUE) {
            messagesQueued.decrementAndGet();
            return false;
        }
        work.add(new Message(java.util.Arrays.copyOf(bytes, length), source));
        return true;
    }

    /** Asks for an initiation to {@code peer}; a request already waiting absorbs this one. */
    void requestInitiation(Peer peer, boolean retry) {
        if (retry) {
            peer.initiationRetry = true;
        }
        if (peer.initiationQueued.compareAndSet(false, true)) {
            work.add(peer);
        }
    }

    boolean underLoad() {
        return forcedUnderLoad || messagesQueued.get() >= ProtocolLimits.UNDER_LOAD_QUEUED;
    }

    /** Test hook: act as if under load (cookies demanded) whatever the queue holds. */
    void forceUnderLoad(boolean on) {
        forcedUnderLoad = on;
    }

    int queuedMessages() {
        return messagesQueued.get();
    }

    private void run() {
        while (!closed) {
            Object next;
            try {
                next = work.poll(200, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                break;
            }
            if (next == null) {
                continue;
            }
            try {
                if (next instanceof Message m) {
                    try {
                        handler.message(m.bytes, m.bytes.length, m.source);
                    } finally {
                        messagesQueued.decrementAndGet();
                    }
                } else if (next instanceof Peer p) {
                    p.initiationQueued.set(false);
                    boolean retry = p.initiationRetry;
                    p.initiationRetry = false;
                    handler.initiate(p, retry);
                }
            } catch (RuntimeException e) {
                LOG.log(Level.ERROR, "handling a handshake failed", e);
            }
        }
    }

    void close() {
        closed = true;
        thread.interrupt();
        WireGuardLink.joinQuietly(thread);
    }
}
