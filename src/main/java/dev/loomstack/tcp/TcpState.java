package dev.loomstack.tcp;

/** The connection states of RFC 9293 section 3.3.2. */
public enum TcpState {
    CLOSED, SYN_SENT, SYN_RECEIVED, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT;

    /** Past the handshake: SND.UNA, RCV.NXT and the windows are all known. */
    public boolean synchronized_() {
        return this != CLOSED && this != SYN_SENT && this != SYN_RECEIVED;
    }

    /** Counted by {@code gauge_tcp_current_established}: ESTABLISHED or CLOSE-WAIT. */
    boolean countsAsEstablished() {
        return this == ESTABLISHED || this == CLOSE_WAIT;
    }

    /** Counted by {@code gauge_tcp_current_connected}: synchronized and not yet TIME-WAIT or CLOSED. */
    boolean countsAsConnected() {
        return synchronized_() && this != TIME_WAIT;
    }
}
