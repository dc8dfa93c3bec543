package dev.loomstack.wireguard;

import java.util.ArrayList;
import java.util.List;

/**
 * A peer's keypairs, as wireguard-go keeps them: the current one sends; the previous one still
 * receives what was in flight when a new one took over; the next one is a responder's new keypair
 * that the initiator has not used yet. The responder may not send with a keypair before the
 * initiator has (paper section 5.4.6, wireguard-go's keypair confirmation): its new keypair waits
 * as next and becomes current with the first transport message that authenticates under it.
 *
 * <p>The data path reads {@link #current()} without a lock; changes happen under the monitor and
 * return the keypairs they drop, for the caller to unindex and wipe.
 */
final class Keypairs {
    private volatile Keypair previous;
    private volatile Keypair current;
    private volatile Keypair next;

    Keypair current() {
        return current;
    }

    Keypair next() {
        return next;
    }

    Keypair previous() {
        return previous;
    }

    /** Installs a freshly derived keypair (wireguard-go's BeginSymmetricSession); returns the dropped ones. */
    synchronized List<Keypair> install(Keypair fresh) {
        List<Keypair> dropped = new ArrayList<>(2);
        if (fresh.initiator) {
            // The initiator sends with it at once; an unconfirmed next is kept as previous, since the
            // peer may still send under it.
            if (next != null) {
                add(dropped, previous);
                previous = next;
                next = null;
                add(dropped, current);
            } else {
                add(dropped, previous);
                previous = current;
            }
            current = fresh;
        } else {
            add(dropped, next);
            next = fresh;
            add(dropped, previous);
            previous = null;
        }
        return dropped;
    }

    /**
     * A transport message authenticated under {@code used}: if that is the next keypair it becomes
     * current (the old current becomes previous), and the dropped previous is returned in
     * {@code dropped}. True when this confirmed a handshake.
     */
    boolean confirm(Keypair used, List<Keypair> dropped) {
        if (next != used) {
            return false;
        }
        synchronized (this) {
            if (next != used) {
                return false;
            }
            add(dropped, previous);
            previous = current;
            current = used;
            next = null;
            return true;
        }
    }

    /** Forgets every keypair; returns them. */
    synchronized List<Keypair> clear() {
        List<Keypair> all = new ArrayList<>(3);
        add(all, previous);
        add(all, current);
        add(all, next);
        previous = current = next = null;
        return all;
    }

    private static void add(List<Keypair> list, Keypair k) {
        if (k != null) {
            list.add(k);
        }
    }
}
