package dev.loomstack.wireguard;

import java.util.Arrays;
import javax.crypto.SecretKey;

/**
 * One direction's ChaCha20-Poly1305 key of a keypair, built once per keypair and handed to every
 * {@code Cipher.init} of it. Unlike {@link javax.crypto.spec.SecretKeySpec} it can be
 * {@linkplain #destroy() zeroed}, which the device does when a keypair is dropped or its key
 * material expires (wireguard-go's ZeroAndFlushAll).
 */
final class TransportKey implements SecretKey {
    private static final long serialVersionUID = 1L;
    private final byte[] key;
    private volatile boolean destroyed;

    /** Takes (does not copy) the 32 bytes; they are zeroed on {@link #destroy()}. */
    TransportKey(byte[] key) {
        this.key = key;
    }

    @Override
    public String getAlgorithm() {
        return "ChaCha20";
    }

    @Override
    public String getFormat() {
        return "RAW";
    }

    /** A copy, as the JDK's keys give (the provider may zero what it is given). */
    @Override
    public byte[] getEncoded() {
        if (destroyed) {
            throw new IllegalStateException("key destroyed");
        }
        return key.clone();
    }

    @Override
    public void destroy() {
        destroyed = true;
        Arrays.fill(key, (byte) 0);
    }

    @Override
    public boolean isDestroyed() {
        return destroyed;
    }
}
