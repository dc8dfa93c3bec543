package dev.loomstack.config;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The service must never run on half-alive after an {@link OutOfMemoryError} (a flow's copier or
 * the link reader dead, the rest answering health checks). The image and the chart start the JVM
 * with {@code -XX:+ExitOnOutOfMemoryError}, which HotSpot applies to every such error, wherever it
 * is thrown or caught; the flag is a product option, not writeable once the JVM runs. Started
 * without it (by hand, from an IDE), the service warns and installs the next best thing: an
 * error that ends a thread halts the JVM with the flag's exit code.
 */
final class OutOfMemoryExit {
    /** HotSpot's exit code for {@code -XX:+ExitOnOutOfMemoryError}. */
    static final int EXIT_CODE = 3;
    static final String FLAG = "ExitOnOutOfMemoryError";
    private static final Logger LOG = LoggerFactory.getLogger(OutOfMemoryExit.class);
    private static final AtomicBoolean INSTALLED = new AtomicBoolean();

    private OutOfMemoryExit() {
    }

    /** True when the JVM already exits on an OutOfMemoryError by itself. */
    static boolean flagSet() {
        return Boolean.parseBoolean(ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class)
                .getVMOption(FLAG).getValue());
    }

    /** Without the flag: warns, and halts on an OutOfMemoryError that ends any thread. */
    static void ensure() {
        if (flagSet() || !INSTALLED.compareAndSet(false, true)) {
            return;
        }
        LOG.warn("the JVM was started without -XX:+{}: an OutOfMemoryError that ends a thread halts it (exit {}), "
                + "one caught elsewhere does not; start it with the flag, as the image does", FLAG, EXIT_CODE);
        Thread.UncaughtExceptionHandler previous = Thread.getDefaultUncaughtExceptionHandler();
        Thread.setDefaultUncaughtExceptionHandler((thread, e) -> {
            if (e instanceof OutOfMemoryError) {
                // Nothing that allocates: the heap is what ran out.
                System.err.println("Terminating due to " + e + " in " + thread.getName());
                Runtime.getRuntime().halt(EXIT_CODE);
            }
            if (previous != null) {
                previous.uncaughtException(thread, e);
            } else {
                System.err.print("Exception in thread \"" + thread.getName() + "\" ");
                e.printStackTrace();
            }
        });
    }
}
