package dev.loomstack.wireguard;

import dev.loomstack.stack.Clock;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.concurrent.TimeUnit;

/**
 * The responder's cookie secret Rm (paper section 5.4.7): a random 32 bytes, renewed every two
 * minutes, from which the cookie of a source is τ = MAC(Rm, source IP bytes || source port). A
 * cookie thus proves only that its holder receives packets at that address, and dies with the
 * secret. The secret is born with the first cookie reply (none is needed before load) and renewed
 * by the first reply after it expired; mac2 under an expired secret is invalid (as in wireguard-go).
 *
 * <p>Thread-safe: readers see one immutable generation; renewal is serialized.
 */
final class CookieSecret {
    /** The secret's life and a held cookie's: two minutes (paper section 5.4.7, "Cookie-Refresh-Time"). */
    static final long LIFETIME_NANOS = TimeUnit.SECONDS.toNanos(120);
    private static final int SECRET_LENGTH = 32;
    private static final int PORT_LENGTH = 2;

    private record Generation(byte[] secret, long bornNanos) {}

    private final Clock clock;
    private final SecureRandom random;
    private volatile Generation current;

    CookieSecret(Clock clock, SecureRandom random) {
        this.clock = clock;
        this.random = random;
    }

    /** The cookie of {@code source} under the current secret; null when no secret younger than two minutes exists. */
    byte[] currentCookie(InetSocketAddress source) {
        Generation generation = current;
        if (generation == null || expired(generation.bornNanos, clock.nanoTime())) {
            return null;
        }
        return cookie(generation.secret, source);
    }

    /** The cookie of {@code source}, renewing the secret first if it is missing or expired. */
    byte[] cookieRenewingSecret(InetSocketAddress source) {
        Generation generation = current;
        long now = clock.nanoTime();
        if (generation == null || expired(generation.bornNanos, now)) {
            synchronized (this) {
                generation = current;
                if (generation == null || expired(generation.bornNanos, now)) {
                    byte[] secret = new byte[SECRET_LENGTH];
                    random.nextBytes(secret);
                    generation = new Generation(secret, now);
                    current = generation;
                }
            }
        }
        return cookie(generation.secret, source);
    }

    static boolean expired(long bornNanos, long nowNanos) {
        return nowNanos - bornNanos >= LIFETIME_NANOS;
    }

    private static byte[] cookie(byte[] secret, InetSocketAddress source) {
        byte[] address = source.getAddress().getAddress();
        byte[] input = new byte[address.length + PORT_LENGTH];
        System.arraycopy(address, 0, input, 0, address.length);
        // The port in network byte order, as the Linux module hashes udp_hdr(skb)->source.
        input[address.length] = (byte) (source.getPort() >>> 8);
        input[address.length + 1] = (byte) source.getPort();
        byte[] cookie = new byte[Blake2s.MAC_LENGTH];
        Blake2s.mac(secret, input, 0, input.length, cookie, 0);
        return cookie;
    }
}
