package dev.loomstack.tcp;

/**
 * A bounded ring of bytes whose storage is taken on first use, grows by doubling up to its
 * capacity, and is given back when empty, so an idle connection holds no buffer at all. The arrays
 * are power-of-two chunks reused through {@link RingChunks}, so a ring that empties and fills
 * again (bursty or ping-pong traffic) allocates nothing.
 *
 * <p>Past the readable bytes, a receiver may {@linkplain #store store} bytes that arrived out of
 * order at the place they will occupy, and {@linkplain #commit commit} them once the gap before
 * them fills: out-of-order data then costs no memory beyond the window the ring already is.
 */
final class ByteRing {
    private static final int FIRST_ALLOCATION = 16 << 10;
    private int capacity;
    private byte[] buf;
    /**
     * The size of the array last given back: the next burst takes that size again at once rather
     * than growing through every smaller one (each growth a copy). Only a number: an empty ring
     * still holds no array.
     */
    private int lastChunk;
    private int head;
    private int size;
    /** Bytes past the head that hold data: the readable ones plus any stored beyond them. */
    private int extent;

    ByteRing(int capacity) {
        this.capacity = capacity;
    }

    int size() {
        return size;
    }

    int capacity() {
        return capacity;
    }

    /** Raises the bound (receive-window auto-tuning); never lowers it. */
    void growCapacity(int c) {
        capacity = Math.max(capacity, c);
    }

    int free() {
        return capacity - size;
    }

    /** Bytes of storage held now (for memory accounting). */
    int allocated() {
        return buf == null ? 0 : buf.length;
    }

    /** Appends up to {@code len} bytes; returns how many fit. */
    int write(byte[] src, int off, int len) {
        int n = Math.min(len, free());
        if (n == 0) {
            return 0;
        }
        store(size, src, off, n);
        commit(n);
        return n;
    }

    /**
     * Copies {@code len} bytes to {@code from} bytes past the head, beyond the readable ones,
     * without making them readable.
     */
    void store(int from, byte[] src, int off, int len) {
        if (from < size || len < 0 || from + len > capacity) {
            throw new IllegalArgumentException("store " + len + " at " + from + " with " + size + " of " + capacity);
        }
        if (len == 0) {
            return;
        }
        ensure(from + len);
        int at = (head + from) % buf.length;
        int first = Math.min(len, buf.length - at);
        System.arraycopy(src, off, buf, at, first);
        if (len > first) {
            System.arraycopy(src, off + first, buf, 0, len - first);
        }
        extent = Math.max(extent, from + len);
    }

    /** Makes {@code n} stored bytes after the readable ones readable. */
    void commit(int n) {
        if (n < 0 || size + n > extent) {
            throw new IllegalStateException("commit " + n + " with " + size + " readable of " + extent + " held");
        }
        size += n;
    }

    /** Forgets the bytes stored past the readable ones. */
    void discardStored() {
        extent = size;
        if (size == 0) {
            dropStorage();
        }
    }

    /** Empty: the array goes back to the shared chunks. */
    private void dropStorage() {
        if (buf != null) {
            lastChunk = buf.length;
            RingChunks.give(buf);
            buf = null;
        }
        head = 0;
    }

    /** Copies {@code len} bytes starting {@code from} bytes past the head, without consuming. */
    void peek(int from, byte[] dst, int off, int len) {
        int start = (head + from) % buf.length;
        int first = Math.min(len, buf.length - start);
        System.arraycopy(buf, start, dst, off, first);
        if (len > first) {
            System.arraycopy(buf, 0, dst, off + first, len - first);
        }
    }

    /** Removes {@code n} bytes from the head. */
    void skip(int n) {
        if (n > size) {
            throw new IllegalStateException("skip " + n + " of " + size);
        }
        size -= n;
        extent -= n;
        if (extent == 0) {
            dropStorage();
        } else {
            head = (head + n) % buf.length;
        }
    }

    /** Reads and removes up to {@code len} bytes. */
    int read(byte[] dst, int off, int len) {
        int n = Math.min(len, size);
        if (n > 0) {
            peek(0, dst, off, n);
            skip(n);
        }
        return n;
    }

    private void ensure(int needed) {
        if (buf != null && buf.length >= needed) {
            return;
        }
        // Power-of-two chunks (possibly a little past the capacity, which bounds the bytes held).
        int n = buf != null ? buf.length
                : Math.max(lastChunk, RingChunks.chunkSize(Math.min(capacity, FIRST_ALLOCATION)));
        while (n < needed) {
            n = RingChunks.chunkSize(n * 2);
        }
        byte[] next = RingChunks.take(n);
        if (buf != null) {
            if (extent > 0) {
                int first = Math.min(extent, buf.length - head);
                System.arraycopy(buf, head, next, 0, first);
                System.arraycopy(buf, 0, next, first, extent - first);
            }
            RingChunks.give(buf);
        }
        buf = next;
        head = 0;
    }
}
