package dev.loomstack.wireguard;

import dev.loomstack.stack.TimerService;

/**
 * A peer's protocol timers and the events that move them, with wireguard-go's semantics
 * (device/timers.go; paper section 6):
 * <ul>
 * <li>retransmit handshake: an initiation unanswered for REKEY_TIMEOUT (+ jitter) is sent again, up
 * to REKEY_ATTEMPT_TIME; then the attempt is given up, staged packets dropped and the key material
 * wiped after 3 × REJECT_AFTER_TIME unless a handshake starts meanwhile;
 * <li>send keepalive: data received and nothing sent for KEEPALIVE_TIMEOUT: an empty packet goes back,
 * so the sender knows the session works (passive keepalive, section 6.5);
 * <li>new handshake: data sent and nothing received for KEEPALIVE_TIMEOUT + REKEY_TIMEOUT: the
 * session is presumed broken and a handshake starts;
 * <li>zero key material: no handshake for 3 × REJECT_AFTER_TIME after the last session was derived;
 * <li>persistent keepalive: an empty packet after this many seconds without any packet sent or
 * received (per peer; off when 0).
 * </ul>
 */
final class PeerTimers {
    /** What the timers make the device do. */
    interface Actions {
        void requestInitiation(Peer peer, boolean retry);

        void sendKeepalive(Peer peer);

        /** The handshake attempt was given up: drop what waits for it. */
        void handshakeGaveUp(Peer peer);

        void zeroKeyMaterial(Peer peer);
    }

    private final TimerService timers;
    private final LazyTimer retransmitHandshake;
    private final LazyTimer sendKeepalive;
    private final LazyTimer newHandshake;
    private final LazyTimer zeroKeyMaterial;
    private final LazyTimer persistentKeepalive;
    /** Guarded by {@code this}. */
    private int handshakeAttempts;
    private boolean needAnotherKeepalive;
    private boolean sentLastMinuteHandshake;
    private volatile long persistentKeepaliveNanos;

    PeerTimers(Peer peer, TimerService timers, Actions actions) {
        this.timers = timers;
        this.retransmitHandshake = new LazyTimer(timers, () -> retransmitExpired(peer, actions));
        this.sendKeepalive = new LazyTimer(timers, () -> keepaliveExpired(peer, actions));
        this.newHandshake = new LazyTimer(timers, () -> actions.requestInitiation(peer, false));
        this.zeroKeyMaterial = new LazyTimer(timers, () -> actions.zeroKeyMaterial(peer));
        this.persistentKeepalive = new LazyTimer(timers, () -> {
            if (persistentKeepaliveNanos > 0) {
                actions.sendKeepalive(peer);
            }
        });
    }

    /** A keepalive, and another period if data kept arriving meanwhile. */
    private void keepaliveExpired(Peer peer, Actions actions) {
        actions.sendKeepalive(peer);
        boolean again;
        synchronized (this) {
            again = needAnotherKeepalive;
            needAnotherKeepalive = false;
        }
        if (again) {
            sendKeepalive.mod(ProtocolLimits.KEEPALIVE_TIMEOUT);
        }
    }

    private void retransmitExpired(Peer peer, Actions actions) {
        boolean giveUp;
        synchronized (this) {
            giveUp = handshakeAttempts > ProtocolLimits.MAX_HANDSHAKE_ATTEMPTS;
            if (!giveUp) {
                handshakeAttempts++;
            }
        }
        if (giveUp) {
            sendKeepalive.del();
            actions.handshakeGaveUp(peer);
            if (!newHandshake.isPending()) {
                zeroKeyMaterial.mod(ProtocolLimits.ZERO_KEY_MATERIAL_AFTER);
            }
        } else {
            actions.requestInitiation(peer, true);
        }
    }

    void persistentKeepalive(long intervalNanos) {
        persistentKeepaliveNanos = intervalNanos;
        if (intervalNanos == 0) {
            persistentKeepalive.del();
        }
    }

    /** A new handshake (not a retry) starts counting its attempts again. */
    synchronized void resetAttempts() {
        handshakeAttempts = 0;
    }

    /** A transport message with data (not a keepalive) was sent. */
    void dataSent() {
        if (!newHandshake.isPending()) {
            newHandshake.mod(ProtocolLimits.KEEPALIVE_TIMEOUT + ProtocolLimits.rekeyTimeoutWithJitter());
        }
    }

    /** A transport message with data was received. */
    void dataReceived() {
        synchronized (this) {
            if (sendKeepalive.isPending()) {
                needAnotherKeepalive = true;
                return;
            }
        }
        sendKeepalive.mod(ProtocolLimits.KEEPALIVE_TIMEOUT);
    }

    /** Any authenticated message (transport, keepalive, handshake) was sent. */
    void anyAuthenticatedPacketSent() {
        sendKeepalive.del();
    }

    /** Any authenticated message was received. */
    void anyAuthenticatedPacketReceived() {
        newHandshake.del();
    }

    /** Any authenticated message went either way: the persistent keepalive starts over. */
    void anyAuthenticatedPacketTraversal() {
        long interval = persistentKeepaliveNanos;
        if (interval > 0) {
            persistentKeepalive.mod(interval);
        }
    }

    void handshakeInitiated() {
        retransmitHandshake.mod(ProtocolLimits.rekeyTimeoutWithJitter());
    }

    void handshakeComplete() {
        retransmitHandshake.del();
        synchronized (this) {
            handshakeAttempts = 0;
            sentLastMinuteHandshake = false;
        }
    }

    void sessionDerived() {
        zeroKeyMaterial.mod(ProtocolLimits.ZERO_KEY_MATERIAL_AFTER);
    }

    /** True once per session: the receiving initiator's last-minute rekey may start now. */
    synchronized boolean takeLastMinuteHandshake() {
        if (sentLastMinuteHandshake) {
            return false;
        }
        sentLastMinuteHandshake = true;
        return true;
    }

    boolean retransmitPending() {
        return retransmitHandshake.isPending();
    }

    long now() {
        return timers.clock().nanoTime();
    }

    void stop() {
        retransmitHandshake.stop();
        sendKeepalive.stop();
        newHandshake.stop();
        zeroKeyMaterial.stop();
        persistentKeepalive.stop();
    }
}
