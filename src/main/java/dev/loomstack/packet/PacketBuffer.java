package dev.loomstack.packet;

/**
 * A packet's bytes in a reusable array, with headroom in front so lower layers can prepend their
 * headers without copying. The readable packet is {@code array()[start() .. end())}.
 *
 * <p>Ownership is explicit: whoever holds a buffer either passes it on (a link's write queue takes
 * it) or {@link #release() releases} it back to its pool. A buffer lent for the duration of a call
 * (inbound delivery) must not be kept after the call returns; copy what must outlive it.
 */
public final class PacketBuffer {
    private final byte[] array;
    private final PacketBufferPool pool;
    private int start;
    private int end;

    PacketBuffer(int capacity, PacketBufferPool pool) {
        this.array = new byte[capacity];
        this.pool = pool;
    }

    /** An unpooled buffer, for tests and for the rare packet larger than the pool's buffers. */
    public static PacketBuffer unpooled(int capacity) {
        return new PacketBuffer(capacity, null);
    }

    /** An unpooled buffer holding a copy of {@code bytes}, with {@code headroom} free bytes in front. */
    public static PacketBuffer copyOf(byte[] bytes, int headroom) {
        PacketBuffer b = new PacketBuffer(headroom + bytes.length, null);
        System.arraycopy(bytes, 0, b.array, headroom, bytes.length);
        b.start = headroom;
        b.end = headroom + bytes.length;
        return b;
    }

    public byte[] array() {
        return array;
    }

    public int capacity() {
        return array.length;
    }

    public int start() {
        return start;
    }

    public int end() {
        return end;
    }

    public int length() {
        return end - start;
    }

    public int headroom() {
        return start;
    }

    /** Sets the readable range. */
    public PacketBuffer range(int start, int end) {
        if (start < 0 || end < start || end > array.length) {
            throw new IndexOutOfBoundsException("range [" + start + ", " + end + ") of " + array.length);
        }
        this.start = start;
        this.end = end;
        return this;
    }

    /** Makes the buffer empty with {@code headroom} bytes reserved in front. */
    public PacketBuffer reset(int headroom) {
        return range(headroom, headroom);
    }

    /** Grows the packet at the front by {@code n} bytes (a header is about to be written there). */
    public int prepend(int n) {
        if (n > start) {
            throw new IndexOutOfBoundsException("prepend " + n + " with headroom " + start);
        }
        start -= n;
        return start;
    }

    /** Grows the packet at the back by {@code n} bytes; returns the offset where they begin. */
    public int append(int n) {
        if (end + n > array.length) {
            throw new IndexOutOfBoundsException("append " + n + " at " + end + " of " + array.length);
        }
        int at = end;
        end += n;
        return at;
    }

    /** Removes {@code n} bytes from the front (a header has been consumed). */
    public void consume(int n) {
        if (n > length()) {
            throw new IndexOutOfBoundsException("consume " + n + " of " + length());
        }
        start += n;
    }

    /** A copy of the readable bytes (tests and slow paths only). */
    public byte[] toByteArray() {
        byte[] out = new byte[length()];
        System.arraycopy(array, start, out, 0, out.length);
        return out;
    }

    boolean pooledBy(PacketBufferPool p) {
        return pool == p;
    }

    /** Gives the buffer back to its pool; an unpooled buffer is simply dropped. */
    public void release() {
        if (pool != null) {
            pool.giveBack(this);
        }
    }
}
