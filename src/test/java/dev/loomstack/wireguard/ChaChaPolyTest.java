package dev.loomstack.wireguard;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** The JDK ChaCha20-Poly1305 as WireGuard's AEAD, against RFC 8439 section 2.8.2. */
class ChaChaPolyTest {
    private static final HexFormat HEX = HexFormat.of();
    static final byte[] SUNSCREEN = ("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for "
            + "the future, sunscreen would be it.").getBytes(StandardCharsets.US_ASCII);
    private static final byte[] KEY = HEX.parseHex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
    private static final byte[] NONCE = HEX.parseHex("070000004041424344454647");
    private static final byte[] AAD = HEX.parseHex("50515253c0c1c2c3c4c5c6c7");
    private static final String CIPHERTEXT = "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
            + "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
            + "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
            + "3ff4def08e4b7a9de576d26586cec64b6116";
    private static final String TAG = "1ae10b594f09e26a7e902ecbd0600691";

    @Test
    void rfc8439Section282SealsToThePublishedCiphertextAndTag() {
        byte[] out = new byte[SUNSCREEN.length + 16];
        int written = ChaChaPoly.seal(KEY, NONCE, SUNSCREEN, 0, SUNSCREEN.length, AAD, 0, AAD.length, out, 0);
        assertThat(written).isEqualTo(SUNSCREEN.length + 16);
        assertThat(HEX.formatHex(out)).isEqualTo(CIPHERTEXT + TAG);
    }

    @Test
    void rfc8439Section282OpensAndRefusesAnyFlippedByte() {
        byte[] sealed = HEX.parseHex(CIPHERTEXT + TAG);
        byte[] plain = new byte[SUNSCREEN.length];
        assertThat(ChaChaPoly.open(KEY, NONCE, sealed, 0, sealed.length, AAD, 0, AAD.length, plain, 0)).isTrue();
        assertThat(plain).isEqualTo(SUNSCREEN);
        for (int i = 0; i < sealed.length; i += 7) {
            sealed[i] ^= 1;
            assertThat(ChaChaPoly.open(KEY, NONCE, sealed, 0, sealed.length, AAD, 0, AAD.length, plain, 0))
                    .as("byte %d flipped", i).isFalse();
            sealed[i] ^= 1;
        }
        byte[] otherAad = AAD.clone();
        otherAad[0] ^= 1;
        assertThat(ChaChaPoly.open(KEY, NONCE, sealed, 0, sealed.length, otherAad, 0, AAD.length, plain, 0)).isFalse();
    }

    /** WireGuard's nonce (paper section 5.4): 32 zero bits, then the 64-bit counter little-endian. */
    @Test
    void counterNonceIsFourZeroBytesThenTheCounterLittleEndian() {
        assertThat(HEX.formatHex(ChaChaPoly.nonce(0x0102030405060708L))).isEqualTo("000000000807060504030201");
        assertThat(HEX.formatHex(ChaChaPoly.nonce(0))).isEqualTo("000000000000000000000000");
    }

    @Test
    void counterFormSealsAsTheNonceFormWithThatNonce() {
        byte[] viaCounter = new byte[SUNSCREEN.length + 16];
        byte[] viaNonce = new byte[SUNSCREEN.length + 16];
        ChaChaPoly.seal(KEY, 42, SUNSCREEN, 0, SUNSCREEN.length, AAD, 0, AAD.length, viaCounter, 0);
        ChaChaPoly.seal(KEY, ChaChaPoly.nonce(42), SUNSCREEN, 0, SUNSCREEN.length, AAD, 0, AAD.length, viaNonce, 0);
        assertThat(viaCounter).isEqualTo(viaNonce);
    }
}
