package dev.loomstack.config;

/** The WireGuard link could not listen on its UDP port. */
public final class WireGuardListenException extends RuntimeException {
    private final int port;

    WireGuardListenException(int port, RuntimeException cause) {
        super("WireGuard cannot listen on UDP port " + port + ": " + cause.getMessage(), cause, false, false);
        this.port = port;
    }

    public int port() {
        return port;
    }
}
