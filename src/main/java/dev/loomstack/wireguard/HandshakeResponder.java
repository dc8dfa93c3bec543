package dev.loomstack.wireguard;

import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;

/**
 * The link-wide half of the handshake: checks the MACs of every handshake message addressed to
 * this node (mac1 keyed by our public key; mac2 keyed by a cookie while under load, paper section
 * 5.4.4 and 5.4.7), writes cookie replies (XChaCha20-Poly1305, the secret renewed every two
 * minutes), and opens initiations to learn which peer sent them.
 *
 * <p>Thread-safe.
 */
public final class HandshakeResponder {
    private final StaticIdentity local;
    /** HASH("mac1----" || our public key): mac1 of every message sent to us. */
    private final byte[] mac1Key;
    /** HASH("cookie--" || our public key): our cookie replies are sealed under it. */
    private final byte[] cookieKey;
    /** H after mixing our public key, where every initiation to us starts (paper section 5.4.2). */
    private final byte[] initialHash;
    private final CookieSecret cookieSecret;

    /**
     * @param monotonic for the cookie secret's two-minute life
     */
    public HandshakeResponder(StaticIdentity local, dev.loomstack.stack.Clock monotonic) {
        this.local = Objects.requireNonNull(local, "local");
        byte[] publicBytes = local.publicBytes();
        this.mac1Key = MessageMacs.mac1Key(publicBytes);
        this.cookieKey = MessageMacs.cookieKey(publicBytes);
        this.initialHash = SymmetricState.initialHash(publicBytes);
        this.cookieSecret = new CookieSecret(Objects.requireNonNull(monotonic, "monotonic"), StaticIdentity.RANDOM);
    }

    /** mac1 of this handshake message (initiation or response, whole) is right for our public key. */
    public boolean mac1Valid(byte[] msg, int len) {
        return HandshakeMessages.carriesMacs(msg, len) && MessageMacs.mac1Valid(mac1Key, msg, len);
    }

    /** mac2 of this handshake message is right for the cookie {@code source} would hold now. */
    public boolean mac2Valid(byte[] msg, int len, InetSocketAddress source) {
        if (!HandshakeMessages.carriesMacs(msg, len) || source == null || source.getAddress() == null) {
            return false;
        }
        byte[] cookie = cookieSecret.currentCookie(source);
        return cookie != null && MessageMacs.mac2Valid(cookie, msg, len);
    }

    /**
     * Writes the {@value PeerHandshake#COOKIE_REPLY_LENGTH}-byte cookie reply to the handshake
     * message {@code msg} from {@code source} into {@code out[0..64)}; returns 64.
     *
     * @throws IllegalArgumentException if {@code msg} is not a whole initiation or response, or
     *     {@code source} is unresolved
     */
    public int writeCookieReply(byte[] msg, int len, InetSocketAddress source, byte[] out) {
        if (!HandshakeMessages.carriesMacs(msg, len)) {
            throw new IllegalArgumentException("a cookie reply answers a whole initiation or response");
        }
        if (source == null || source.getAddress() == null) {
            throw new IllegalArgumentException("a cookie reply needs the resolved source address");
        }
        byte[] cookie = cookieSecret.cookieRenewingSecret(source);
        Arrays.fill(out, 0, HandshakeMessages.COOKIE_NONCE, (byte) 0);
        HandshakeMessages.writeIntLe(HandshakeMessages.TYPE_COOKIE_REPLY, out, HandshakeMessages.TYPE_OFFSET);
        // The reply goes to the index the message's sender chose (the same offset in both messages).
        HandshakeMessages.writeIntLe(HandshakeMessages.readIntLe(msg, HandshakeMessages.SENDER_OFFSET), out,
                HandshakeMessages.COOKIE_RECEIVER);
        byte[] nonce = new byte[XChaChaPoly.NONCE_LENGTH];
        StaticIdentity.RANDOM.nextBytes(nonce);
        System.arraycopy(nonce, 0, out, HandshakeMessages.COOKIE_NONCE, nonce.length);
        // Sealed with the message's mac1 as associated data: only its sender, who knows that mac1, opens it.
        XChaChaPoly.seal(cookieKey, nonce, 0, cookie, 0, cookie.length,
                msg, HandshakeMessages.mac1Offset(len), Blake2s.MAC_LENGTH, out, HandshakeMessages.COOKIE_SEALED);
        Arrays.fill(cookie, (byte) 0);
        return HandshakeMessages.COOKIE_REPLY_LENGTH;
    }

    /**
     * Decrypts an initiation (mac1 already checked): the initiator's static key and timestamp.
     * Empty if it does not authenticate against our static key.
     */
    public Optional<OpenedInitiation> openInitiation(byte[] msg, int len) {
        if (!HandshakeMessages.is(msg, len, HandshakeMessages.TYPE_INITIATION, HandshakeMessages.INITIATION_LENGTH)) {
            return Optional.empty();
        }
        SymmetricState state = new SymmetricState();
        byte[] shared = new byte[X25519.KEY_LENGTH];
        byte[] initiatorStatic = new byte[X25519.KEY_LENGTH];
        byte[] timestamp = new byte[Tai64n.LENGTH];
        boolean opened = false;
        try {
            // Paper section 5.4.2, as the responder replays it: C = KDF1(C, Ei_pub); H = HASH(H || Ei_pub).
            state.initialize(initialHash);
            byte[] ephemeral = Arrays.copyOfRange(msg, HandshakeMessages.INITIATION_EPHEMERAL,
                    HandshakeMessages.INITIATION_EPHEMERAL + X25519.KEY_LENGTH);
            state.mixKey(ephemeral, 0, ephemeral.length);
            state.mixHash(ephemeral, 0, ephemeral.length);
            // (C, k) = KDF2(C, DH(Sr_priv, Ei_pub)); static = AEAD-open(k, 0, msg.static, H).
            if (!local.agree(ephemeral, 0, shared, 0)) {
                return Optional.empty();
            }
            state.mixKeyAndKey(shared, 0, shared.length);
            if (!state.decryptAndHash(msg, HandshakeMessages.INITIATION_STATIC,
                    HandshakeMessages.INITIATION_STATIC_SEALED, initiatorStatic, 0)) {
                return Optional.empty();
            }
            // (C, k) = KDF2(C, DH(Sr_priv, Si_pub)); timestamp = AEAD-open(k, 0, msg.timestamp, H).
            if (!local.agree(initiatorStatic, 0, shared, 0)) {
                return Optional.empty();
            }
            state.mixKeyAndKey(shared, 0, shared.length);
            if (!state.decryptAndHash(msg, HandshakeMessages.INITIATION_TIMESTAMP,
                    HandshakeMessages.INITIATION_TIMESTAMP_SEALED, timestamp, 0)) {
                return Optional.empty();
            }
            int senderIndex = HandshakeMessages.readIntLe(msg, HandshakeMessages.SENDER_OFFSET);
            opened = true;
            return Optional.of(new OpenedInitiation(initiatorStatic, senderIndex, ephemeral, timestamp, state));
        } finally {
            Arrays.fill(shared, (byte) 0);
            if (!opened) {
                state.wipe();
            }
        }
    }

    /** Our public key (the one mac1 and initiations to us are keyed by). */
    public WireGuardKey publicKey() {
        return local.publicKey();
    }
}
