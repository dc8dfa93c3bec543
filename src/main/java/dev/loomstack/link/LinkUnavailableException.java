package dev.loomstack.link;

/**
 * The link cannot be opened for a reason outside the program (no device node, no privilege). Its
 * message is one line that names the cause and the fix, meant to be logged as is.
 */
public final class LinkUnavailableException extends RuntimeException {
    public LinkUnavailableException(String message) {
        super(message, null, false, false);
    }
}
