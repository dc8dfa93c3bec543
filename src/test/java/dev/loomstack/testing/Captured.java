package dev.loomstack.testing;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

/** Packets the kernel wrote to a TUN device, stored as hex under {@code src/test/resources/captured}. */
public final class Captured {
    private Captured() {}

    public static byte[] packet(String name) {
        try (InputStream in = Captured.class.getResourceAsStream("/captured/" + name + ".hex")) {
            if (in == null) {
                throw new IllegalArgumentException("no captured packet " + name);
            }
            return HexFormat.of().parseHex(new String(in.readAllBytes(), StandardCharsets.US_ASCII).strip());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
