package dev.loomstack.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A TCP load tool for tests and benchmarks, with nothing beyond the JDK, run in a process of its own
 * (each process stays under the 20,000-descriptor limit, so clients and servers are separate):
 *
 * <pre>
 * java -cp target/test-classes dev.loomstack.testing.FlowLoad serve-echo &lt;host:port&gt;
 *     echoes every connection until its peer closes; prints "listening on host:port" once bound
 *     (port 0 picks one).
 * java -cp target/test-classes dev.loomstack.testing.FlowLoad hold &lt;host:port&gt; &lt;n&gt; &lt;timeoutSeconds&gt; [-b addr] [--pause]
 *     opens n connections (at most 128 connecting at once); each writes a few bytes and reads their
 *     echo when opened, and once more when all are open. Prints "held N in T s", or
 *     "held N of n in T s, F failed (first: reason)" and exits 1. With --pause it prints
 *     "opened N in T s" after the first round and waits for a line on stdin before the second round,
 *     then waits for another line (or end of input) before closing, so a caller can measure while
 *     the connections are held.
 * java -cp target/test-classes dev.loomstack.testing.FlowLoad dial &lt;host:port&gt; &lt;concurrency&gt; &lt;seconds&gt; [-b addr]
 *     connection rate: each dialer loops connect, write 1 byte, read the reply or end of stream,
 *     close. Prints "N conns/s, F failed"; exits 1 only if no connection succeeded.
 * </pre>
 *
 * {@code -b addr} binds client sockets to that source address; {@code --watch-pid pid} (any mode)
 * exits as soon as that process does, so a test that dies leaves no load behind. Hosts are IP literals or names;
 * an IPv6 literal is written in brackets ({@code [fd7a:115c:a1e0::1]:7000}).
 */
public final class FlowLoad {
    /** Connections in their connect-and-first-echo step at once: below a default listen backlog. */
    static final int OPEN_CONCURRENCY = 128;
    /** Bound on one connect or one echo read in hold/dial, so a dead peer is a failure, not a hang. */
    static final int IO_TIMEOUT_MILLIS = 10_000;
    static final int ECHO_BUFFER = 4096;

