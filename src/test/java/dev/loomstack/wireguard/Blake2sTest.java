package dev.loomstack.wireguard;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** HASH, MAC, HMAC and KDF of the paper's section 5.4 over Bouncy Castle's BLAKE2s. */
class Blake2sTest {
    private static final HexFormat HEX = HexFormat.of();
    /** The key of the BLAKE2 reference keyed test vectors (blake2s-kat.txt): 0x00..0x1f. */
    private static final byte[] KAT_KEY = HEX.parseHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    private static final byte[] ABC = "abc".getBytes(StandardCharsets.US_ASCII);

    @Test
    void rfc7693AppendixBHashOfAbc() {
        byte[] out = new byte[32];
        Blake2s.hash(ABC, 0, 1, ABC, 1, 2, out, 0);
        assertThat(HEX.formatHex(out)).isEqualTo("508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
        assertThat(HEX.formatHex(Blake2s.hash(ABC, new byte[0])))
                .isEqualTo("508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
    }

    /** The BLAKE2 reference implementation's keyed vectors (blake2s-kat.txt, 32-byte output): the keyed path MAC uses. */
    @Test
    void blake2ReferenceKeyedVectors() {
        byte[] out = new byte[32];
        Blake2s.keyed(KAT_KEY, 32, new byte[0], 0, 0, out, 0);
        assertThat(HEX.formatHex(out)).isEqualTo("48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49");
        Blake2s.keyed(KAT_KEY, 32, new byte[1], 0, 1, out, 0);
        assertThat(HEX.formatHex(out)).isEqualTo("40d15fee7c328830166ac3f918650f807e7e01e177258cdc0a39b11f598066f1");
    }

    /**
     * MAC is keyed BLAKE2s with a 16-byte digest, the length in the parameter block (not a
     * truncation). No published vector exists; the values were computed with CPython's
     * {@code hashlib.blake2s(data, key=key, digest_size=16)} (the BLAKE2 reference code).
     */
    @Test
    void macIsKeyedBlake2sWithSixteenByteDigest() {
        byte[] out = new byte[16];
        Blake2s.mac(KAT_KEY, new byte[0], 0, 0, out, 0);
        assertThat(HEX.formatHex(out)).isEqualTo("9536f9b267655743dee97b8a670f9f53");
        Blake2s.mac(KAT_KEY, ABC, 0, ABC.length, out, 0);
        assertThat(HEX.formatHex(out)).isEqualTo("61ba5f165c194692e09d12520cc4c74a");
        byte[] full = new byte[32];
        Blake2s.keyed(KAT_KEY, 32, ABC, 0, ABC.length, full, 0);
        assertThat(HEX.formatHex(full)).doesNotStartWith(HEX.formatHex(out));
    }

    /** HMAC against RFC 2104's definition: H((K ^ opad) || H((K ^ ipad) || m)), B = 64, written with HASH. */
    @Test
    void hmacMatchesRfc2104DefinitionOverBlake2s() {
        byte[] key = KAT_KEY;
        byte[] inner = new byte[64];
        byte[] outer = new byte[64];
        for (int i = 0; i < 64; i++) {
            byte k = i < key.length ? key[i] : 0;
            inner[i] = (byte) (k ^ 0x36);
            outer[i] = (byte) (k ^ 0x5c);
        }
        byte[] innerHash = Blake2s.hash(inner, ABC);
        byte[] expected = Blake2s.hash(outer, innerHash);

        byte[] out = new byte[32];
        Blake2s.hmac(key, ABC, 0, ABC.length, out, 0);
        assertThat(out).isEqualTo(expected);
        // And as CPython's hmac.new(key, b"abc", hashlib.blake2s) computes it.
        assertThat(HEX.formatHex(out)).isEqualTo("82623be5bc0a391b24dce53e67d028eff92d586de0485ac37822e597d049c74f");
    }

    /**
     * KDF1..3 against the vectors wireguard-rs checks its KDF with (src/wireguard/handshake/noise.rs,
     * "generated using WireGuard-Go"): (key, input) = (ε, ε) and (deadbeef, ε).
     */
    @Test
    void kdfMatchesWireGuardGoVectors() {
        assertKdf(new byte[0],
                "8387b46bf43eccfcf349552a095d8315c4055beb90208fb1be23b894bc2ed5d0",
                "58a0e5f6faefccf4807bff1f05fa8a9217945762040bcec2f4b4a62bdfe0e86e",
                "0ce6ea98ec548f8e281e93e32db65621c45eb18dc6f0a7ad94178610a2f7338e");
        assertKdf(HEX.parseHex("deadbeef"),
                "55329dc80e690fd86bd9661f0851c9b3686df2b1fda0347bc3d27958254b32c6",
                "8dfc6d33a8118ffe408b31ddac25f72aee9115a45b69ba176ad012b243834fee",
                "d69e852a2896569ea54a67969aa1800287921dac53ce6db4b4e12192f263c4c4");
    }

    private static void assertKdf(byte[] key, String t1, String t2, String t3) {
        byte[] a = new byte[32];
        byte[] b = new byte[32];
        byte[] c = new byte[32];
        Kdf.derive(key, new byte[0], 0, 0, a, null, null);
        assertThat(HEX.formatHex(a)).isEqualTo(t1);
        Kdf.derive(key, new byte[0], 0, 0, a, b, null);
        assertThat(HEX.formatHex(a)).isEqualTo(t1);
        assertThat(HEX.formatHex(b)).isEqualTo(t2);
        Kdf.derive(key, new byte[0], 0, 0, a, b, c);
        assertThat(HEX.formatHex(a) + HEX.formatHex(b) + HEX.formatHex(c)).isEqualTo(t1 + t2 + t3);
    }

    /** The chaining key may be replaced in place: τ1 written over the key it came from. */
    @Test
    void kdfMayWriteOverItsKey() {
        byte[] key = HEX.parseHex("deadbeef").clone();
        byte[] chaining = new byte[32];
        System.arraycopy(key, 0, chaining, 0, 4);
        byte[] expected = new byte[32];
        byte[] input = ABC;
        Kdf.derive(chaining.clone(), input, 0, input.length, expected, null, null);
        Kdf.derive(chaining, input, 0, input.length, chaining, null, null);
        assertThat(chaining).isEqualTo(expected);
    }
}
