package dev.loomstack.wireguard;

import java.security.MessageDigest;
import java.security.PrivateKey;
import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * One peer's side of WireGuard's Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s handshake (paper section
 * 5.4.2-5.4.5) and its cookie state (section 5.4.7): this node as initiator (initiation out,
 * response in) or responder (initiation in, response out), and the cookie a peer under load sent.
 *
 * <p>Thread-safe: the link calls it from its handshake thread and its timers. Times come from the clocks given at construction:
 * the wall clock for TAI64N timestamps, the monotonic clock for cookie age and initiation flood
 * limits. Messages are written whole, with mac1 and (when a cookie younger than 120 s is held) mac2.
 *
 * <p>The initiator half (the last initiation written, awaiting its response) and the responder half
 * (the greatest timestamp taken, when the last initiation was taken) are independent: answering a
 * peer's initiation does not forget our own pending one, so simultaneous initiations from both
 * sides may both complete, and the device keeps the session it likes.
 */
public final class PeerHandshake {
    /** Message sizes (paper section 5.4). */
    public static final int INITIATION_LENGTH = 148;
    public static final int RESPONSE_LENGTH = 92;
    public static final int COOKIE_REPLY_LENGTH = 64;

    /**
     * At most one initiation per 1/50 s is taken from a peer (wireguard-go's HandshakeInitationRate;
     * the Linux module's INITIATIONS_PER_SECOND): one arriving at most this long after the last one
     * taken is refused.
     */
    static final long INITIATION_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(1) / 50;

    private static final byte[] EMPTY = new byte[0];

    private final StaticIdentity local;
    private final WireGuardKey remoteStatic;
    private final byte[] remotePublic;
    private final java.time.Clock wallClock;
    private final dev.loomstack.stack.Clock monotonic;
    /** DH(Si_priv, Sr_pub): the same for every handshake with this peer, so computed once. */
    private final byte[] staticStatic = new byte[X25519.KEY_LENGTH];
    /** H after mixing the peer's public key: where our initiations to it start. */
    private final byte[] initialHash;
    /** HASH("mac1----" || peer's public key): mac1 of what we send it. */
    private final byte[] mac1Key;

    // Everything below is guarded by this.
    private final HeldCookie cookie;
    private final byte[] presharedKey = new byte[WireGuardKey.LENGTH];

    /** Initiator: the Noise state after our last initiation, its ephemeral key and index. */
    private final SymmetricState initiation = new SymmetricState();
    private PrivateKey initiationEphemeral;
    private boolean initiationPending;
    private int initiationIndex;
    private final byte[] lastTimestampSent = new byte[Tai64n.LENGTH];
    private boolean timestampSent;

    /** Responder: the greatest timestamp taken (zero: none) and when the last initiation was taken. */
    private final byte[] greatestTimestamp = new byte[Tai64n.LENGTH];
    private boolean initiationTaken;
    private long lastTakenNanos;

    /**
     * @param presharedKey the peer's pre-shared key, or null for none (all zeros, as the protocol says)
     * @throws IllegalArgumentException if {@code remoteStatic} is a point of small order (DH with it
     *     gives zero: no handshake with it could be secure, and none would complete)
     */
    public PeerHandshake(StaticIdentity local, WireGuardKey remoteStatic, WireGuardKey presharedKey,
            java.time.Clock wallClock, dev.loomstack.stack.Clock monotonic) {
        this.local = Objects.requireNonNull(local, "local");
        this.remoteStatic = Objects.requireNonNull(remoteStatic, "remoteStatic");
        this.wallClock = Objects.requireNonNull(wallClock, "wallClock");
        this.monotonic = Objects.requireNonNull(monotonic, "monotonic");
        this.remotePublic = remoteStatic.bytes();
        if (!local.agree(remotePublic, 0, staticStatic, 0)) {
            throw new IllegalArgumentException("public key " + remoteStatic + " is not usable: it has small order");
        }
        this.initialHash = SymmetricState.initialHash(remotePublic);
        this.mac1Key = MessageMacs.mac1Key(remotePublic);
        this.cookie = new HeldCookie(remotePublic, monotonic);
        presharedKey(presharedKey);
    }

