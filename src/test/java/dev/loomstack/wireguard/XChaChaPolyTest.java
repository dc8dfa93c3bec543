package dev.loomstack.wireguard;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** Bouncy Castle's XChaCha20-Poly1305 as the cookie reply's XAEAD, against draft-irtf-cfrg-xchacha-03 section A.3.1. */
class XChaChaPolyTest {
    private static final HexFormat HEX = HexFormat.of();
    private static final byte[] KEY = HEX.parseHex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
    private static final byte[] NONCE = HEX.parseHex("404142434445464748494a4b4c4d4e4f5051525354555657");
    private static final byte[] AAD = HEX.parseHex("50515253c0c1c2c3c4c5c6c7");
    private static final String CIPHERTEXT = "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
            + "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
            + "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
            + "21f9664c97637da9768812f615c68b13b52e";
    private static final String TAG = "c0875924c1c7987947deafd8780acf49";

    @Test
    void draftSectionA31SealsToThePublishedCiphertextAndTag() {
        byte[] plain = ChaChaPolyTest.SUNSCREEN;
        byte[] out = new byte[plain.length + 16];
        assertThat(XChaChaPoly.seal(KEY, NONCE, 0, plain, 0, plain.length, AAD, 0, AAD.length, out, 0))
                .isEqualTo(plain.length + 16);
        assertThat(HEX.formatHex(out)).isEqualTo(CIPHERTEXT + TAG);
    }

    @Test
    void draftSectionA31OpensAndRefusesAFlippedByteLeavingOutputUntouched() {
        byte[] sealed = HEX.parseHex(CIPHERTEXT + TAG);
        byte[] plain = new byte[sealed.length - 16];
        assertThat(XChaChaPoly.open(KEY, NONCE, 0, sealed, 0, sealed.length, AAD, 0, AAD.length, plain, 0)).isTrue();
        assertThat(plain).isEqualTo(ChaChaPolyTest.SUNSCREEN);

        byte[] untouched = new byte[plain.length];
        sealed[3] ^= 0x40;
        assertThat(XChaChaPoly.open(KEY, NONCE, 0, sealed, 0, sealed.length, AAD, 0, AAD.length, untouched, 0)).isFalse();
        assertThat(untouched).containsOnly(0);
        sealed[3] ^= 0x40;
        byte[] otherNonce = NONCE.clone();
        otherNonce[23] ^= 1;
        assertThat(XChaChaPoly.open(KEY, otherNonce, 0, sealed, 0, sealed.length, AAD, 0, AAD.length, plain, 0)).isFalse();
    }
}
