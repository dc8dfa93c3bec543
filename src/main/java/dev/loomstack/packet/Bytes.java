package dev.loomstack.packet;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/** Network-byte-order (big-endian) access to byte arrays; every header view reads through these. */
public final class Bytes {
    private static final VarHandle SHORT = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

    private Bytes() {}

    public static int u8(byte[] b, int off) {
        return b[off] & 0xff;
    }

    public static int u16(byte[] b, int off) {
        return (short) SHORT.get(b, off) & 0xffff;
    }

    public static long u32(byte[] b, int off) {
        return (int) INT.get(b, off) & 0xffffffffL;
    }

    public static int i32(byte[] b, int off) {
        return (int) INT.get(b, off);
    }

    public static long i64(byte[] b, int off) {
        return (long) LONG.get(b, off);
    }

    public static void put8(byte[] b, int off, int v) {
        b[off] = (byte) v;
    }

    public static void put16(byte[] b, int off, int v) {
        SHORT.set(b, off, (short) v);
    }

    public static void put32(byte[] b, int off, long v) {
        INT.set(b, off, (int) v);
    }

    public static void put32(byte[] b, int off, int v) {
        INT.set(b, off, v);
    }

    public static void put64(byte[] b, int off, long v) {
        LONG.set(b, off, v);
    }
}
