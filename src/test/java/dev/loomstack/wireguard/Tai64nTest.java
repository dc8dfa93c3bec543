package dev.loomstack.wireguard;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** TAI64N stamps as the initiation carries them (paper section 5.4.2). */
class Tai64nTest {
    private static final HexFormat HEX = HexFormat.of();

    @Test
    void layoutIsBigEndianSecondsPlusTaiLabelThenRoundedNanoseconds() {
        byte[] out = new byte[12];
        // 1970-01-01T00:00:01.999999999Z: seconds 2^62 + 10 + 1, nanoseconds rounded down to a multiple of 2^24.
        Tai64n.write(Instant.ofEpochSecond(1, 999_999_999), out, 0);
        int rounded = 999_999_999 & -(1 << 24);
        assertThat(rounded).isEqualTo(989_855_744);
        assertThat(HEX.formatHex(out)).isEqualTo("400000000000000b" + String.format("%08x", rounded));
    }

    @Test
    void nanosecondsWithinOneGranuleGiveTheSameStamp() {
        byte[] a = new byte[12];
        byte[] b = new byte[12];
        Tai64n.write(Instant.ofEpochSecond(1_800_000_000L, 1 << 24), a, 0);
        Tai64n.write(Instant.ofEpochSecond(1_800_000_000L, (2 << 24) - 1), b, 0);
        assertThat(a).isEqualTo(b);
    }

    @Test
    void compareIsUnsignedAndNextIsGreater() {
        byte[] earlier = new byte[12];
        byte[] later = new byte[12];
        Tai64n.write(Instant.ofEpochSecond(1_800_000_000L, 0), earlier, 0);
        Tai64n.write(Instant.ofEpochSecond(1_800_000_000L, 500_000_000), later, 0);
        assertThat(Tai64n.compare(earlier, 0, later, 0)).isNegative();
        assertThat(Tai64n.compare(later, 0, earlier, 0)).isPositive();
        assertThat(Tai64n.compare(later, 0, later.clone(), 0)).isZero();
        // Nanoseconds with the top bit set still compare as unsigned.
        byte[] zero = new byte[12];
        assertThat(Tai64n.compare(zero, 0, earlier, 0)).isNegative();

        byte[] next = new byte[12];
        Tai64n.next(later, next, 0);
        assertThat(Tai64n.compare(next, 0, later, 0)).isPositive();
        // At the last granule of a second, next carries into the seconds.
        byte[] last = new byte[12];
        Tai64n.write(Instant.ofEpochSecond(5, 999_999_999), last, 0);
        Tai64n.next(last, next, 0);
        assertThat(HEX.formatHex(next)).isEqualTo("400000000000001000000000");
    }
}
