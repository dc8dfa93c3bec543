package dev.loomstack.tcp;

import static dev.loomstack.packet.TcpHeader.ACK;
import static dev.loomstack.packet.TcpHeader.FIN;
import static dev.loomstack.packet.TcpHeader.RST;
import static dev.loomstack.packet.TcpHeader.SYN;

import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.packet.TcpHeader;
import dev.loomstack.packet.TcpOptions;
import dev.loomstack.stack.NetworkOutput;
import dev.loomstack.stack.Stats;

/**
 * Builds and sends every segment of one connection: the header (RFC 9293 section 3.1) with the
 * acknowledgment and window the receiver gives (scaled, RFC 7323 section 2.3), timestamps on
 * every segment once agreed (RFC 7323 section 3), SACK blocks while data is held out of order
 * (RFC 2018 sections 3 and 4) or a duplicate waits for its D-SACK block (RFC 2883 section 4), sized
 * so options and data stay within the MSS the peer accepts (RFC 6691), and the checksum. Every ACK
 * sent settles the receiver's delayed ACK and carries a waiting D-SACK block once.
 *
 * <p>It is the sender's {@link TcpSender.Wire}. Called only under the endpoint's lock.
 */
final class SegmentWriter implements TcpSender.Wire {
    /** Room for the IP header in front and the largest TCP header. */
    private static final int HEADROOM = NetworkOutput.MAX_IP_HEADER + 60;

    private final TcpEndpoint endpoint;
    private final NetworkOutput output;
    private final Stats.TcpStats stats;
    private final NegotiatedOptions options;
    private final TcpReceiver receiver;

    SegmentWriter(TcpEndpoint endpoint, NetworkOutput output, Stats.TcpStats stats, NegotiatedOptions options,
                  TcpReceiver receiver) {
        this.endpoint = endpoint;
        this.output = output;
        this.stats = stats;
        this.options = options;
        this.receiver = receiver;
    }

    // ---- for the sender ----------------------------------------------------------------------------

    @Override
    public void emitData(int seq, int flags, int bufferOffset, int len) {
        emit(seq, receiver.rcvNxt(), flags, bufferOffset, len);
    }

    @Override
    public void emitSuperSegment(int seq, int flags, int bufferOffset, int len, int segmentSize) {
        emit(seq, receiver.rcvNxt(), flags, bufferOffset, len, segmentSize);
    }

    /**
     * Segments of {@code segmentSize} bytes one packet may carry: as many as fit the link's offload
     * size behind the largest IP and TCP headers, or 1 when the link cuts nothing.
     */
    @Override
    public int segmentsPerPacket(int segmentSize) {
        int offload = output.maxOffloadSize();
        if (offload <= output.mtu() || segmentSize <= 0) {
            return 1;
        }
        return Math.max(1, (offload - NetworkOutput.MAX_IP_HEADER - TcpHeader.MAX_LENGTH) / segmentSize);
    }

    @Override
    public void emitFin(int seq) {
        sendControl(seq, receiver.rcvNxt(), FIN | ACK);
    }

    /**
     * The most option bytes the SACK blocks of the next segment can take (sendMss already allows for
     * timestamps): a waiting D-SACK block needs the option even with nothing held out of order.
     */
    @Override
    public int sackOptionRoom() {
        return options.sackOk() && receiver.hasSackBlocks()
                ? TcpReceiver.SACK_OPTION_OVERHEAD + TcpReceiver.SACK_BLOCK_LENGTH * TcpReceiver.MAX_SACK_BLOCKS_SENT : 0;
    }

    @Override
    public void segmentSent(boolean newData) {
        endpoint.timers.segmentSent(newData);
    }

    @Override
    public void lossDetectionTimer(long delayNanos) {
        endpoint.timers.armReorder(delayNanos);
    }

    @Override
    public void zeroWindow() {
        endpoint.timers.startPersist();
    }

    @Override
    public void windowOpened() {
        endpoint.timers.stopPersist();
    }

    // ---- segments --------------------------------------------------------------------------------

    /** Our SYN, or SYN-ACK, with the options {@link NegotiatedOptions} offers; the window never scaled (RFC 7323 section 2.2). */
    void sendSyn(boolean withAck) {
        PacketBuffer p = output.pool().acquire(HEADROOM, NetworkOutput.MAX_IP_HEADER);
        byte[] b = p.array();
        int start = p.append(TcpHeader.MIN_LENGTH);
        int n = options.writeSynOptions(b, p.end(), withAck);
        p.append(n);
        int window = receiver.synWindow();
        TcpEndpoint e = endpoint;
        TcpHeader.write(b, start, e.localPort(), e.remotePort(), e.sender.iss(), withAck ? receiver.rcvNxt() : 0,
                TcpHeader.MIN_LENGTH + n, withAck ? SYN | ACK : SYN, window);
        transmit(p, start);
    }

