package dev.loomstack.wireguard;

import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.packet.PacketBufferPool;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;

/**
 * One received datagram's place in the receive ring: the datagram as it came (read straight into
 * {@link #wire}), its source, and the decrypted inner packet with headroom in front for the layers
 * above. Preallocated: a slot is reused for every datagram that passes through it.
 */
final class InboundSlot {
    static final int FREE = 0;
    static final int QUEUED = 1;
    static final int DECRYPTED = 2;
    static final int FAILED = 3;

    final byte[] wire;
    final ByteBuffer wireBuffer;
    int wireLength;
    InetSocketAddress source;
    final PacketBuffer plain;
    int plainLength;
    Keypair keypair;
    long counter;
    volatile int state;

    InboundSlot(int mtu) {
        int capacity = MessageLayout.transportCapacity(mtu);
        wire = new byte[capacity];
        wireBuffer = ByteBuffer.wrap(wire);
        plain = PacketBuffer.unpooled(PacketBufferPool.DEFAULT_HEADROOM + capacity);
    }

    /**
     * Decrypts the transport message in place of its slot (a crypto worker), leaving
     * {@link #DECRYPTED} or {@link #FAILED}. The keypair's age is checked here too (section 6.1:
     * nothing is taken under a keypair past reject-after-time).
     */
    void decrypt(Cipher cipher, byte[] nonce, long nowNanos) {
        Keypair k = keypair;
        if (k.wiped() || k.expired(nowNanos)) {
            state = FAILED;
            return;
        }
        MessageLayout.nonce(nonce, counter);
        try {
            cipher.init(Cipher.DECRYPT_MODE, k.receiveKey, new IvParameterSpec(nonce));
            plainLength = cipher.doFinal(wire, MessageLayout.TRANSPORT_HEADER, wireLength - MessageLayout.TRANSPORT_HEADER,
                    plain.array(), PacketBufferPool.DEFAULT_HEADROOM);
            state = DECRYPTED;
        } catch (AEADBadTagException e) {
            state = FAILED;
        } catch (java.security.GeneralSecurityException | IllegalStateException e) {
            // A key wiped between the check and init lands here: the packet is dropped all the same.
            state = FAILED;
        }
    }

    void clear() {
        keypair = null;
        source = null;
        state = FREE;
    }
}
