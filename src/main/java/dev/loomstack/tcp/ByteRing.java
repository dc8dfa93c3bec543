package dev.loomstack.tcp;

/**
 * A bounded ring of bytes whose storage is allocated on first use, grows by doubling up to its
 * capacity, and is dropped when empty, so an idle connection holds no buffer at all.
 */
final class ByteRing {
    private static final int FIRST_ALLOCATION = 16 << 10;
    private int capacity;
    private byte[] buf;
    private int head;
    private int size;

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
        ensure(size + n);
        int tail = (head + size) % buf.length;
        int first = Math.min(n, buf.length - tail);
        System.arraycopy(src, off, buf, tail, first);
        if (n > first) {
            System.arraycopy(src, off + first, buf, 0, n - first);
        }
        size += n;
        return n;
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
        if (size == 0) {
            buf = null;
            head = 0;
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
        int n = buf == null ? Math.min(capacity, FIRST_ALLOCATION) : buf.length;
        while (n < needed) {
            n = Math.min(capacity, n * 2);
        }
        byte[] next = new byte[n];
        if (buf != null && size > 0) {
            int first = Math.min(size, buf.length - head);
            System.arraycopy(buf, head, next, 0, first);
            System.arraycopy(buf, 0, next, first, size - first);
        }
        buf = next;
        head = 0;
    }
}