    public WireGuardKey remoteStatic() {
        return remoteStatic;
    }

    /** Changes the pre-shared key live (a netmap update); handshakes from now on use it. */
    public synchronized void presharedKey(WireGuardKey presharedKey) {
        if (presharedKey == null) {
            Arrays.fill(this.presharedKey, (byte) 0);
        } else {
            presharedKey.copyTo(this.presharedKey, 0);
        }
    }

    /**
     * Initiator, first message: writes a {@value #INITIATION_LENGTH}-byte initiation with sender
     * index {@code localIndex} into {@code out[0..148)} and returns 148. A later response is matched
     * to this one initiation (a new call forgets the previous one).
     */
    public synchronized int writeInitiation(byte[] out, int localIndex) {
        forgetInitiation();
        Arrays.fill(out, 0, INITIATION_LENGTH, (byte) 0);
        HandshakeMessages.writeIntLe(HandshakeMessages.TYPE_INITIATION, out, HandshakeMessages.TYPE_OFFSET);
        HandshakeMessages.writeIntLe(localIndex, out, HandshakeMessages.SENDER_OFFSET);

        SymmetricState state = initiation;
        byte[] shared = new byte[X25519.KEY_LENGTH];
        byte[] timestamp = new byte[Tai64n.LENGTH];
        try {
            // Paper section 5.4.2. C = C0, H = HASH(H0 || Sr_pub); (Ei_priv, Ei_pub) = DH-GENERATE.
            state.initialize(initialHash);
            PrivateKey ephemeral = generateEphemeral(out, HandshakeMessages.INITIATION_EPHEMERAL);
            // C = KDF1(C, Ei_pub); msg.ephemeral = Ei_pub; H = HASH(H || msg.ephemeral).
            state.mixKey(out, HandshakeMessages.INITIATION_EPHEMERAL, X25519.KEY_LENGTH);
            state.mixHash(out, HandshakeMessages.INITIATION_EPHEMERAL, X25519.KEY_LENGTH);
            // (C, k) = KDF2(C, DH(Ei_priv, Sr_pub)); msg.static = AEAD(k, 0, Si_pub, H); H = HASH(H || msg.static).
            requireAgreement(X25519.agree(ephemeral, remotePublic, 0, shared, 0));
            state.mixKeyAndKey(shared, 0, shared.length);
            state.encryptAndHash(local.publicBytes(), 0, X25519.KEY_LENGTH, out, HandshakeMessages.INITIATION_STATIC);
            // (C, k) = KDF2(C, DH(Si_priv, Sr_pub)); msg.timestamp = AEAD(k, 0, TAI64N(), H); H = HASH(H || msg.timestamp).
            state.mixKeyAndKey(staticStatic, 0, staticStatic.length);
            nextTimestamp(timestamp);
            state.encryptAndHash(timestamp, 0, timestamp.length, out, HandshakeMessages.INITIATION_TIMESTAMP);

            writeMacs(out, INITIATION_LENGTH, localIndex);
            initiationEphemeral = ephemeral;
            initiationIndex = localIndex;
            initiationPending = true;
            return INITIATION_LENGTH;
        } finally {
            Arrays.fill(shared, (byte) 0);
            if (!initiationPending) {
                state.wipe();
            }
        }
    }

