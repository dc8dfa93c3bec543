package dev.loomstack.engine;

import java.net.InetSocketAddress;
import java.time.Instant;

/** One forwarded flow as operators see it. */
public record FlowInfo(
        long id,
        Protocol protocol,
        InetSocketAddress client,
        InetSocketAddress destination,
        String state,
        long bytesFromClient,
        long bytesToClient,
        Instant opened) {

    public enum Protocol { TCP, UDP }
}
