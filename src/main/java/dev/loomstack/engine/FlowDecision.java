package dev.loomstack.engine;

import java.util.function.Consumer;

/**
 * What a registered flow handler says about a new flow (Tailscale's {@code GetTCPHandlerForFlow}
 * and {@code GetUDPHandlerForFlow}): take it with a handler, refuse it, or let the engine's own
 * routing decide.
 *
 * @param <C> the connection type the handler receives
 */
public sealed interface FlowDecision<C> {
    /** The handler gets the established connection and owns it from then on. */
    record Handle<C>(Consumer<C> handler) implements FlowDecision<C> {}

    /** Refused: a RST for TCP, a dropped datagram for UDP. */
    record Reject<C>() implements FlowDecision<C> {}

    /** Not this handler's business. */
    record Pass<C>() implements FlowDecision<C> {}

    static <C> FlowDecision<C> pass() {
        return new Pass<>();
    }
}