    /**
     * Initiator, second message: consumes a {@value #RESPONSE_LENGTH}-byte response addressed to the
     * index of the last initiation (the device checked mac1 and its receiver index). Returns the
     * session, or empty if it does not authenticate (then the state is unchanged). A response is
     * taken once: the initiation's state is wiped when it completes.
     */
    public synchronized Optional<SessionKeys> consumeResponse(byte[] msg, int len) {
        if (!initiationPending
                || !HandshakeMessages.is(msg, len, HandshakeMessages.TYPE_RESPONSE, RESPONSE_LENGTH)
                || HandshakeMessages.readIntLe(msg, HandshakeMessages.RESPONSE_RECEIVER) != initiationIndex) {
            return Optional.empty();
        }
        SymmetricState state = new SymmetricState();
        state.copyFrom(initiation);
        byte[] shared = new byte[X25519.KEY_LENGTH];
        try {
            // Paper section 5.4.3, as the initiator replays it. C = KDF1(C, Er_pub); H = HASH(H || Er_pub).
            state.mixKey(msg, HandshakeMessages.RESPONSE_EPHEMERAL, X25519.KEY_LENGTH);
            state.mixHash(msg, HandshakeMessages.RESPONSE_EPHEMERAL, X25519.KEY_LENGTH);
            // C = KDF1(C, DH(Ei_priv, Er_pub)); C = KDF1(C, DH(Si_priv, Er_pub)).
            if (!X25519.agree(initiationEphemeral, msg, HandshakeMessages.RESPONSE_EPHEMERAL, shared, 0)) {
                return Optional.empty();
            }
            state.mixKey(shared, 0, shared.length);
            if (!local.agree(msg, HandshakeMessages.RESPONSE_EPHEMERAL, shared, 0)) {
                return Optional.empty();
            }
            state.mixKey(shared, 0, shared.length);
            // (C, τ, k) = KDF3(C, Q); H = HASH(H || τ); msg.empty = AEAD(k, 0, ε, H).
            state.mixPresharedKey(presharedKey);
            if (!state.decryptAndHash(msg, HandshakeMessages.RESPONSE_EMPTY, HandshakeMessages.RESPONSE_EMPTY_SEALED,
                    EMPTY, 0)) {
                return Optional.empty();
            }
            // Section 5.4.5: (T_send, T_recv) = KDF2(C, ε) for the initiator.
            byte[] send = new byte[ChaChaPoly.KEY_LENGTH];
            byte[] receive = new byte[ChaChaPoly.KEY_LENGTH];
            state.split(send, receive);
            int localIndex = initiationIndex;
            int remoteIndex = HandshakeMessages.readIntLe(msg, HandshakeMessages.SENDER_OFFSET);
            forgetInitiation();
            return Optional.of(new SessionKeys(send, receive, localIndex, remoteIndex, true));
        } finally {
            Arrays.fill(shared, (byte) 0);
            state.wipe();
        }
    }

    /**
     * Responder: continues an initiation {@link HandshakeResponder#openInitiation opened} for this
     * peer. Refuses (empty) an initiation whose timestamp is not newer than the greatest one taken
     * from this peer, or one arriving sooner than 1/50 s after the last one taken (wireguard-go's
     * flood limit); else writes the {@value #RESPONSE_LENGTH}-byte response with sender index
     * {@code localIndex} into {@code out[0..92)} and returns the session. Also empty for an
     * initiation from another peer's static key.
     */
    public synchronized Optional<SessionKeys> respond(OpenedInitiation initiation, byte[] out, int localIndex) {
        if (!MessageDigest.isEqual(initiation.initiatorStaticBytes(), remotePublic)) {
            return Optional.empty();
        }
        // Paper section 5.1: a replayed initiation (timestamp not newer) is refused...
        if (Tai64n.compare(initiation.timestamp(), 0, greatestTimestamp, 0) <= 0) {
            return Optional.empty();
        }
        // ...and so is a flood of fresh ones (wireguard-go: at most one per 1/50 s).
        long now = monotonic.nanoTime();
        if (initiationTaken && now - lastTakenNanos <= INITIATION_INTERVAL_NANOS) {
            return Optional.empty();
        }
        Arrays.fill(out, 0, RESPONSE_LENGTH, (byte) 0);
        HandshakeMessages.writeIntLe(HandshakeMessages.TYPE_RESPONSE, out, HandshakeMessages.TYPE_OFFSET);
        HandshakeMessages.writeIntLe(localIndex, out, HandshakeMessages.SENDER_OFFSET);
        HandshakeMessages.writeIntLe(initiation.senderIndex(), out, HandshakeMessages.RESPONSE_RECEIVER);

        SymmetricState state = new SymmetricState();
        initiation.stateInto(state);
        byte[] shared = new byte[X25519.KEY_LENGTH];
        try {
            // Paper section 5.4.3. (Er_priv, Er_pub) = DH-GENERATE; C = KDF1(C, Er_pub); H = HASH(H || Er_pub).
            PrivateKey ephemeral = generateEphemeral(out, HandshakeMessages.RESPONSE_EPHEMERAL);
            state.mixKey(out, HandshakeMessages.RESPONSE_EPHEMERAL, X25519.KEY_LENGTH);
            state.mixHash(out, HandshakeMessages.RESPONSE_EPHEMERAL, X25519.KEY_LENGTH);
            // C = KDF1(C, DH(Er_priv, Ei_pub)); C = KDF1(C, DH(Er_priv, Si_pub)).
            if (!X25519.agree(ephemeral, initiation.initiatorEphemeral(), 0, shared, 0)) {
                return Optional.empty();
            }
            state.mixKey(shared, 0, shared.length);
            requireAgreement(X25519.agree(ephemeral, remotePublic, 0, shared, 0));
            state.mixKey(shared, 0, shared.length);
            // (C, τ, k) = KDF3(C, Q); H = HASH(H || τ); msg.empty = AEAD(k, 0, ε, H); H = HASH(H || msg.empty).
            state.mixPresharedKey(presharedKey);
            state.encryptAndHash(EMPTY, 0, 0, out, HandshakeMessages.RESPONSE_EMPTY);
            writeMacs(out, RESPONSE_LENGTH, localIndex);
            // Section 5.4.5: the responder sends with T2 and receives with T1.
            byte[] first = new byte[ChaChaPoly.KEY_LENGTH];
            byte[] second = new byte[ChaChaPoly.KEY_LENGTH];
            state.split(first, second);

            System.arraycopy(initiation.timestamp(), 0, greatestTimestamp, 0, Tai64n.LENGTH);
            initiationTaken = true;
            lastTakenNanos = now;
            return Optional.of(new SessionKeys(second, first, localIndex, initiation.senderIndex(), false));
        } finally {
            Arrays.fill(shared, (byte) 0);
            state.wipe();
        }
    }