    private FlowLoad() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            usage();
        }
        Options common = Options.parse(args, args[0].equals("serve-echo") ? 2 : Math.min(4, args.length));
        if (common.watchPid() > 0) {
            // Ends with the process that started it, even one killed without cleaning up.
            ProcessHandle.of(common.watchPid()).ifPresentOrElse(
                    parent -> parent.onExit().thenRun(() -> Runtime.getRuntime().halt(3)),
                    () -> Runtime.getRuntime().halt(3));
        }
        int status = switch (args[0]) {
            case "serve-echo" -> serveEcho(parse(args[1]));
            case "hold" -> {
                if (args.length < 4) {
                    usage();
                }
                Options o = Options.parse(args, 4);
                yield hold(parse(args[1]), Integer.parseInt(args[2]), Integer.parseInt(args[3]), o, System.out);
            }
            case "dial" -> {
                if (args.length < 4) {
                    usage();
                }
                Options o = Options.parse(args, 4);
                yield dial(parse(args[1]), Integer.parseInt(args[2]), Integer.parseInt(args[3]), o.bind(), System.out);
            }
            default -> {
                usage();
                yield 2;
            }
        };
        System.out.flush();
        System.exit(status);
    }

    private static void usage() {
        System.err.println("""
                usage: FlowLoad serve-echo <host:port> [--watch-pid pid]
                       FlowLoad hold <host:port> <n> <timeoutSeconds> [-b bindaddr] [--pause] [--watch-pid pid]
                       FlowLoad dial <host:port> <concurrency> <seconds> [-b bindaddr] [--watch-pid pid]""");
        System.exit(2);
    }

    /** Trailing options. */
    record Options(InetAddress bind, boolean pause, long watchPid) {
        static Options parse(String[] args, int from) throws IOException {
            InetAddress bind = null;
            boolean pause = false;
            long watchPid = 0;
            for (int i = from; i < args.length; i++) {
                switch (args[i]) {
                    case "-b" -> {
                        if (++i >= args.length) {
                            throw new IllegalArgumentException("-b needs an address");
                        }
                        bind = InetAddress.getByName(args[i]);
                    }
                    case "--pause" -> pause = true;
                    case "--watch-pid" -> {
                        if (++i >= args.length) {
                            throw new IllegalArgumentException("--watch-pid needs a process id");
                        }
                        watchPid = Long.parseLong(args[i]);
                    }
                    default -> throw new IllegalArgumentException("unknown option " + args[i]);
                }
            }
            return new Options(bind, pause, watchPid);
        }
    }

    static InetSocketAddress parse(String hostPort) throws IOException {
        int colon = hostPort.lastIndexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("expected host:port, got " + hostPort);
        }
        String host = hostPort.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        return new InetSocketAddress(InetAddress.getByName(host), Integer.parseInt(hostPort.substring(colon + 1)));
    }

    // ---- serve-echo

    static int serveEcho(InetSocketAddress address) throws IOException {
        ServerSocket server = new ServerSocket();
        server.setReuseAddress(true);
        // A large backlog: hold opens many connections at once and a full queue would drop SYNs.
        server.bind(address, 4096);
        System.out.println("listening on " + format((InetSocketAddress) server.getLocalSocketAddress()));
        System.out.flush();
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            while (!server.isClosed()) {
                Socket s;
                try {
                    s = server.accept();
                } catch (IOException e) {
                    // e.g. out of descriptors for a moment: go on accepting, without spinning.
                    sleepQuietly(10);
                    continue;
                }
                threads.submit(() -> echo(s));
            }
        }
        return 0;
    }

    private static void echo(Socket s) {
        try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
            byte[] buf = new byte[ECHO_BUFFER];
            int n;
            while ((n = in.read(buf)) > 0) {
                out.write(buf, 0, n);
            }
        } catch (IOException e) {
            // The peer reset or went away: the connection is over either way.
        }
    }

    // ---- hold

    static int hold(InetSocketAddress target, int n, int timeoutSeconds, Options options, PrintStream out)
            throws InterruptedException, IOException {
        long start = System.nanoTime();
        long deadline = start + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        AtomicReferenceArray<Socket> sockets = new AtomicReferenceArray<>(n);
        AtomicInteger failed = new AtomicInteger();
        AtomicReference<String> firstFailure = new AtomicReference<>();

        runBounded(n, deadline, i -> {
            Socket s = new Socket();
            try {
                if (options.bind() != null) {
                    s.bind(new InetSocketAddress(options.bind(), 0));
                }
                s.connect(target, timeoutMillis(deadline));
                echoOnce(s, i, deadline);
                sockets.set(i, s);
            } catch (IOException | RuntimeException e) {
                closeQuietly(s);
                throw e;
            }
        }, failed, firstFailure);
        int opened = countOpen(sockets);
        if (options.pause()) {
            out.printf(Locale.ROOT, "opened %d in %.1f s%n", opened, seconds(start));
            out.flush();
        }
        BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        if (options.pause()) {
            stdin.readLine();
        }

        // Second round: every open connection echoes once more now that all are open.
        AtomicInteger held = new AtomicInteger();
        runBounded(n, deadline, i -> {
            Socket s = sockets.get(i);
            if (s == null) {
                return;
            }
            echoOnce(s, i, deadline);
            held.incrementAndGet();
        }, failed, firstFailure);

        double took = seconds(start);
        int status;
        if (held.get() == n) {
            out.printf(Locale.ROOT, "held %d in %.1f s%n", n, took);
            status = 0;
        } else {
            int f = n - held.get();
            out.printf(Locale.ROOT, "held %d of %d in %.1f s, %d failed (first: %s)%n", held.get(), n, took, f,
                    firstFailure.get());
            status = 1;
        }
        out.flush();
        if (options.pause()) {
            stdin.readLine();
        }
        for (int i = 0; i < n; i++) {
            closeQuietly(sockets.get(i));
        }
        return status;
    }

    private static void echoOnce(Socket s, int index, long deadline) throws IOException {
        byte[] sent = ("flow " + index + "\n").getBytes(StandardCharsets.US_ASCII);
        s.setSoTimeout(timeoutMillis(deadline));
        s.getOutputStream().write(sent);
        byte[] got = s.getInputStream().readNBytes(sent.length);
        if (got.length != sent.length) {
            throw new IOException("echo cut short: " + got.length + " of " + sent.length + " bytes");
        }
        for (int k = 0; k < sent.length; k++) {
            if (got[k] != sent[k]) {
                throw new IOException("echo differs at byte " + k);
            }
        }
    }

    interface Step {
        void run(int index) throws IOException;
    }

    /** Runs {@code step} for 0..n-1 on virtual threads, at most {@link #OPEN_CONCURRENCY} at once. */
    private static void runBounded(int n, long deadline, Step step, AtomicInteger failed,
            AtomicReference<String> firstFailure) throws InterruptedException {
        Semaphore slots = new Semaphore(OPEN_CONCURRENCY);
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < n; i++) {
                slots.acquire();
                int index = i;
                threads.submit(() -> {
                    try {
                        if (System.nanoTime() - deadline > 0) {
                            throw new SocketTimeoutException("timeout before start");
                        }
                        step.run(index);
                    } catch (IOException | RuntimeException e) {
                        failed.incrementAndGet();
                        firstFailure.compareAndSet(null, e.toString());
                    } finally {
                        slots.release();
                    }
                });
            }
        }
    }

    private static int countOpen(AtomicReferenceArray<Socket> sockets) {
        int open = 0;
        for (int i = 0; i < sockets.length(); i++) {
            if (sockets.get(i) != null) {
                open++;
            }
        }
        return open;
    }

    // ---- dial

    static int dial(InetSocketAddress target, int concurrency, int seconds, InetAddress bind, PrintStream out)
            throws InterruptedException {
        AtomicLong ok = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        long start = System.nanoTime();
        long deadline = start + TimeUnit.SECONDS.toNanos(seconds);
        List<Thread> dialers = new ArrayList<>(concurrency);
        for (int c = 0; c < concurrency; c++) {
            dialers.add(Thread.ofVirtual().name("dial-" + c).start(() -> {
                byte[] one = {1};
                while (System.nanoTime() - deadline < 0) {
                    try (Socket s = new Socket()) {
                        if (bind != null) {
                            s.bind(new InetSocketAddress(bind, 0));
                        }
                        s.connect(target, IO_TIMEOUT_MILLIS);
                        s.setSoTimeout(IO_TIMEOUT_MILLIS);
                        s.getOutputStream().write(one);
                        s.getInputStream().read(); // the reply byte, or -1 at end of stream
                        ok.incrementAndGet();
                    } catch (IOException e) {
                        failed.incrementAndGet();
                    }
                }
            }));
        }
        for (Thread t : dialers) {
            t.join();
        }
        double took = seconds(start);
        out.printf(Locale.ROOT, "%.0f conns/s, %d failed%n", ok.get() / took, failed.get());
        out.flush();
        return ok.get() > 0 ? 0 : 1;
    }

    // ---- helpers

    private static int timeoutMillis(long deadline) throws SocketTimeoutException {
        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (left <= 0) {
            throw new SocketTimeoutException("timeout");
        }
        return (int) Math.min(Math.min(left, IO_TIMEOUT_MILLIS), Integer.MAX_VALUE);
    }

    private static double seconds(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    private static String format(InetSocketAddress a) {
        String host = a.getAddress().getHostAddress();
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort();
    }

    private static void closeQuietly(Socket s) {
        if (s != null) {
            try {
                s.close();
            } catch (IOException e) {
                // closing: nothing left to do
            }
        }
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
