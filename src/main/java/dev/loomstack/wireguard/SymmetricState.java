package dev.loomstack.wireguard;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The Noise symmetric state of one handshake (Noise specification section 5.2) as WireGuard writes
 * it out (paper section 5.4): the chaining key C, the hash H, and the operations its message
 * sections are made of. Not thread-safe: a handshake owns its state.
 */
final class SymmetricState {
    /** Noise protocol name (paper section 5.4.1). */
    static final String CONSTRUCTION = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
    /** WireGuard's prologue: the identifier mixed into H (paper section 5.4.1). */
    static final String IDENTIFIER = "WireGuard v1 zx2c4 Jason@zx2c4.com";

    private static final byte[] EMPTY = new byte[0];

    /** C0 = HASH(CONSTRUCTION). */
    private static final byte[] INITIAL_CHAINING_KEY = new byte[Blake2s.HASH_LENGTH];
    /** H0 = HASH(C0 || IDENTIFIER). */
    private static final byte[] INITIAL_HASH;

    static {
        byte[] construction = CONSTRUCTION.getBytes(StandardCharsets.US_ASCII);
        Blake2s.hash(construction, 0, construction.length, construction, 0, 0, INITIAL_CHAINING_KEY, 0);
        INITIAL_HASH = Blake2s.hash(INITIAL_CHAINING_KEY, IDENTIFIER.getBytes(StandardCharsets.US_ASCII));
    }

    final byte[] chainingKey = new byte[Kdf.LENGTH];
    final byte[] hash = new byte[Blake2s.HASH_LENGTH];
    /** The cipher key k of the last mixKeyAndKey / mixPresharedKey. */
    private final byte[] key = new byte[ChaChaPoly.KEY_LENGTH];

    /**
     * H1 = HASH(H0 || responder's static public key): both sides start from it (paper section 5.4.2),
     * so it is computed once per responder key.
     */
    static byte[] initialHash(byte[] responderStatic) {
        return Blake2s.hash(INITIAL_HASH, responderStatic);
    }

    /** C = C0, H = {@code initialHash} (from {@link #initialHash}). */
    void initialize(byte[] initialHash) {
        System.arraycopy(INITIAL_CHAINING_KEY, 0, chainingKey, 0, chainingKey.length);
        System.arraycopy(initialHash, 0, hash, 0, hash.length);
        Arrays.fill(key, (byte) 0);
    }

    void copyFrom(SymmetricState other) {
        System.arraycopy(other.chainingKey, 0, chainingKey, 0, chainingKey.length);
        System.arraycopy(other.hash, 0, hash, 0, hash.length);
        System.arraycopy(other.key, 0, key, 0, key.length);
    }

    /** H = HASH(H || data). */
    void mixHash(byte[] data, int offset, int length) {
        Blake2s.hash(hash, 0, hash.length, data, offset, length, hash, 0);
    }

    /** C = KDF1(C, input). */
    void mixKey(byte[] input, int offset, int length) {
        Kdf.derive(chainingKey, input, offset, length, chainingKey, null, null);
    }

    /** (C, k) = KDF2(C, input). */
    void mixKeyAndKey(byte[] input, int offset, int length) {
        Kdf.derive(chainingKey, input, offset, length, chainingKey, key, null);
    }

    /** (C, τ, k) = KDF3(C, Q); H = HASH(H || τ): the "psk" token (paper section 5.4.3). */
    void mixPresharedKey(byte[] presharedKey) {
        byte[] tau = new byte[Kdf.LENGTH];
        Kdf.derive(chainingKey, presharedKey, 0, presharedKey.length, chainingKey, tau, key);
        mixHash(tau, 0, tau.length);
        Arrays.fill(tau, (byte) 0);
    }

    /** out = AEAD(k, 0, plain, H); H = HASH(H || out). Returns the sealed length (plain + 16). */
    int encryptAndHash(byte[] plain, int offset, int length, byte[] out, int outOffset) {
        int sealed = ChaChaPoly.seal(key, 0, plain, offset, length, hash, 0, hash.length, out, outOffset);
        mixHash(out, outOffset, sealed);
        return sealed;
    }

    /**
     * plain = AEAD-open(k, 0, sealed, H); H = HASH(H || sealed). False (and H unchanged) when it
     * does not authenticate.
     */
    boolean decryptAndHash(byte[] sealed, int offset, int length, byte[] out, int outOffset) {
        if (!ChaChaPoly.open(key, 0, sealed, offset, length, hash, 0, hash.length, out, outOffset)) {
            return false;
        }
        mixHash(sealed, offset, length);
        return true;
    }

    /** (T1, T2) = KDF2(C, ε): the transport keys (paper section 5.4.5); T1 is the initiator's sending key. */
    void split(byte[] first, byte[] second) {
        Kdf.derive(chainingKey, EMPTY, 0, 0, first, second, null);
    }

    void wipe() {
        Arrays.fill(chainingKey, (byte) 0);
        Arrays.fill(hash, (byte) 0);
        Arrays.fill(key, (byte) 0);
    }
}
