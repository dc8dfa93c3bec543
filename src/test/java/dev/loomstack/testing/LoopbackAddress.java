package dev.loomstack.testing;

import java.util.ArrayList;
import java.util.List;

/**
 * An address on this host's {@code lo} for one test (a "site host" the router forwards to),
 * removed on close. IPv6 addresses skip duplicate address detection so they are usable at once.
 */
public final class LoopbackAddress implements AutoCloseable {
    private final List<String> delete;

    private LoopbackAddress(List<String> delete) {
        this.delete = delete;
    }

    /** Adds {@code address} (a host, without prefix length) to {@code lo}. */
    public static LoopbackAddress add(String address) {
        boolean v6 = address.contains(":");
        List<String> add = new ArrayList<>(v6 ? List.of("ip", "-6", "addr", "add", address + "/128", "dev", "lo", "nodad")
                : List.of("ip", "addr", "add", address + "/32", "dev", "lo"));
        Cmd.run(Cmd.DEFAULT_TIMEOUT_SECONDS, add).check();
        List<String> delete = new ArrayList<>(add);
        delete.set(add.indexOf("add"), "del");
        delete.remove("nodad");
        return new LoopbackAddress(List.copyOf(delete));
    }

    @Override
    public void close() {
        Cmd.run(Cmd.DEFAULT_TIMEOUT_SECONDS, delete);
    }
}
