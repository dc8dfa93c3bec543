package dev.loomstack.wireguard;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The protocol's limits and timers (WireGuard paper section 6.1, "Timers and Stateless UX", and
 * wireguard-go's device/constants.go), and this device's own bounds. Times are in nanoseconds of
 * the link's monotonic clock.
 */
final class ProtocolLimits {
    private ProtocolLimits() {}

    /** After this many messages with one keypair, the initiator starts a new handshake. */
    static final long REKEY_AFTER_MESSAGES = 1L << 60;
    /**
     * No keypair sends or takes a message with a counter at or past 2^64 - 2^13 - 1 (compared
     * unsigned): the last counters the replay window could still tell apart.
     */
    static final long REJECT_AFTER_MESSAGES = -(1L << 13) - 1;
    static final long REKEY_AFTER_TIME = TimeUnit.SECONDS.toNanos(120);
    static final long REJECT_AFTER_TIME = TimeUnit.SECONDS.toNanos(180);
    static final long REKEY_ATTEMPT_TIME = TimeUnit.SECONDS.toNanos(90);
    static final long REKEY_TIMEOUT = TimeUnit.SECONDS.toNanos(5);
    /** Up to a third of a second added to every rekey timeout so peers do not retry in lockstep. */
    static final long REKEY_TIMEOUT_JITTER_MAX = TimeUnit.MILLISECONDS.toNanos(333);
    static final long KEEPALIVE_TIMEOUT = TimeUnit.SECONDS.toNanos(10);
    /** How long a cookie (and the responder's cookie secret) lives ({@link PeerHandshake} and {@link HandshakeResponder} keep it). */
    static final long COOKIE_REFRESH_TIME = TimeUnit.SECONDS.toNanos(120);
    /** Initiations sent for one handshake before giving up: REKEY_ATTEMPT_TIME / REKEY_TIMEOUT. */
    static final int MAX_HANDSHAKE_ATTEMPTS = (int) (REKEY_ATTEMPT_TIME / REKEY_TIMEOUT);
    /** Key material left unused this long is wiped (wireguard-go: RejectAfterTime * 3). */
    static final long ZERO_KEY_MATERIAL_AFTER = 3 * REJECT_AFTER_TIME;
    /**
     * The receiving initiator's last-minute rekey: a keypair this old is about to be rejected by
     * the responder, so a new handshake starts now (wireguard-go's keepKeyFreshReceiving).
     */
    static final long REKEY_ON_RECEIVE_AGE = REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT;

    /** Packets held per peer while its handshake runs (wireguard-go: QueueStagedSize 128). */
    static final int STAGED_PER_PEER = 128;
    /** Handshake messages waiting for the handshake thread (wireguard-go: QueueHandshakeSize 1024). */
    static final int HANDSHAKE_QUEUE = 1024;
    /** At this many queued handshake messages the link is under load and demands cookies (1/8 full). */
    static final int UNDER_LOAD_QUEUED = HANDSHAKE_QUEUE / 8;
    /** Local indices in use at most (a peer holds up to three keypairs and one handshake). */
    static final int MAX_INDICES = 1 << 20;

    static long rekeyTimeoutWithJitter() {
        return REKEY_TIMEOUT + ThreadLocalRandom.current().nextLong(REKEY_TIMEOUT_JITTER_MAX + 1);
    }

    /** {@code counter >= limit} for counters compared as the unsigned 64-bit numbers they are. */
    static boolean atOrPast(long counter, long limit) {
        return Long.compareUnsigned(counter, limit) >= 0;
    }
}
