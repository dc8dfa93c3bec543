package dev.loomstack.link.wireguard;

import java.util.Optional;

/**
 * One peer's side of WireGuard's Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s handshake (paper section
 * 5.4.2-5.4.5) and its cookie state (section 5.4.7): this node as initiator (initiation out,
 * response in) or responder (initiation in, response out), and the cookie a peer under load sent.
 *
 * <p>CONTRACT (implemented by the protocol part; the device calls it): thread-safe (the device may
 * call from its handshake thread and its timers). Times come from the clocks given at construction:
 * the wall clock for TAI64N timestamps, the monotonic clock for cookie age and initiation flood
 * limits. Messages are written whole, with mac1 and (when a cookie younger than 120 s is held) mac2.
 */
public final class PeerHandshake {
    /** Message sizes (paper section 5.4). */
    public static final int INITIATION_LENGTH = 148;
    public static final int RESPONSE_LENGTH = 92;
    public static final int COOKIE_REPLY_LENGTH = 64;

    /**
     * @param presharedKey the peer's pre-shared key, or null for none (all zeros, as the protocol says)
     */
    public PeerHandshake(StaticIdentity local, WireGuardKey remoteStatic, WireGuardKey presharedKey,
            java.time.Clock wallClock, dev.loomstack.stack.Clock monotonic) {
        throw new UnsupportedOperationException("protocol part");
    }

    public WireGuardKey remoteStatic() {
        throw new UnsupportedOperationException("protocol part");
    }

    /** Changes the pre-shared key live (a netmap update); handshakes from now on use it. */
    public void presharedKey(WireGuardKey presharedKey) {
        throw new UnsupportedOperationException("protocol part");
    }

    /**
     * Initiator, first message: writes a {@value #INITIATION_LENGTH}-byte initiation with sender
     * index {@code localIndex} into {@code out[0..148)} and returns 148. A later response is matched
     * to this one initiation (a new call forgets the previous one).
     */
    public int writeInitiation(byte[] out, int localIndex) {
        throw new UnsupportedOperationException("protocol part");
    }

    /**
     * Initiator, second message: consumes a {@value #RESPONSE_LENGTH}-byte response addressed to the
     * index of the last initiation (the device checked mac1 and its receiver index). Returns the
     * session, or empty if it does not authenticate (then the state is unchanged).
     */
    public Optional<SessionKeys> consumeResponse(byte[] msg, int len) {
        throw new UnsupportedOperationException("protocol part");
    }

    /**
     * Responder: continues an initiation {@link HandshakeResponder#openInitiation opened} for this
     * peer. Refuses (empty) an initiation whose timestamp is not newer than the greatest one taken
     * from this peer, or one arriving sooner than 1/50 s after the last one taken (wireguard-go's
     * flood limit); else writes the {@value #RESPONSE_LENGTH}-byte response with sender index
     * {@code localIndex} into {@code out[0..92)} and returns the session.
     */
    public Optional<SessionKeys> respond(OpenedInitiation initiation, byte[] out, int localIndex) {
        throw new UnsupportedOperationException("protocol part");
    }

    /**
     * A {@value #COOKIE_REPLY_LENGTH}-byte cookie reply answering the last message this side sent to
     * the peer (its receiver index already matched by the device): decrypts and keeps the cookie
     * for mac2 of the next messages. False if it does not authenticate.
     */
    public boolean consumeCookieReply(byte[] msg, int len) {
        throw new UnsupportedOperationException("protocol part");
    }
}
