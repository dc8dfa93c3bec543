package dev.loomstack.packet;

import java.lang.foreign.MemorySegment;

/**
 * A packet's bytes in a reusable array, with headroom in front so lower layers can prepend their
 * headers without copying. The readable packet is {@code array()[start() .. end())}.
 *
 * <p>Ownership is explicit: whoever holds a buffer either passes it on (a link's write queue takes
 * it) or {@link #release() releases} it back to its pool. A buffer lent for the duration of a call
 * (inbound delivery) must not be kept after the call returns; copy what must outlive it.
 */
public final class PacketBuffer {
    /** Start offsets whose native views a buffer keeps. */
    private static final int NATIVE_VIEWS = 4;
    private final byte[] array;
    private final PacketBufferPool pool;
    private int start;
    private int end;
    /** The array as a heap memory segment, made on the buffer's first native call. */
    private MemorySegment nativeWhole;
    /** A few views from a start offset to the end, kept for reuse (see {@link #nativeView}). */
    private int[] nativeViewFrom;
    private MemorySegment[] nativeViews;
    private int nextNativeView;
    private int segmentSize;
    private boolean checksumVerified;
    private boolean checksumPartial;

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

    /** Makes the buffer empty with {@code headroom} bytes reserved in front, without offload marks. */
    public PacketBuffer reset(int headroom) {
        clearOffload();
        return range(headroom, headroom);
    }

    // ---- segmentation and checksum offload (the meaning of a virtio_net_hdr) ----------------------

    /**
     * For a TCP packet larger than one segment: the payload bytes of each segment it stands for
     * (the MSS it was or is to be cut at); 0 for a plain packet. Outbound, the link (or its
     * kernel) cuts the packet into segments of this size, each with its own headers; inbound, the
     * peer's kernel handed the segments over whole.
     */
    public int segmentSize() {
        return segmentSize;
    }

    public PacketBuffer segmentSize(int size) {
        if (size < 0) {
            throw new IllegalArgumentException("segment size " + size);
        }
        this.segmentSize = size;
        return this;
    }

    /**
     * Inbound: the transport checksum was verified already (by the peer's kernel, which marked it
     * valid, or when the link coalesced the packet) and need not be computed again.
     */
    public boolean checksumVerified() {
        return checksumVerified;
    }

    public PacketBuffer checksumVerified(boolean verified) {
        this.checksumVerified = verified;
        return this;
    }

    /**
     * Outbound: the transport checksum field holds only the pseudo-header sum (RFC 9293 section
     * 3.1, over the packet's whole transport length); the link completes it, per segment when it
     * cuts the packet.
     */
    public boolean checksumPartial() {
        return checksumPartial;
    }

    public PacketBuffer checksumPartial(boolean partial) {
        this.checksumPartial = partial;
        return this;
    }

    /** Forgets every offload mark: a plain packet with a complete checksum. */
    public PacketBuffer clearOffload() {
        segmentSize = 0;
        checksumVerified = false;
        checksumPartial = false;
        return this;
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

    /**
     * The array from {@code from} to its end as a heap memory segment, for a native call that reads
     * or writes the packet in place (a critical downcall may take heap memory). The last few views
     * are kept: a pooled buffer serves packets that start at a handful of offsets (the headers in
     * front differ by IP version and TCP options), so a reused buffer allocates no view per packet,
     * whatever the JIT's escape analysis makes of a fresh one.
     */
    public MemorySegment nativeView(int from) {
        if (nativeViews == null) {
            nativeWhole = MemorySegment.ofArray(array);
            nativeViewFrom = new int[NATIVE_VIEWS];
            java.util.Arrays.fill(nativeViewFrom, -1);
            nativeViews = new MemorySegment[NATIVE_VIEWS];
        }
        for (int i = 0; i < NATIVE_VIEWS; i++) {
            if (nativeViewFrom[i] == from) {
                return nativeViews[i];
            }
        }
        MemorySegment view = nativeWhole.asSlice(from);
        int i = nextNativeView;
        nextNativeView = (i + 1) % NATIVE_VIEWS;
        nativeViewFrom[i] = from;
        nativeViews[i] = view;
        return view;
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
