package dev.loomstack.tcp;

import dev.loomstack.stack.TransportEndpointId;

/** What a passive open keeps of the peer's SYN until it answers (the options it offered). */
record SynInfo(TransportEndpointId id, int sequence, int window, int mss, int windowScale, boolean sackPermitted,
               boolean hasTimestamps, int tsVal) {

    static SynInfo of(TransportEndpointId id, Segment seg) {
        var o = seg.options;
        return new SynInfo(id, seg.sequence, seg.window, o.mss, o.windowScale, o.sackPermitted, o.hasTimestamps,
                o.tsVal);
    }
}
