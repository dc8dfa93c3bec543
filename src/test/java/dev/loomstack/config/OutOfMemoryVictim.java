package dev.loomstack.config;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * A process shaped like the service when its heap runs out: a non-daemon thread keeps the JVM up
 * (as the web server's do), and another thread dies of {@link OutOfMemoryError} (as a flow's
 * copier would). Without {@code -XX:+ExitOnOutOfMemoryError} it lives on with that thread gone:
 * half-alive. Prints "out of memory in <thread>" when the error reaches the dying thread's end.
 * With the argument {@code guarded} it first does what the service does at start-up
 * ({@link OutOfMemoryExit#ensure()}).
 */
public final class OutOfMemoryVictim {
    private OutOfMemoryVictim() {
    }

    public static void main(String[] args) throws InterruptedException {
        if (args.length > 0 && args[0].equals("guarded")) {
            OutOfMemoryExit.ensure();
        }
        CountDownLatch never = new CountDownLatch(1);
        Thread.ofPlatform().name("keeps-the-jvm-up").start(() -> {
            try {
                never.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        Thread victim = Thread.ofPlatform().name("victim").unstarted(() -> {
            List<long[]> hoard = new ArrayList<>();
            while (true) {
                hoard.add(new long[1 << 16]);
            }
        });
        if (args.length == 0) {
            victim.setUncaughtExceptionHandler((t, e) -> {
                System.out.println("out of memory in " + t.getName() + ": " + e);
                System.out.flush();
            });
        }
        victim.start();
        victim.join();
    }
}
