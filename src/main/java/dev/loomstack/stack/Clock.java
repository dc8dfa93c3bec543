package dev.loomstack.stack;

/** Monotonic time for the stack; tests inject a manual clock to run timers deterministically. */
@FunctionalInterface
public interface Clock {
    long nanoTime();

    static Clock system() {
        return System::nanoTime;
    }
}
