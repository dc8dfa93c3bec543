package dev.loomstack.config;

/** The engine is not running (starting or stopping): the admin API answers 503. */
public final class StackNotRunningException extends IllegalStateException {
    public StackNotRunningException() {
        super("the network stack is not running");
    }
}
