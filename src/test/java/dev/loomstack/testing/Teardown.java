package dev.loomstack.testing;

import java.util.Arrays;
import java.util.List;

/** Closing what a test class opened, in order, whatever failed to open. */
public final class Teardown {
    private Teardown() {}

    /**
     * Closes every non-null resource in the given order, even after one fails, so one broken
     * close leaves no device, namespace or address behind; then throws the first failure (the
     * later ones suppressed).
     */
    public static void closeAll(AutoCloseable... inOrder) throws Exception {
        closeAll(Arrays.asList(inOrder));
    }

    /** As {@link #closeAll(AutoCloseable...)}, for resources gathered in a list. */
    public static void closeAll(List<? extends AutoCloseable> inOrder) throws Exception {
        Exception first = null;
        for (AutoCloseable c : inOrder) {
            if (c == null) {
                continue;
            }
            try {
                c.close();
            } catch (Exception e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
