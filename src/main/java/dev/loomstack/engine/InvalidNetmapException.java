package dev.loomstack.engine;

/**
 * A netmap the engine refuses, naming the field as the admin API's document spells it
 * ({@code peers[2].publicKey}); the engine is left as it was.
 */
public final class InvalidNetmapException extends IllegalArgumentException {
    private final String field;

    public InvalidNetmapException(String field, String message) {
        super(field + ": " + message);
        this.field = field;
    }

    /** The offending field, such as {@code peers[2].presharedKey}. */
    public String field() {
        return field;
    }

    /** What is wrong, without the field. */
    public String reason() {
        return getMessage().substring(field.length() + 2);
    }
}
