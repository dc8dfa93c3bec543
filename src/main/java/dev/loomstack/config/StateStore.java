package dev.loomstack.config;

import dev.loomstack.engine.InFlightLimits;
import dev.loomstack.engine.NetworkMap;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import tools.jackson.core.JacksonException;

/**
 * The last applied netmap and limits, kept in {@code <state-dir>/state.json} in the
 * {@linkplain StateFormat format of its own}. Writes are atomic: a temporary file is written and
 * fsynced, renamed over the old one, and the directory fsynced, so a crash leaves either the old
 * state or the new one. A file that cannot be read is an error the operator must see; it is never
 * replaced silently.
 */
public final class StateStore {
    public static final String FILE_NAME = "state.json";

    /** What is persisted; either part may be absent. */
    public record State(NetworkMap netmap, SavedLimits limits) {
        public static final State EMPTY = new State(null, null);
    }

    /**
     * The limits as kept. A file written before the UDP flow limit existed has no
     * {@code maxUdpFlows}; the engine then keeps its own.
     */
    public record SavedLimits(int maxInFlight, int maxInFlightPerClient, Integer maxUdpFlows) {
        static SavedLimits of(InFlightLimits l) {
            return new SavedLimits(l.maxInFlight(), l.maxInFlightPerClient(), l.maxUdpFlows());
        }

        /** These limits for an engine that runs {@code current} now. */
        public InFlightLimits over(InFlightLimits current) {
            return new InFlightLimits(maxInFlight, maxInFlightPerClient,
                    maxUdpFlows != null ? maxUdpFlows : current.maxUdpFlows());
        }
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
    private final Object lock = new Object();

    public StateStore(Path dir) {
        this.dir = dir;
        this.file = dir.resolve(FILE_NAME);
    }

    public Path file() {
        return file;
    }

    /**
     * The persisted state, or {@link State#EMPTY} when none was ever written. Its netmap is checked
     * as the engine takes it (names, addresses, prefixes without host bits).
     */
    public State load() {
        return Files.exists(file) ? read(file, State.class) : State.EMPTY;
    }

    /**
     * A netmap document as the API accepts it (the chart mounts one from a ConfigMap), for the
     * first boot when no state exists yet; checked as {@link #load} checks the persisted one.
     */
    public NetworkMap readNetmap(Path document) {
        return read(document, NetworkMap.class);
    }

    private static <T> T read(Path document, Class<T> type) {
        try {
            T value = StateFormat.JSON.readValue(Files.readAllBytes(document), type);
            if (value == null) {
                throw new CorruptStateException(document, "empty document");
            }
            return value;
        } catch (JacksonException e) {
            throw new CorruptStateException(document, e.getOriginalMessage());
        } catch (IllegalArgumentException e) {
            // A netmap the engine would refuse, its field named (NetworkMap.InvalidException).
            throw new CorruptStateException(document, e.getMessage());
        } catch (IOException e) {
            throw new CorruptStateException(document, e.getMessage());
        }
    }

    public void saveNetmap(NetworkMap netmap) {
        synchronized (lock) {
            write(new State(netmap, load().limits()));
        }
    }

    public void saveLimits(InFlightLimits limits) {
        synchronized (lock) {
            write(new State(load().netmap(), SavedLimits.of(limits)));
        }
    }

    private void write(State s) {
        try {
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, FILE_NAME, ".tmp",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            try {
                try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                    ch.write(java.nio.ByteBuffer.wrap(StateFormat.JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(s)));
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