    /** An ACK (or RST, FIN) without data. */
    void sendControl(int seq, int ack, int flags) {
        PacketBuffer p = output.pool().acquire(HEADROOM, NetworkOutput.MAX_IP_HEADER);
        int start = p.append(TcpHeader.MIN_LENGTH);
        int hl = TcpHeader.MIN_LENGTH + writeOptions(p, (flags & RST) == 0, 0);
        int window = (flags & RST) != 0 ? 0 : advertisedWindow();
        TcpHeader.write(p.array(), start, endpoint.localPort(), endpoint.remotePort(), seq, (flags & ACK) != 0 ? ack : 0,
                hl, flags, window);
        if ((flags & ACK) != 0) {
            ackSent();
        }
        if ((flags & RST) != 0) {
            stats.resetsSent.increment();
        }
        transmit(p, start);
    }

    /** A bare ACK of all received so far, from SND.MAX. */
    void sendAck() {
        sendControl(endpoint.sender.sndMax(), receiver.rcvNxt(), ACK);
    }

    /** RFC 5961 sections 3.2, 4.2 and 5.2: an ACK that a blind attacker cannot use, within the stack's rate limit. */
    void challengeAck() {
        if (endpoint.protocol().allowChallengeAck()) {
            sendAck();
        }
    }

    private void emit(int seq, int ack, int flags, int bufferOffset, int len) {
        emit(seq, ack, flags, bufferOffset, len, 0);
    }

    /**
     * A data segment; with {@code segmentSize} > 0 a super-segment of {@code len / segmentSize}
     * segments, whose header (options included) every cut segment repeats, so the SACK blocks are
     * sized beside one segment's data, and whose checksum the link completes per segment. On a
     * link with offload every data segment leaves with a partial checksum for the link to complete.
     */
    private void emit(int seq, int ack, int flags, int bufferOffset, int len, int segmentSize) {
        PacketBuffer p = output.pool().acquire(HEADROOM + len, NetworkOutput.MAX_IP_HEADER);
        int start = p.append(TcpHeader.MIN_LENGTH);
        int hl = TcpHeader.MIN_LENGTH + writeOptions(p, true, segmentSize > 0 ? segmentSize : len);
        int at = p.append(len);
        endpoint.sender.peek(bufferOffset, p.array(), at, len);
        TcpHeader.write(p.array(), start, endpoint.localPort(), endpoint.remotePort(), seq, ack, hl, flags,
                advertisedWindow());
        ackSent();
        if (segmentSize > 0) {
            p.segmentSize(segmentSize).checksumPartial(true);
        } else if (output.maxOffloadSize() > 0) {
            // A link that completes checksums (its kernel, or the NIC behind it) saves this data
            // segment's pass over its payload too.
            p.checksumPartial(true);
        }
        transmit(p, start);
    }

    /**
     * Timestamps on every segment once agreed; SACK blocks when data is held out of order or a
     * duplicate waits to be reported (the D-SACK block first, RFC 2883 section 4), as many as fit
     * beside {@code payloadLength} bytes of data in one MTU (the data was sized for the timestamps
     * alone, and a segment grown past the MTU would leave fragmented).
     */
    private int writeOptions(PacketBuffer p, boolean withSack, int payloadLength) {
        int n = 0;
        byte[] b = p.array();
        int at = p.end();
        boolean tsOk = options.tsOk();
        if (tsOk) {
            n += TcpOptions.writeTimestamps(b, at, options.tsClock(), options.tsRecent());
        }
        if (withSack && options.sackOk() && receiver.hasSackBlocks()) {
            // Options and data together within the MSS the peer accepts (RFC 6691).
            int room = payloadLength == 0 ? options.ourMss() - n : effectiveSendMss() - payloadLength - n;
            int fit = Math.max(0, (room - TcpReceiver.SACK_OPTION_OVERHEAD) / TcpReceiver.SACK_BLOCK_LENGTH);
            int max = Math.min(fit, tsOk ? TcpReceiver.MAX_SACK_BLOCKS_WITH_TIMESTAMPS : TcpReceiver.MAX_SACK_BLOCKS_SENT);
            n += receiver.writeSackBlocks(b, at + n, max);
        }
        p.append(n);
        return n;
    }

    /** Data plus options a segment may carry: the peer's MSS clamped to ours (sendMss less the timestamps). */
    private int effectiveSendMss() {
        return endpoint.sender.sendMss() + (options.tsOk() ? TcpOptions.TIMESTAMPS_ALIGNED_LENGTH : 0);
    }

    /** The window to advertise (RFC 9293 section 3.8.6.2.2), in the units of our window scale. */
    private int advertisedWindow() {
        int sendMss = endpoint.sender.sendMss();
        return receiver.advertisedWindow(sendMss > 0 ? sendMss : options.ourMss());
    }

    private void ackSent() {
        receiver.ackSent();
        endpoint.timers.ackSent();
    }

    private void transmit(PacketBuffer p, int start) {
        int len = p.end() - start;
        p.range(start, p.end());
        if (p.checksumPartial()) {
            TcpHeader.fillPartialChecksum(p.array(), start, len, endpoint.localAddress(), endpoint.remoteAddress());
        } else {
            TcpHeader.fillChecksum(p.array(), start, len, endpoint.localAddress(), endpoint.remoteAddress());
        }
        stats.segmentsSent.increment();
        if (!output.send(endpoint.localAddress(), endpoint.remoteAddress(), TcpHeader.PROTOCOL, p)) {
            stats.segmentSendErrors.increment();
        }
    }
}
