package dev.loomstack.testing;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;

/**
 * An HTTP server for one test that answers every request under one path with {@code 200} and a
 * fixed US-ASCII body: the "host service" a forwarded flow reaches. Stopped on close.
 */
public final class TextHttpServer implements AutoCloseable {
    /** Connections the kernel queues before the server accepts them; tests open a handful. */
    static final int BACKLOG = 64;

    /** Which threads run the requests. */
    public enum Threads {
        /** A virtual thread per request. */
        VIRTUAL,
        /**
         * The server's own dispatcher, a platform thread: for tests that measure the router's
         * virtual threads and must not share their carriers with the server.
         */
        PLATFORM
    }

    private final HttpServer server;
    private final ExecutorService executor;

    private TextHttpServer(HttpServer server, ExecutorService executor) {
        this.server = server;
        this.executor = executor;
    }

    /** Answers every path with {@code body}. */
    public static TextHttpServer start(InetSocketAddress address, String body, Threads threads) throws IOException {
        return start(address, "/", body, threads, exchange -> {});
    }

    /** Answers requests under {@code path} with {@code body}, after {@code onRequest} has seen each. */
    public static TextHttpServer start(InetSocketAddress address, String path, String body, Threads threads,
            Consumer<HttpExchange> onRequest) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.US_ASCII);
        HttpServer server = HttpServer.create(address, BACKLOG);
        ExecutorService executor = threads == Threads.VIRTUAL ? Executors.newVirtualThreadPerTaskExecutor() : null;
        server.setExecutor(executor);
        server.createContext(path, exchange -> {
            onRequest.accept(exchange);
            exchange.sendResponseHeaders(200, bytes.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        });
        server.start();
        return new TextHttpServer(server, executor);
    }

    public int port() {
        return server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
        if (executor != null) {
            // Not close(): a request stuck on a vanished client must not hold up the teardown.
            executor.shutdownNow();
        }
    }
}
