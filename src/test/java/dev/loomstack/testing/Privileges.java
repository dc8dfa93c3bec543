package dev.loomstack.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/** End-to-end tests need root (namespaces, TUN devices) and the TUN device node. */
public final class Privileges {
    private Privileges() {}

    public static boolean rootAndTun() {
        return "root".equals(System.getProperty("user.name")) && Files.exists(Path.of("/dev/net/tun"));
    }

    /** Skips the calling test with one line naming what is missing. */
    public static void assumeRootAndTun() {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
                "skipped: end-to-end test needs root (network namespaces, TUN devices)");
        Assumptions.assumeTrue(Files.exists(Path.of("/dev/net/tun")),
                "skipped: end-to-end test needs /dev/net/tun");
    }
}
