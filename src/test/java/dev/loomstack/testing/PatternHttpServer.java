package dev.loomstack.testing;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.LongAdder;

/**
 * An HTTP server for bulk transfers checked byte for byte: {@code GET /data?size=N} answers N bytes
 * of a pattern that depends only on N ({@link #patternDigest} is its SHA-256), and a request to
 * {@code /upload} with a body (curl {@code -T} or {@code --data-binary}) answers the body's SHA-256
 * in hex. {@link #bytes()} counts what went through, for progress lines.
 */
public final class PatternHttpServer implements AutoCloseable {
    private static final int CHUNK = 64 << 10;

    private final HttpServer server;
    private final ExecutorService executor;
    private final LongAdder bytes = new LongAdder();

    private PatternHttpServer(HttpServer server, ExecutorService executor) {
        this.server = server;
        this.executor = executor;
    }

    public static PatternHttpServer start(InetSocketAddress address) throws IOException {
        HttpServer server = HttpServer.create(address, 64);
        ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
        server.setExecutor(executor);
        PatternHttpServer s = new PatternHttpServer(server, executor);
        server.createContext("/data", ex -> {
            String query = ex.getRequestURI().getQuery();
            long size = Long.parseLong(query.substring(query.indexOf("size=") + "size=".length()));
            ex.sendResponseHeaders(200, size);
            try (OutputStream out = ex.getResponseBody()) {
                s.writePattern(out, size);
            }
        });
        server.createContext("/upload", ex -> {
            MessageDigest md = sha256();
            try (InputStream in = ex.getRequestBody()) {
                byte[] buf = new byte[CHUNK];
                int n;
                while ((n = in.read(buf)) > 0) {
                    md.update(buf, 0, n);
                    s.bytes.add(n);
                }
            }
            byte[] body = HexFormat.of().formatHex(md.digest()).getBytes(StandardCharsets.US_ASCII);
            ex.sendResponseHeaders(200, body.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        return s;
    }

    public int port() {
        return server.getAddress().getPort();
    }

    /** Body bytes sent and received so far. */
    public long bytes() {
        return bytes.sum();
    }

    private void writePattern(OutputStream out, long size) throws IOException {
        Random r = new Random(size);
        byte[] buf = new byte[CHUNK];
        for (long left = size; left > 0; ) {
            int n = (int) Math.min(left, buf.length);
            r.nextBytes(buf);
            out.write(buf, 0, n);
            bytes.add(n);
            left -= n;
        }
    }

    /** The SHA-256 (hex) of what {@code /data?size=size} answers. */
    public static String patternDigest(long size) {
        MessageDigest md = sha256();
        Random r = new Random(size);
        byte[] buf = new byte[CHUNK];
        for (long left = size; left > 0; ) {
            int n = (int) Math.min(left, buf.length);
            r.nextBytes(buf);
            md.update(buf, 0, n);
            left -= n;
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /** Writes {@code size} random bytes (fixed seed) to {@code file}; returns their SHA-256 in hex. */
    public static String randomFile(Path file, long size) throws IOException {
        MessageDigest md = sha256();
        Random r = new Random(42);
        byte[] buf = new byte[1 << 20];
        try (OutputStream out = Files.newOutputStream(file)) {
            for (long left = size; left > 0; ) {
                int n = (int) Math.min(left, buf.length);
                r.nextBytes(buf);
                out.write(buf, 0, n);
                md.update(buf, 0, n);
                left -= n;
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
