package dev.loomstack.config;

import dev.loomstack.engine.NetworkMap;
import java.nio.file.Path;

/**
 * The netmap saved in {@code state.json} reads well but the link cannot take it now: a pre-shared
 * key file it names is missing or malformed, an endpoint's host does not resolve.
 */
public final class SavedNetmapRefusedException extends RuntimeException {
    private final Path file;
    private final String field;

    SavedNetmapRefusedException(Path file, NetworkMap.InvalidException cause) {
        super("the netmap saved in " + file + " cannot be applied: " + cause.getMessage(), cause, false, false);
        this.file = file;
        this.field = cause.field();
    }

    public Path file() {
        return file;
    }

    /** The refused field, such as {@code peers[0].presharedKey}. */
    public String field() {
        return field;
    }
}
