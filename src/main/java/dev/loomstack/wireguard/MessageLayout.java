package dev.loomstack.wireguard;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Where things sit in WireGuard's four messages (paper section 5.4; all integers little-endian):
 * a one-byte type and three reserved zero bytes, then the indices. Transport data (type 4, section
 * 5.4.6) is {@code type, reserved, receiver index (4), counter (8)} followed by the ChaCha20-Poly1305
 * ciphertext of the packet padded to a multiple of 16, tag included.
 */
final class MessageLayout {
    private MessageLayout() {}

    static final int TYPE_INITIATION = 1;
    static final int TYPE_RESPONSE = 2;
    static final int TYPE_COOKIE_REPLY = 3;
    static final int TYPE_TRANSPORT = 4;

    static final int INITIATION_SENDER = 4;
    static final int RESPONSE_SENDER = 4;
    static final int RESPONSE_RECEIVER = 8;
    static final int COOKIE_RECEIVER = 4;
    static final int TRANSPORT_RECEIVER = 4;
    static final int TRANSPORT_COUNTER = 8;
    static final int TRANSPORT_HEADER = 16;
    /** Poly1305 tag. */
    static final int TAG = 16;
    /** An empty (keepalive) transport message: header and tag. */
    static final int MIN_TRANSPORT = TRANSPORT_HEADER + TAG;
    /** Plaintext is padded to a multiple of this (section 5.4.6). */
    static final int PADDING_MULTIPLE = 16;
    /** Room for a whole transport message around an inner packet of {@code mtu} bytes. */
    static int transportCapacity(int mtu) {
        return TRANSPORT_HEADER + mtu + PADDING_MULTIPLE + TAG;
    }

    private static final VarHandle LE32 = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LE64 = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    /** The message type, or -1 when a reserved byte is not zero (no message of ours). */
    static int type(byte[] m, int len) {
        if (len < 4 || m[1] != 0 || m[2] != 0 || m[3] != 0) {
            return -1;
        }
        return m[0] & 0xff;
    }

    static int le32(byte[] a, int off) {
        return (int) LE32.get(a, off);
    }

    static long le64(byte[] a, int off) {
        return (long) LE64.get(a, off);
    }

    static void putLe32(byte[] a, int off, int v) {
        LE32.set(a, off, v);
    }

    static void putLe64(byte[] a, int off, long v) {
        LE64.set(a, off, v);
    }

    /**
     * Padding for a plaintext of {@code len} bytes: up to the next multiple of 16, but never past
     * the MTU (wireguard-go's calculatePaddingSize); a keepalive stays empty.
     */
    static int paddedLength(int len, int mtu) {
        if (len == 0) {
            return 0;
        }
        int padded = (len + PADDING_MULTIPLE - 1) & -PADDING_MULTIPLE;
        return Math.max(len, Math.min(padded, mtu));
    }

    /** The 96-bit ChaCha20-Poly1305 nonce of a transport counter: 4 zero bytes, then the counter little-endian. */
    static void nonce(byte[] twelve, long counter) {
        putLe32(twelve, 0, 0);
        putLe64(twelve, 4, counter);
    }
}
