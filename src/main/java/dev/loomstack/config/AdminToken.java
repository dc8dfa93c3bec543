package dev.loomstack.config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * The bearer token the admin API requires. Configured ({@code loomstack.admin.token}, a Kubernetes
 * Secret in the chart) or generated on first start and kept 0600 in the state directory; only its
 * path is ever logged.
 */
public final class AdminToken {
    public static final String FILE_NAME = "admin-token";
    /** 256 bits: guessing is out of the question. */
    static final int GENERATED_BYTES = 32;
    private static final System.Logger LOG = System.getLogger(AdminToken.class.getName());

    private final byte[] digest;

    private AdminToken(String token) {
        this.digest = sha256(token);
    }

    /** The configured token if there is one, else the one in {@code stateDir}, made on first use. */
    public static AdminToken resolve(String configured, Path stateDir) {
        if (configured != null && !configured.isBlank()) {
            return new AdminToken(configured.strip());
        }
        Path file = stateDir.resolve(FILE_NAME);
        try {
            Files.createDirectories(stateDir);
            if (!Files.exists(file)) {
                byte[] raw = new byte[GENERATED_BYTES];
                new SecureRandom().nextBytes(raw);
                String token = Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
                try {
                    Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
                    Files.writeString(file, token + "\n", StandardCharsets.US_ASCII);
                    LOG.log(System.Logger.Level.INFO, "generated the admin API token in {0} (mode 0600)", file);
                } catch (FileAlreadyExistsException raced) {
                    // Another instance made it first; use theirs.
                }
            } else {
                LOG.log(System.Logger.Level.INFO, "admin API token read from {0}", file);
            }
            String token = Files.readString(file, StandardCharsets.US_ASCII).strip();
            if (token.isEmpty()) {
                throw new IllegalStateException("admin token file " + file + " is empty; remove it to generate a new one");
            }
            return new AdminToken(token);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read or create the admin token in " + stateDir, e);
        }
    }

    /** Compares in constant time: both sides are hashed first, so length leaks nothing either. */
    public boolean matches(String presented) {
        return presented != null && MessageDigest.isEqual(digest, sha256(presented));
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
