package dev.loomstack.wireguard;

import dev.loomstack.packet.PacketBuffer;
import java.nio.ByteBuffer;
import java.util.Arrays;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;

/**
 * One outgoing transport message's place in the send ring: the inner packet handed in (null for a
 * keepalive), the peer and keypair it goes under with its counter, and the message once encrypted
 * (written into {@link #wire}). Preallocated and reused.
 */
final class OutboundSlot {
    static final int FREE = 0;
    static final int QUEUED = 1;
    static final int ENCRYPTED = 2;
    static final int FAILED = 3;

    final byte[] wire;
    final ByteBuffer wireBuffer;
    int wireLength;
    PacketBuffer packet;
    int innerLength;
    Peer peer;
    Keypair keypair;
    long counter;
    volatile int state;

    OutboundSlot(int mtu) {
        wire = new byte[MessageLayout.transportCapacity(mtu)];
        wireBuffer = ByteBuffer.wrap(wire);
    }

    /**
     * Builds the transport message (section 5.4.6): header, then the packet padded with zeros to a
     * multiple of 16 and encrypted in place with the counter as nonce. The packet buffer goes back
     * to its pool here, as early as possible.
     */
    void encrypt(Cipher cipher, byte[] nonce, int mtu) {
        PacketBuffer p = packet;
        packet = null;
        int len = 0;
        if (p != null) {
            len = p.length();
            System.arraycopy(p.array(), p.start(), wire, MessageLayout.TRANSPORT_HEADER, len);
            p.release();
        }
        innerLength = len;
        int padded = MessageLayout.paddedLength(len, mtu);
        Arrays.fill(wire, MessageLayout.TRANSPORT_HEADER + len, MessageLayout.TRANSPORT_HEADER + padded, (byte) 0);
        wire[0] = MessageLayout.TYPE_TRANSPORT;
        wire[1] = 0;
        wire[2] = 0;
        wire[3] = 0;
        Keypair k = keypair;
        MessageLayout.putLe32(wire, MessageLayout.TRANSPORT_RECEIVER, k.remoteIndex);
        MessageLayout.putLe64(wire, MessageLayout.TRANSPORT_COUNTER, counter);
        MessageLayout.nonce(nonce, counter);
        try {
            cipher.init(Cipher.ENCRYPT_MODE, k.sendKey, new IvParameterSpec(nonce));
            if (k.wiped()) {
                // Wiped while the key was being read: it may have been read zeroed. Never send that.
                state = FAILED;
                return;
            }
            int n = cipher.doFinal(wire, MessageLayout.TRANSPORT_HEADER, padded, wire, MessageLayout.TRANSPORT_HEADER);
            wireLength = MessageLayout.TRANSPORT_HEADER + n;
            state = ENCRYPTED;
        } catch (java.security.GeneralSecurityException | IllegalStateException e) {
            // The keypair was wiped meanwhile (its key destroyed): nothing is sent.
            state = FAILED;
        }
    }

    void clear() {
        PacketBuffer p = packet;
        if (p != null) {
            packet = null;
            p.release();
        }
        peer = null;
        keypair = null;
        state = FREE;
    }
}
