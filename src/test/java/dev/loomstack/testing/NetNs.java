package dev.loomstack.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/** A network namespace made for one test and deleted (with everything in it) on close. */
public final class NetNs implements AutoCloseable {
    private final String name;

    private NetNs(String name) {
        this.name = name;
    }

    /** A fresh namespace {@code ls-<random>} with {@code lo} up. */
    public static NetNs create() {
        String name = "ls-" + Integer.toHexString(ThreadLocalRandom.current().nextInt(1 << 24, 1 << 28));
        Cmd.run("ip", "netns", "add", name).check();
        NetNs ns = new NetNs(name);
        try {
            ns.exec("ip", "link", "set", "lo", "up").check();
        } catch (RuntimeException | AssertionError e) {
            ns.close();
            throw e;
        }
        return ns;
    }

    /** A device name unlikely to clash with parallel runs ({@code prefix} + digits, at most 15 characters). */
    public static String uniqueDeviceName(String prefix) {
        return prefix + ThreadLocalRandom.current().nextInt(100_000, 1_000_000);
    }

    public String name() {
        return name;
    }

    public Cmd.Result exec(String... command) {
        return exec(Cmd.DEFAULT_TIMEOUT_SECONDS, command);
    }

    public Cmd.Result exec(long timeoutSeconds, String... command) {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", name));
        full.addAll(List.of(command));
        return Cmd.run(timeoutSeconds, full);
    }

    /** Moves a device of the calling process's namespace into this one. */
    public void adopt(String device) {
        Cmd.run("ip", "link", "set", device, "netns", name).check();
    }

    /**
     * Takes Loomstack's TUN {@code device} and makes this namespace a tailnet client behind it:
     * {@code 100.64.0.2} and {@code fd7a:115c:a1e0::2}, with the tailnet ranges and the test
     * subnets {@code 198.18.0.0/15} routed through the device.
     */
    public void adoptAsTailnetClient(String device) {
        adopt(device);
        // Moving a device between namespaces takes it down.
        exec("ip", "link", "set", device, "up").check();
        exec("ip", "addr", "add", "100.64.0.2/32", "dev", device).check();
        exec("ip", "route", "add", "100.64.0.0/10", "dev", device, "src", "100.64.0.2").check();
        exec("ip", "route", "add", "198.18.0.0/15", "dev", device, "src", "100.64.0.2").check();
        exec("ip", "-6", "addr", "add", "fd7a:115c:a1e0::2/128", "dev", device, "nodad").check();
        exec("ip", "-6", "route", "add", "fd7a:115c:a1e0::/48", "dev", device).check();
    }

    @Override
    public void close() {
        Cmd.run("ip", "netns", "del", name);
    }
}
