package dev.loomstack.packet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ChecksumTest {
    @Test
    void rfc1071WorkedExample() {
        // RFC 1071 section 3: the bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2 (before complement).
        byte[] b = HexFormat.of().parseHex("0001f203f4f5f6f7");
        assertEquals(0xddf2, Checksum.fold(Checksum.add(0, b, 0, b.length)));
        assertEquals(~0xddf2 & 0xffff, Checksum.compute(b, 0, b.length));
    }

    @Test
    void knownIpv4HeaderChecksum() {
        // A header with its checksum field (b861) in place verifies; with it zeroed it computes to b861.
        byte[] h = HexFormat.of().parseHex("450000730000400040110000c0a80001c0a800c7");
        assertEquals(0xb861, Checksum.compute(h, 0, h.length));
        Bytes.put16(h, 10, 0xb861);
        assertTrue(Checksum.verifies(Checksum.add(0, h, 0, h.length)));
    }

    @Test
    void wideAndNarrowSummingAgreeAtEveryOffsetAndLength() {
        Random r = new Random(1);
        byte[] b = new byte[300];
        r.nextBytes(b);
        for (int off = 0; off < 9; off++) {
            for (int len = 0; len < 200; len++) {
                long narrow = 0;
                for (int i = 0; i + 1 < len; i += 2) {
                    narrow += ((b[off + i] & 0xff) << 8) | (b[off + i + 1] & 0xff);
                }
                if ((len & 1) == 1) {
                    narrow += (b[off + len - 1] & 0xff) << 8;
                }
                assertEquals(Checksum.fold(narrow), Checksum.fold(Checksum.add(0, b, off, len)), "off " + off + " len " + len);
            }
        }
    }

    @Test
    void incrementalUpdateMatchesRecomputation() {
        Random r = new Random(2);
        byte[] b = new byte[64];
        for (int round = 0; round < 500; round++) {
            r.nextBytes(b);
            int before = Checksum.compute(b, 0, b.length);
            int at = 2 * r.nextInt(32);
            int old = Bytes.u16(b, at);
            int neu = r.nextInt(0x10000);
            Bytes.put16(b, at, neu);
            int after = Checksum.compute(b, 0, b.length);
            int updated = Checksum.update(before, old, neu);
            // 0x0000 and 0xffff are the same value in one's complement arithmetic.
            assertEquals(after == 0xffff ? 0 : after, updated == 0xffff ? 0 : updated);
        }
    }

    @Test
    void pseudoHeaderFromValuesEqualsPseudoHeaderFromPacketBytes() {
        IpAddress s = IpAddress.parse("fd7a:115c:a1e0::2");
        IpAddress d = IpAddress.parse("fd7a:115c:a1e0::1");
        byte[] hdr = new byte[40];
        s.write(hdr, 8);
        d.write(hdr, 24);
        assertEquals(Checksum.fold(Checksum.pseudoHeader(s, d, 6, 70000)),
                Checksum.fold(Checksum.pseudoHeader(hdr, 8, 24, 16, 6, 70000)));
    }
}
