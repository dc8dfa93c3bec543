package dev.loomstack.wireguard;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** The JDK X25519 as the handshake uses it, against RFC 7748's published vectors. */
class X25519Test {
    private static final HexFormat HEX = HexFormat.of();

    private static byte[] x25519(String scalar, String u) {
        byte[] out = new byte[32];
        assertThat(X25519.agree(X25519.privateKey(HEX.parseHex(scalar)), HEX.parseHex(u), 0, out, 0)).isTrue();
        return out;
    }

    @Test
    void rfc7748Section52FirstVector() {
        assertThat(HEX.formatHex(x25519(
                "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
                "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c")))
                .isEqualTo("c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
    }

    /** Its u-coordinate has the top bit set: RFC 7748 section 5 requires masking it, which this checks. */
    @Test
    void rfc7748Section52SecondVectorMasksTheTopBitOfU() {
        assertThat(HEX.formatHex(x25519(
                "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
                "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493")))
                .isEqualTo("95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
    }

    @Test
    void rfc7748Section61AliceAndBob() {
        String alicePrivate = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
        String bobPrivate = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
        String alicePublic = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
        String bobPublic = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
        String shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";

        byte[] out = new byte[32];
        X25519.publicKeyOf(X25519.privateKey(HEX.parseHex(alicePrivate)), out, 0);
        assertThat(HEX.formatHex(out)).isEqualTo(alicePublic);
        X25519.publicKeyOf(X25519.privateKey(HEX.parseHex(bobPrivate)), out, 0);
        assertThat(HEX.formatHex(out)).isEqualTo(bobPublic);

        assertThat(HEX.formatHex(x25519(alicePrivate, bobPublic))).isEqualTo(shared);
        assertThat(HEX.formatHex(x25519(bobPrivate, alicePublic))).isEqualTo(shared);

        // StaticIdentity gives the same public keys.
        assertThat(HEX.formatHex(StaticIdentity.of(WireGuardKey.of(HEX.parseHex(alicePrivate))).publicKey().bytes()))
                .isEqualTo(alicePublic);
    }

    /** A point of small order (u = 0, u = 1) gives an all-zero secret: refused (RFC 7748 section 6.1). */
    @Test
    void allZeroSharedSecretIsRefused() {
        byte[] out = new byte[32];
        var privateKey = X25519.privateKey(X25519.generatePrivate(StaticIdentity.RANDOM));
        assertThat(X25519.agree(privateKey, new byte[32], 0, out, 0)).isFalse();
        byte[] one = new byte[32];
        one[0] = 1;
        assertThat(X25519.agree(privateKey, one, 0, out, 0)).isFalse();
    }

    /**
     * RFC 7748 section 5: u-coordinates of p and above (possible in 255 bits) are taken modulo p, not
     * refused or thrown on: p + 9 is the base point, p itself is 0 (small order, refused).
     */
    @Test
    void nonCanonicalUCoordinatesAreReducedModuloP() {
        var privateKey = X25519.privateKey(X25519.generatePrivate(StaticIdentity.RANDOM));
        byte[] viaNonCanonical = new byte[32];
        byte[] publicKey = new byte[32];
        assertThat(X25519.agree(privateKey, HEX.parseHex("f6" + "ff".repeat(30) + "7f"), 0, viaNonCanonical, 0)).isTrue();
        X25519.publicKeyOf(privateKey, publicKey, 0);
        assertThat(viaNonCanonical).isEqualTo(publicKey);
        assertThat(X25519.agree(privateKey, HEX.parseHex("ed" + "ff".repeat(30) + "7f"), 0, viaNonCanonical, 0)).isFalse();
        // The top bit is masked: with it set, the same point.
        assertThat(X25519.agree(privateKey, HEX.parseHex("f6" + "ff".repeat(31)), 0, viaNonCanonical, 0)).isTrue();
        assertThat(viaNonCanonical).isEqualTo(publicKey);
    }

    @Test
    void generatedPrivateKeysAreClamped() {
        for (int i = 0; i < 32; i++) {
            byte[] scalar = X25519.generatePrivate(StaticIdentity.RANDOM);
            assertThat(scalar[0] & 7).isZero();
            assertThat(scalar[31] & 0x80).isZero();
            assertThat(scalar[31] & 0x40).isEqualTo(0x40);
        }
    }
}
