package dev.loomstack.config;

import dev.loomstack.wireguard.StaticIdentity;
import dev.loomstack.wireguard.WireGuardKey;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This router's WireGuard private key: read from {@code loomstack.wireguard.private-key-file}, or
 * from {@code <state-dir>/wireguard.key}, which is generated on the first start. The file holds the
 * key as {@code wg genkey} prints it (base64 and a newline), so {@code wg pubkey < wireguard.key}
 * shows the public key. Only paths are ever logged, never the key.
 *
 * <p>The generated file never exists with other permissions than 0600, not even for a moment: it is
 * written whole into a temporary file created with mode 0600, then hard-linked to its name, which
 * fails rather than replaces if another process made one first (then that one is used).
 */
public final class WireGuardKeyFile {
    /** A key file holds 44 characters and a newline; a larger file is not a key file. */
    static final int MAX_FILE_BYTES = 1024;
    private static final FileAttribute<Set<PosixFilePermission>> OWNER_ONLY =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));
    private static final Logger LOG = LoggerFactory.getLogger(WireGuardKeyFile.class);

    private WireGuardKeyFile() {}

    /** A key file that is missing (when configured), unreadable or does not hold a key. */
    public static final class InvalidKeyFileException extends RuntimeException {
        private final Path file;

        InvalidKeyFileException(Path file, String why) {
            super("WireGuard private key file " + file + " " + why, null, false, false);
            this.file = file;
        }

        public Path file() {
            return file;
        }
    }

    /** The configured key file's key if one is configured, else the state directory's, made on first use. */
    public static WireGuardKey resolve(Path configured, Path stateDir) {
        if (configured != null) {
            return read(configured);
        }
        Path file = stateDir.resolve(LoomstackProperties.Wireguard.KEY_FILE_NAME);
        if (!Files.exists(file)) {
            generate(file);
        } else {
            LOG.info("WireGuard private key read from {}", file);
        }
        return read(file);
    }

    /** The key in {@code file}, or {@link InvalidKeyFileException} saying what is wrong (never showing the content). */
    static WireGuardKey read(Path file) {
        byte[] content;
        try (InputStream in = Files.newInputStream(file)) {
            content = in.readNBytes(MAX_FILE_BYTES + 1);
        } catch (NoSuchFileException e) {
            throw new InvalidKeyFileException(file, "does not exist");
        } catch (IOException e) {
            throw new InvalidKeyFileException(file, "cannot be read: " + e.getMessage());
        }
        if (content.length > MAX_FILE_BYTES) {
            throw new InvalidKeyFileException(file, "does not hold a key (over " + MAX_FILE_BYTES + " bytes)");
        }
        try {
            WireGuardKey key = WireGuardKey.parse(new String(content, StandardCharsets.US_ASCII));
            if (key.isZero()) {
                throw new IllegalArgumentException("the all-zero key is no key");
            }
            return key;
        } catch (IllegalArgumentException e) {
            throw new InvalidKeyFileException(file, "does not hold a key: " + e.getMessage());
        }
    }

    private static void generate(Path file) {
        Path dir = file.toAbsolutePath().getParent();
        try {
            Files.createDirectories(dir);
            String text = StaticIdentity.generate().privateKey().toBase64() + "\n";
            Path tmp = Files.createTempFile(dir, file.getFileName().toString(), ".tmp", OWNER_ONLY);
            try {
                try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                    Channels.newOutputStream(ch).write(text.getBytes(StandardCharsets.US_ASCII));
                    ch.force(true);
                }
                try {
                    Files.createLink(file, tmp);
                    LOG.info("generated the WireGuard private key in {} (mode 0600)", file);
                } catch (FileAlreadyExistsException raced) {
                    // Another instance made it first; use theirs.
                }
            } finally {
                Files.deleteIfExists(tmp);
            }
            try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
                d.force(true);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the WireGuard private key " + file + ": " + e.getMessage(), e);
        }
    }
}
