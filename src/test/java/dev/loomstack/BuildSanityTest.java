package dev.loomstack;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class BuildSanityTest {
    @Test
    void runsOnJava25OrNewer() {
        assertTrue(Runtime.version().feature() >= 25, "tests must run on JDK 25+, got " + Runtime.version());
    }
}
