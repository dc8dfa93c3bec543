package dev.loomstack.link;

import dev.loomstack.packet.PacketBuffer;

/**
 * A point-to-point link that carries raw IP packets (no link-layer header): a TUN device, an
 * in-memory pair, or a decorator over either.
 *
 * <p>Inbound: after {@link #start} the link delivers every packet it reads to the dispatcher, on
 * the link's own reader thread, lending the buffer for the duration of the call. Outbound:
 * {@link #writePacket} takes ownership of the buffer and releases it once written or dropped.
 */
public interface LinkEndpoint extends AutoCloseable {
    /** The link's MTU: the largest IP packet it carries, in bytes. */
    int mtu();

    /** A name for logs and metrics ({@code loomstack0}, {@code memory-a}). */
    String name();

    /** Starts delivering inbound packets to {@code dispatcher}. May be called once. */
    void start(NetworkDispatcher dispatcher);

    /**
     * Queues a packet for writing; takes ownership. Blocks while the write queue is full
     * (back-pressure) and returns false, releasing the buffer, if the link is closed or the
     * calling thread is interrupted.
     */
    boolean writePacket(PacketBuffer packet);

    /**
     * The largest IP packet this link takes with a {@linkplain PacketBuffer#segmentSize() segment
     * size} and a {@linkplain PacketBuffer#checksumPartial() partial checksum}, cutting it into
     * MTU-sized segments itself (TCP segmentation offload); 0 when it takes none, and then every
     * packet written must fit the MTU with its checksum complete.
     */
    default int maxOffloadSize() {
        return 0;
    }

    /** Counters of this link. */
    LinkStats stats();

    /** Told when a link is lost for good (its device deleted under it); see {@link #onLoss}. */
    @FunctionalInterface
    interface LossListener {
        /** Called once, on a link thread; {@code cause} names the device and the kernel's answer. */
        void linkLost(String cause);
    }

    /**
     * Registers {@code listener} to be told when the link is lost for good; told at once if it
     * already is. Never called for a link closed on purpose. Links that cannot be lost (in-memory
     * ones) never call it.
     */
    default void onLoss(LossListener listener) {}

    /** True once the link is lost for good: nothing is read or written any more. */
    default boolean isLost() {
        return false;
    }

    /** Stops the reader and writer, and releases the device. Idempotent. */
    @Override
    void close();
}