    /**
     * A {@value #COOKIE_REPLY_LENGTH}-byte cookie reply answering the last message this side sent to
     * the peer (its receiver index already matched by the device): decrypts and keeps the cookie
     * for mac2 of the next messages. False if it does not authenticate.
     */
    public synchronized boolean consumeCookieReply(byte[] msg, int len) {
        return cookie.consume(msg, len);
    }

    /**
     * Forgets the pending initiation, wiping its ephemeral state (a peer removed, or the attempt
     * abandoned); a response to it is then refused. The timestamp and cookie state stay.
     */
    public synchronized void forgetInitiation() {
        initiationPending = false;
        initiationEphemeral = null;
        initiation.wipe();
    }

    /** mac1 keyed by the peer's public key, then mac2 keyed by a held cookie (paper section 5.4.4). */
    private void writeMacs(byte[] out, int len, int senderIndex) {
        MessageMacs.writeMac1(mac1Key, out, len);
        cookie.sent(out, len, senderIndex);
        cookie.writeMac2(out, len);
    }

    /** DH-GENERATE: a fresh clamped scalar (wiped once the JDK holds it), its public key written to {@code out}. */
    private static PrivateKey generateEphemeral(byte[] out, int offset) {
        byte[] scalar = X25519.generatePrivate(StaticIdentity.RANDOM);
        try {
            PrivateKey ephemeral = X25519.privateKey(scalar);
            X25519.publicKeyOf(ephemeral, out, offset);
            return ephemeral;
        } finally {
            Arrays.fill(scalar, (byte) 0);
        }
    }

    /** The TAI64N stamp of now, or one granule past the last one sent if the wall clock has not moved past it. */
    private void nextTimestamp(byte[] out) {
        Tai64n.write(wallClock.instant(), out, 0);
        if (timestampSent && Tai64n.compare(out, 0, lastTimestampSent, 0) <= 0) {
            Tai64n.next(lastTimestampSent, out, 0);
        }
        System.arraycopy(out, 0, lastTimestampSent, 0, Tai64n.LENGTH);
        timestampSent = true;
    }

    /** DH with the peer's validated static key cannot give zero; a zero here is a broken invariant. */
    private static void requireAgreement(boolean agreed) {
        if (!agreed) {
            throw new IllegalStateException("X25519 with a validated public key gave zero");
        }
    }

    @Override
    public String toString() {
        return "PeerHandshake[remoteStatic=" + remoteStatic + "]";
    }
}
