package dev.loomstack.wireguard;

import dev.loomstack.packet.ConcurrentBoundedQueue;
import dev.loomstack.stack.Clock;
import java.security.GeneralSecurityException;
import java.util.concurrent.TimeUnit;
import javax.crypto.Cipher;

/**
 * The crypto workers (wireguard-go's encryption and decryption routines): platform threads, as many
 * as there are cores and at least two, that take slots off two shared queues, decrypt or encrypt
 * them in place, and wake the one thread that passes the slots on in ring order (the deliverer or
 * the sender). So the work spreads over cores while every packet leaves in the order it came.
 * Each worker keeps its own {@link Cipher}: a Cipher is not thread-safe, and one per worker is
 * reused for every packet.
 */
final class CryptoWorkers {
    private static final long IDLE_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private final ConcurrentBoundedQueue<InboundSlot> toDecrypt;
    private final ConcurrentBoundedQueue<OutboundSlot> toEncrypt;
    private final Thread[] threads;
    private final Wakeup[] idle;
    private final Clock clock;
    private final int mtu;
    private volatile Wakeup decrypted;
    private volatile Wakeup encrypted;
    private volatile boolean closed;

    CryptoWorkers(String name, int count, int capacity, Clock clock, int mtu) {
        this.toDecrypt = new ConcurrentBoundedQueue<>(capacity);
        this.toEncrypt = new ConcurrentBoundedQueue<>(capacity);
        this.clock = clock;
        this.mtu = mtu;
        this.threads = new Thread[count];
        this.idle = new Wakeup[count];
        for (int i = 0; i < count; i++) {
            Wakeup w = new Wakeup();
            idle[i] = w;
            threads[i] = Thread.ofPlatform().daemon().name(name + "-crypto-" + i).unstarted(() -> run(w));
        }
    }

    static int defaultCount() {
        return Math.max(2, Runtime.getRuntime().availableProcessors());
    }

    /** Starts the workers; {@code decrypted}/{@code encrypted} are woken when a slot is done. */
    void start(Wakeup decrypted, Wakeup encrypted) {
        this.decrypted = decrypted;
        this.encrypted = encrypted;
        for (Thread t : threads) {
            t.start();
        }
    }

    Thread[] threads() {
        return threads.clone();
    }

    /** Never refused: the queues hold as many slots as the rings have. */
    void decrypt(InboundSlot slot) {
        if (!toDecrypt.offer(slot)) {
            throw new IllegalStateException("decrypt queue over its ring");
        }
        wakeOne();
    }

    void encrypt(OutboundSlot slot) {
        if (!toEncrypt.offer(slot)) {
            throw new IllegalStateException("encrypt queue over its ring");
        }
        wakeOne();
    }

    private void wakeOne() {
        for (Wakeup w : idle) {
            if (w.signal()) {
                return;
            }
        }
    }

    private void run(Wakeup self) {
        Cipher cipher;
        try {
            cipher = Cipher.getInstance("ChaCha20-Poly1305");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK has no ChaCha20-Poly1305", e);
        }
        byte[] nonce = new byte[12];
        while (!closed) {
            boolean worked = false;
            InboundSlot in = toDecrypt.poll();
            if (in != null) {
                in.decrypt(cipher, nonce, clock.nanoTime());
                decrypted.signal();
                worked = true;
            }
            OutboundSlot out = toEncrypt.poll();
            if (out != null) {
                out.encrypt(cipher, nonce, mtu);
                encrypted.signal();
                worked = true;
            }
            if (worked) {
                continue;
            }
            self.announce();
            if (toDecrypt.size() > 0 || toEncrypt.size() > 0 || closed) {
                self.cancel();
            } else {
                self.park(IDLE_PARK_NANOS);
            }
        }
    }

    void close() {
        closed = true;
        for (Thread t : threads) {
            java.util.concurrent.locks.LockSupport.unpark(t);
        }
        for (Thread t : threads) {
            WireGuardLink.joinQuietly(t);
        }
    }
}
