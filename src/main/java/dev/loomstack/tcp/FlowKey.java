package dev.loomstack.tcp;

import dev.loomstack.packet.Bytes;
import dev.loomstack.packet.IpAddress;

/**
 * A connection's four-tuple as a hash key. The demultiplexer keeps one mutable probe that it
 * fills from each packet's bytes, so a lookup allocates nothing; keys stored in the table are
 * never mutated.
 */
final class FlowKey {
    long localHigh;
    long localLow;
    long remoteHigh;
    long remoteLow;
    int localPort;
    int remotePort;
    private int hash;

    static FlowKey of(IpAddress local, int localPort, IpAddress remote, int remotePort) {
        FlowKey k = new FlowKey();
        k.localHigh = local.high();
        k.localLow = local.v4() ? local.low() | (1L << 40) : local.low();
        k.remoteHigh = remote.high();
        k.remoteLow = remote.v4() ? remote.low() | (1L << 40) : remote.low();
        k.localPort = localPort;
        k.remotePort = remotePort;
        k.rehash();
        return k;
    }

    /** Fills the probe from a packet: the destination is local, the source remote. */
    FlowKey set(byte[] b, int srcOff, int dstOff, int addrLen, int srcPort, int dstPort) {
        if (addrLen == 4) {
            localHigh = 0;
            localLow = (Bytes.i32(b, dstOff) & 0xffffffffL) | (1L << 40);
            remoteHigh = 0;
            remoteLow = (Bytes.i32(b, srcOff) & 0xffffffffL) | (1L << 40);
        } else {
            localHigh = Bytes.i64(b, dstOff);
            localLow = Bytes.i64(b, dstOff + 8);
            remoteHigh = Bytes.i64(b, srcOff);
            remoteLow = Bytes.i64(b, srcOff + 8);
        }
        localPort = dstPort;
        remotePort = srcPort;
        rehash();
        return this;
    }

    private void rehash() {
        long h = localHigh * 31 + localLow;
        h = h * 31 + remoteHigh;
        h = h * 31 + remoteLow;
        h = h * 31 + ((long) localPort << 16 | remotePort);
        h *= 0x9e3779b97f4a7c15L;
        hash = (int) (h ^ (h >>> 32));
    }

    @Override
    public int hashCode() {
        return hash;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FlowKey k && k.hash == hash && k.localPort == localPort && k.remotePort == remotePort
                && k.localLow == localLow && k.remoteLow == remoteLow && k.localHigh == localHigh
                && k.remoteHigh == remoteHigh;
    }
}
