package dev.loomstack.link.wireguard;

import java.net.InetSocketAddress;
import java.util.Optional;

/**
 * The link-wide half of the handshake: checks the MACs of every handshake message addressed to
 * this node (mac1 keyed by our public key; mac2 keyed by a cookie while under load, paper section
 * 5.4.4 and 5.4.7), writes cookie replies (XChaCha20-Poly1305, the secret renewed every two
 * minutes), and opens initiations to learn which peer sent them.
 *
 * <p>CONTRACT (implemented by the protocol part; the device calls it): thread-safe.
 */
public final class HandshakeResponder {
    /**
     * @param monotonic for the cookie secret's two-minute life
     */
    public HandshakeResponder(StaticIdentity local, dev.loomstack.stack.Clock monotonic) {
        throw new UnsupportedOperationException("protocol part");
    }

    /** mac1 of this handshake message (initiation or response, whole) is right for our public key. */
    public boolean mac1Valid(byte[] msg, int len) {
        throw new UnsupportedOperationException("protocol part");
    }

    /** mac2 of this handshake message is right for the cookie {@code source} would hold now. */
    public boolean mac2Valid(byte[] msg, int len, InetSocketAddress source) {
        throw new UnsupportedOperationException("protocol part");
    }

    /**
     * Writes the {@value PeerHandshake#COOKIE_REPLY_LENGTH}-byte cookie reply to the handshake
     * message {@code msg} from {@code source} into {@code out[0..64)}; returns 64.
     */
    public int writeCookieReply(byte[] msg, int len, InetSocketAddress source, byte[] out) {
        throw new UnsupportedOperationException("protocol part");
    }

    /**
     * Decrypts an initiation (mac1 already checked): the initiator's static key and timestamp.
     * Empty if it does not authenticate against our static key.
     */
    public Optional<OpenedInitiation> openInitiation(byte[] msg, int len) {
        throw new UnsupportedOperationException("protocol part");
    }
}
