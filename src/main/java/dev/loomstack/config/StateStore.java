package dev.loomstack.config;

import dev.loomstack.api.ApiModel.LimitsView;
import dev.loomstack.api.ApiModel.NetmapView;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.json.JsonMapper;

/**
 * The last applied netmap and limits, kept in {@code <state-dir>/state.json}. Writes are atomic:
 * a temporary file is written and fsynced, renamed over the old one, and the directory fsynced, so
 * a crash leaves either the old state or the new one. A file that cannot be read is an error the
 * operator must see; it is never replaced silently.
 */
public final class StateStore {
    public static final String FILE_NAME = "state.json";

    /** What is persisted; either part may be absent. */
    public record State(NetmapView netmap, LimitsView limits) {
        public static final State EMPTY = new State(null, null);
    }

    /** The state file exists but cannot be used. */
    public static final class CorruptStateException extends RuntimeException {
        private final Path file;

        CorruptStateException(Path file, String why) {
            super("state file " + file + " is unreadable (" + why + "); fix or remove it to start from the embedded defaults");
            this.file = file;
        }

        public Path file() {
            return file;
        }
    }

    private final Path dir;
    private final Path file;
    private final JsonMapper json;
    private final Object lock = new Object();

    public StateStore(Path dir, JsonMapper json) {
        this.dir = dir;
        this.file = dir.resolve(FILE_NAME);
        this.json = json;
    }

    public Path file() {
        return file;
    }

    /** The persisted state, or {@link State#EMPTY} when none was ever written. */
    public State load() {
        if (!Files.exists(file)) {
            return State.EMPTY;
        }
        try {
            State s = json.readValue(Files.readAllBytes(file), State.class);
            if (s == null) {
                throw new CorruptStateException(file, "empty document");
            }
            return s;
        } catch (JacksonException e) {
            throw new CorruptStateException(file, e.getOriginalMessage());
        } catch (IOException e) {
            throw new CorruptStateException(file, e.getMessage());
        }
    }

    /**
     * A netmap document as the API accepts it (the chart mounts one from a ConfigMap), for the
     * first boot when no state exists yet.
     */
    public NetmapView readNetmap(Path document) {
        try {
            NetmapView v = json.readValue(Files.readAllBytes(document), NetmapView.class);
            if (v == null || v.selfNode() == null) {
                throw new CorruptStateException(document, "no selfNode");
            }
            v.toNetworkMap();
            return v;
        } catch (JacksonException e) {
            throw new CorruptStateException(document, e.getOriginalMessage());
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new CorruptStateException(document, String.valueOf(e.getMessage()));
        } catch (IOException e) {
            throw new CorruptStateException(document, e.getMessage());
        }
    }

    public void saveNetmap(NetmapView netmap) {
        synchronized (lock) {
            write(new State(netmap, load().limits()));
        }
    }

    public void saveLimits(LimitsView limits) {
        synchronized (lock) {
            write(new State(load().netmap(), limits));
        }
    }

    public Optional<NetmapView> netmap() {
        return Optional.ofNullable(load().netmap());
    }

    private void write(State s) {
        try {
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, FILE_NAME, ".tmp",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            try {
                try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                    ch.write(java.nio.ByteBuffer.wrap(json.writerWithDefaultPrettyPrinter().writeValueAsBytes(s)));
                    ch.force(true);
                }
                try {
                    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    throw new IOException("the state directory " + dir + " cannot rename atomically", e);
                }
            } finally {
                Files.deleteIfExists(tmp);
            }
            try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
                d.force(true);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not write " + file + ": " + e.getMessage(), e);
        }
    }
}
