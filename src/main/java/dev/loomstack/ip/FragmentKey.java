package dev.loomstack.ip;

/**
 * What identifies the fragments of one datagram: source, destination, identification and (for
 * IPv4) protocol (RFC 791 section 3.2; RFC 8200 section 4.5 leaves the protocol out).
 */
record FragmentKey(long sourceHigh, long sourceLow, long destinationHigh, long destinationLow, long identification,
                   int protocol) {}
