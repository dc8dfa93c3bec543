package dev.loomstack.wireguard;

import static dev.loomstack.wireguard.WireGuardPair.A4;
import static dev.loomstack.wireguard.WireGuardPair.A6;
import static dev.loomstack.wireguard.WireGuardPair.B4;
import static dev.loomstack.wireguard.WireGuardPair.B6;
import static dev.loomstack.wireguard.WireGuardPair.WAIT;
import static dev.loomstack.wireguard.WireGuardPair.next;
import static dev.loomstack.wireguard.WireGuardPair.payload;
import static dev.loomstack.wireguard.WireGuardPair.udp4;
import static dev.loomstack.wireguard.WireGuardPair.udp6;
import static dev.loomstack.wireguard.WireGuardPair.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.packet.IpAddress;
import dev.loomstack.packet.IpPrefix;
import dev.loomstack.packet.PacketBuffer;
import dev.loomstack.testing.Await;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Two links on an in-memory UDP network: the handshake, the data path and the protocol's timers and limits. */
class WireGuardLinkTest {
    private static final Duration REKEY_TIMEOUT_AND_JITTER = Duration.ofMillis(5_400);

    private static int type(ByteBuffer datagram) {
        return datagram.get(datagram.position()) & 0xff;
    }

    private static long counter(ByteBuffer datagram) {
        return datagram.duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong(datagram.position() + 8);
    }

    @Test
    void aHandshakeCarriesIpv4AndIpv6PacketsBothWaysByteExact() {
        try (WireGuardPair w = new WireGuardPair()) {
            assertEquals(0, w.a.peersWithSession());
            w.establish();
            for (int size : new int[] {1, 100, 1000, WireGuardPair.MTU - 48}) {
                byte[] v6 = udp6(A6, B6, payload(size, size));
                write(w.a, v6);
                assertArrayEquals(v6, next(w.atB));
                byte[] back = udp6(B6, A6, payload(size, size + 1));
                write(w.b, back);
                assertArrayEquals(back, next(w.atA));
            }
            byte[] full = udp4(A4, B4, payload(WireGuardPair.MTU - 28, 9));
            write(w.a, full);
            assertArrayEquals(full, next(w.atB), "an MTU-sized packet");
            assertEquals(1, w.a.peersWithSession());
            assertEquals(1, w.b.peersWithSession());
            assertEquals(1, w.a.wireGuardStats().handshakesSent.value(), "A initiated once");
            assertEquals(1, w.a.wireGuardStats().handshakesReceived.value(), "A took one response");
            assertEquals(1, w.b.wireGuardStats().handshakesReceived.value(), "B took one initiation");
            assertEquals(1, w.b.wireGuardStats().handshakesSent.value(), "B sent one response");
            assertEquals(0, w.a.wireGuardStats().handshakesFailed.value() + w.b.wireGuardStats().handshakesFailed.value());
            assertEquals(6, w.b.stats().packetsRead.sum());
            assertEquals(5, w.a.stats().packetsRead.sum());
            WireGuardStatus s = w.a.status();
            assertEquals(w.idA.publicKey(), s.publicKey());
            assertEquals(WireGuardPair.A_UDP.getPort(), s.listenPort());
            WireGuardStatus.Peer pb = s.peers().get(0);
            assertEquals(w.idB.publicKey(), pb.publicKey());
            assertEquals(Optional.of(WireGuardPair.B_UDP), pb.endpoint());
            assertTrue(pb.latestHandshake().isPresent());
            // As wg show counts transfer: every authenticated message, the handshake's included.
            // (Awaited: the sender counts a packet just after handing it to the socket.)
            Await.until(WAIT, "transfer counted as wg show does", () -> {
                WireGuardStatus.Peer now = w.a.status().peers().get(0);
                return now.sentBytes() == w.a.wireGuardStats().sentBytes.value() + PeerHandshake.INITIATION_LENGTH
                        && now.receivedBytes() == w.a.wireGuardStats().receivedBytes.value() + PeerHandshake.RESPONSE_LENGTH;
            });
            assertEquals(List.of(IpPrefix.host(B4), IpPrefix.host(B6)).stream().sorted().toList(), pb.allowedIps());
            assertEquals("wireguard:" + WireGuardPair.A_UDP.getPort(), w.a.name());
            assertEquals(WireGuardPair.MTU, w.a.mtu());
            assertEquals(0, w.a.maxOffloadSize());
        }
    }

    @Test
    void aReplayedTransportPacketIsDroppedAndCounted() {
        try (WireGuardPair w = new WireGuardPair()) {
            w.establish();
            AtomicReference<byte[]> kept = new AtomicReference<>();
            w.net.filter((from, d) -> {
                if (from.equals(WireGuardPair.B_UDP) && type(d) == MessageLayout.TYPE_TRANSPORT
                        && d.remaining() > MessageLayout.MIN_TRANSPORT && kept.get() == null) {
                    byte[] copy = new byte[d.remaining()];
                    d.duplicate().get(copy);
                    kept.set(copy);
                }
                return true;
            });
            byte[] p = udp4(B4, A4, payload(200, 3));
            write(w.b, p);
            assertArrayEquals(p, next(w.atA));
            assertNotNull(kept.get());
            w.net.inject(WireGuardPair.B_UDP, WireGuardPair.A_UDP, kept.get());
            Await.until(WAIT, "the replay counted", () -> w.a.wireGuardStats().packetsReplayed.value() == 1);
            // Nothing more was delivered, and the session goes on.
            byte[] q = udp4(B4, A4, payload(50, 4));
            write(w.b, q);
            assertArrayEquals(q, next(w.atA), "the packet after the replay, not the replay");
            assertTrue(w.atA.isEmpty());
        }
    }

    @Test
    void aKeypairPastRekeyAfterMessagesMakesTheInitiatorRekey() {
        try (WireGuardPair w = new WireGuardPair()) {
            w.establish();
            Keypair first = w.peerOfA().keypairs.current();
            w.advance(Duration.ofSeconds(6)); // past the one-handshake-per-REKEY_TIMEOUT limit
            w.a.sendCounter(w.idB.publicKey(), ProtocolLimits.REKEY_AFTER_MESSAGES + 1);
            byte[] p = udp4(A4, B4, payload(64, 5));
            write(w.a, p);
            assertArrayEquals(p, next(w.atB), "the packet goes with the old keypair");
            Await.until(WAIT, "A rekeyed", () -> w.peerOfA().keypairs.current() != first);
            assertEquals(2, w.a.wireGuardStats().handshakesSent.value());
            byte[] q = udp4(A4, B4, payload(64, 6));
            write(w.a, q);
            assertArrayEquals(q, next(w.atB), "and the next one with the new");
            assertEquals(0, w.peerOfA().keypairs.current().sendCounter() >>> 32, "counting from zero again");
        }
    }

    @Test
    void nothingIsSentWithAKeypairAtRejectAfterMessages() {
        try (WireGuardPair w = new WireGuardPair()) {
            w.establish();
            Keypair first = w.peerOfA().keypairs.current();
            AtomicLong highest = new AtomicLong();
            w.net.filter((from, d) -> {
                if (from.equals(WireGuardPair.A_UDP) && type(d) == MessageLayout.TYPE_TRANSPORT) {
                    long c = counter(d);
                    highest.accumulateAndGet(c, (x, y) -> Long.compareUnsigned(x, y) >= 0 ? x : y);
                }
                return true;
            });
            w.a.sendCounter(w.idB.publicKey(), ProtocolLimits.REJECT_AFTER_MESSAGES - 1);
            byte[] last = udp4(A4, B4, payload(64, 7));
            write(w.a, last);
            assertArrayEquals(last, next(w.atB), "the last counter below the limit is used");
            assertEquals(ProtocolLimits.REJECT_AFTER_MESSAGES - 1, highest.get());
            byte[] held = udp4(A4, B4, payload(64, 8));
            write(w.a, held);
            assertEquals(0, w.a.peersWithSession(), "the exhausted keypair is no session");
            // The packet waits for a new session: handshakes are limited to one per REKEY_TIMEOUT.
            w.advance(Duration.ofSeconds(6));
            write(w.a, udp4(A4, B4, payload(64, 9)));
            assertArrayEquals(held, next(w.atB), "staged, then sent on the new keys");
            assertArrayEquals(udp4(A4, B4, payload(64, 9)), next(w.atB));
            assertNotSame(first, w.peerOfA().keypairs.current());
            assertTrue(Long.compareUnsigned(highest.get(), ProtocolLimits.REJECT_AFTER_MESSAGES - 1) <= 0,
                    "no counter at or past the limit went out: " + Long.toUnsignedString(highest.get()));
        }
    }

    /**
     * After {@link WireGuardPair#establish} both sides sent data: A's passive keepalive falls due
     * after 10 s, and B must have it before its own "no answer" timer (15 s) would start a handshake.
     * Time moves past the first, then waits for its effect, as real time would have allowed.
     */
    private static void letTheKeepaliveSettle(WireGuardPair w) {
        long received = w.b.wireGuardStats().receivedPackets.value();
        w.advance(Duration.ofSeconds(11));
        Await.until(WAIT, "A's passive keepalive reached B", () -> w.b.wireGuardStats().receivedPackets.value() == received + 1);
    }

    @Test
    void afterRekeyAfterTimeTheInitiatorRehandshakesAndTrafficGoesOnNewKeys() {
        try (WireGuardPair w = new WireGuardPair()) {
            w.establish();
            Keypair first = w.peerOfA().keypairs.current();
            letTheKeepaliveSettle(w);
            w.advance(Duration.ofSeconds(110));
            assertEquals(1, w.a.wireGuardStats().handshakesSent.value(), "no timer rekeys an idle session");
            byte[] p = udp4(A4, B4, payload(80, 10));
            write(w.a, p);
            assertArrayEquals(p, next(w.atB), "still valid (younger than REJECT_AFTER_TIME), so it goes");
            Await.until(WAIT, "A rekeyed on send", () -> w.peerOfA().keypairs.current() != first);
            assertEquals(2, w.a.wireGuardStats().handshakesSent.value());
            Keypair second = w.peerOfA().keypairs.current();
            Await.until(WAIT, "B confirmed the new keypair", () -> w.peerOfB().keypairs.current() != null
                    && w.peerOfB().keypairs.current().localIndex == second.remoteIndex);
            for (int i = 0; i < 5; i++) {
                byte[] q = udp4(A4, B4, payload(80, 20 + i));
                write(w.a, q);
                assertArrayEquals(q, next(w.atB));
                byte[] r = udp4(B4, A4, payload(80, 30 + i));
                write(w.b, r);
                assertArrayEquals(r, next(w.atA));
            }
            assertTrue(second.sendCounter() >= 5, "A sends with the new keypair");
        }
    }

    @Test
    void afterRejectAfterTimeWithoutANewHandshakeTheOldKeysAreNotUsed() {
        try (WireGuardPair w = new WireGuardPair()) {
            w.establish();
            AtomicBoolean handshakesPass = new AtomicBoolean(false);
            letTheKeepaliveSettle(w);
            // One transport message from B is held back, to arrive after its keypair's life.
            AtomicReference<byte[]> late = new AtomicReference<>();
            w.net.filter((from, d) -> {
                if (from.equals(WireGuardPair.B_UDP) && type(d) == MessageLayout.TYPE_TRANSPORT
                        && d.remaining() > MessageLayout.MIN_TRANSPORT && late.get() == null) {
                    byte[] copy = new byte[d.remaining()];
                    d.duplicate().get(copy);
                    late.set(copy);
                    return false;
                }
                return handshakesPass.get() || type(d) == MessageLayout.TYPE_TRANSPORT;
            });
            write(w.b, udp4(B4, A4, payload(90, 13)));
            Await.until(WAIT, "B's message held back", () -> late.get() != null);
            w.advance(Duration.ofSeconds(170));
            long invalid = w.a.wireGuardStats().packetsInvalid.value();
            w.net.inject(WireGuardPair.B_UDP, WireGuardPair.A_UDP, late.get());
            Await.until(WAIT, "a message under an expired keypair refused",
                    () -> w.a.wireGuardStats().packetsInvalid.value() == invalid + 1);
            assertTrue(w.atA.isEmpty(), "nothing taken under expired keys");
            assertEquals(0, w.a.peersWithSession());
            assertEquals(0, w.b.peersWithSession());
            long sentBefore = w.a.wireGuardStats().sentPackets.value();
            byte[] p = udp4(A4, B4, payload(90, 11));
            write(w.a, p);
            byte[] q = udp4(B4, A4, payload(90, 12));
            write(w.b, q);
            assertEquals(sentBefore, w.a.wireGuardStats().sentPackets.value(), "nothing sent on expired keys");
            Await.until(WAIT, "A asked for a new handshake", () -> w.a.wireGuardStats().handshakesSent.value() >= 2);
            assertTrue(w.atB.isEmpty() && w.atA.isEmpty());
            handshakesPass.set(true);
            w.advance(REKEY_TIMEOUT_AND_JITTER); // the unanswered initiation is sent again
            assertArrayEquals(p, next(w.atB), "the staged packet goes once a new session exists");
            assertArrayEquals(q, next(w.atA));
            assertEquals(invalid + 1, w.a.wireGuardStats().packetsInvalid.value());
            assertEquals(0, w.b.wireGuardStats().packetsInvalid.value());
        }
    }

    @Test
    void aKeepaliveGoesBackAfterTenSecondsOfReceivingOnly() {
        try (WireGuardPair w = new WireGuardPair()) {
            byte[] p = udp4(A4, B4, payload(10, 13));
            write(w.a, p);
            assertArrayEquals(p, next(w.atB));
            long aReceived = w.a.wireGuardStats().receivedPackets.value();
            assertEquals(0, w.b.wireGuardStats().keepalivesSent.value());
            w.advance(Duration.ofSeconds(9));
            assertEquals(0, w.b.wireGuardStats().keepalivesSent.value(), "not before KEEPALIVE_TIMEOUT");
            w.advance(Duration.ofMillis(1_100));
            Await.until(WAIT, "B's keepalive", () -> w.b.wireGuardStats().keepalivesSent.value() == 1);
            Await.until(WAIT, "A got it", () -> w.a.wireGuardStats().receivedPackets.value() == aReceived + 1);
            assertTrue(w.atA.isEmpty(), "a keepalive delivers nothing to the stack");
        }
    }

    @Test
    void aPersistentKeepaliveBringsTheSessionUpAndKeepsSendingWhileIdle() {
        try (WireGuardPair w = new WireGuardPair(Duration.ofSeconds(25))) {
            Await.until(WAIT, "the session is up without traffic", () -> w.a.peersWithSession() == 1
                    && w.b.peersWithSession() == 1);
            long before = w.a.wireGuardStats().keepalivesSent.value();
            w.advance(Duration.ofSeconds(24));
            assertEquals(before, w.a.wireGuardStats().keepalivesSent.value());
            w.advance(Duration.ofMillis(1_100));
            Await.until(WAIT, "a persistent keepalive", () -> w.a.wireGuardStats().keepalivesSent.value() == before + 1);
            w.advance(Duration.ofSeconds(25));
            Await.until(WAIT, "another", () -> w.a.wireGuardStats().keepalivesSent.value() == before + 2);
            assertEquals(0, w.b.wireGuardStats().keepalivesSent.value(), "B has none configured");
        }
    }

    @Test
    void thePeersEndpointFollowsItsLastAuthenticatedPacket() {
        try (WireGuardPair w = new WireGuardPair()) {
            w.establish();
            InetSocketAddress moved = WireGuardPair.udp("198.18.0.3", 40_001);
            w.sockB.rebind(moved);
            byte[] p = udp4(B4, A4, payload(30, 14));
            write(w.b, p);
            assertArrayEquals(p, next(w.atA));
            assertEquals(Optional.of(moved), w.a.status().peers().get(0).endpoint());
            byte[] q = udp4(A4, B4, payload(30, 15));
            write(w.a, q);
            assertArrayEquals(q, next(w.atB), "A's answer reaches B where it moved to");
            // A forged datagram from elsewhere does not move the endpoint: it does not authenticate.
            w.net.inject(WireGuardPair.udp("198.18.0.9", 9), WireGuardPair.A_UDP, new byte[64]);
            w.net.inject(WireGuardPair.udp("198.18.0.9", 9), WireGuardPair.A_UDP, transportTo(w.peerOfA()));
            Await.until(WAIT, "the forgeries counted", () -> w.a.wireGuardStats().packetsInvalid.value() == 2);
            assertEquals(Optional.of(moved), w.a.status().peers().get(0).endpoint());
        }
    }

    /** A transport message to A's index for B with a counter far ahead and garbage ciphertext. */
    private static byte[] transportTo(Peer peerOfA) {
        byte[] m = new byte[80];
        m[0] = MessageLayout.TYPE_TRANSPORT;
        MessageLayout.putLe32(m, MessageLayout.TRANSPORT_RECEIVER, peerOfA.keypairs.current().localIndex);
        MessageLayout.putLe64(m, MessageLayout.TRANSPORT_COUNTER, 1_000_000);
        return m;
    }

    @Test
    void aSpoofedInnerSourceIsDroppedAndCounted() {
        try (WireGuardPair w = new WireGuardPair()) {
            w.establish();
            write(w.b, udp4(IpAddress.parse("100.64.0.99"), A4, payload(40, 16)));
            write(w.b, udp6(A6, A6, payload(40, 17)));
            Await.until(WAIT, "mismatches counted", () -> w.a.wireGuardStats().sourceMismatch.value() == 2);
            byte[] ok = udp4(B4, A4, payload(40, 18));
            write(w.b, ok);
            assertArrayEquals(ok, next(w.atA), "only the genuine one arrives");
            assertTrue(w.atA.isEmpty());
        }
    }

    @Test
    void anUnknownDestinationAndMalformedPacketsAreDroppedAndCounted() {
        try (WireGuardPair w = new WireGuardPair()) {
            assertFalse(w.a.writePacket(PacketBuffer.copyOf(udp4(A4, IpAddress.parse("203.0.113.5"), payload(8, 0)), 128)));
            assertEquals(1, w.a.wireGuardStats().noPeer.value());
            assertFalse(w.a.writePacket(PacketBuffer.copyOf(new byte[] {0x45, 0, 0}, 128)), "too short");
            assertFalse(w.a.writePacket(PacketBuffer.copyOf(new byte[40], 128)), "version 0");
            assertEquals(2, w.a.wireGuardStats().packetsInvalid.value());
            assertFalse(w.a.writePacket(PacketBuffer.copyOf(new byte[WireGuardPair.MTU + 1], 128)), "over the MTU");
            assertEquals(1, w.a.stats().dropped.sum());
            w.establish();
            // An inner packet that claims more bytes than it has: decrypted fine, refused by the receiver.
            byte[] lying = udp4(A4, B4, payload(40, 19));
            lying[2] = 0x05;
            write(w.a, lying);
            Await.until(WAIT, "the lying length counted", () -> w.b.wireGuardStats().packetsInvalid.value() == 1);
            assertTrue(w.atB.isEmpty());
            assertEquals(0, w.a.wireGuardStats().sendDropped.value());
        }
    }

    @Test
    void aBadHandshakeMessageIsCountedAsFailed() {
        try (WireGuardPair w = new WireGuardPair()) {
            byte[] junk = new byte[PeerHandshake.INITIATION_LENGTH];
            junk[0] = MessageLayout.TYPE_INITIATION;
            w.net.inject(WireGuardPair.udp("198.18.0.9", 9), WireGuardPair.A_UDP, junk);
            Await.until(WAIT, "counted", () -> w.a.wireGuardStats().handshakesFailed.value() == 1);
            assertEquals(0, w.a.wireGuardStats().handshakesSent.value(), "no answer to a bad mac1");
        }
    }

    @Test
    void configureKeepsUnchangedPeersSessionsAndARemovedPeerCanNoLongerSendOrReceive() {
        try (WireGuardPair w = new WireGuardPair()) {
            w.establish();
            StaticIdentity other = StaticIdentity.generate();
            WireGuardPeerConfig third = new WireGuardPeerConfig(other.publicKey(), Optional.empty(), Optional.empty(),
                    List.of(IpPrefix.parse("100.64.0.3/32")), Duration.ZERO);
            // Same B (a repeated netmap), a new peer, and B's keepalive changed in place.
            w.a.configure(List.of(w.peerB(Duration.ZERO), third));
            w.a.configure(List.of(third, w.peerB(Duration.ofSeconds(30))));
            assertEquals(2, w.a.status().peers().size());
            for (int i = 0; i < 3; i++) {
                byte[] p = udp4(A4, B4, payload(60, 40 + i));
                write(w.a, p);
                assertArrayEquals(p, next(w.atB));
                byte[] q = udp4(B4, A4, payload(60, 50 + i));
                write(w.b, q);
                assertArrayEquals(q, next(w.atA));
            }
            assertEquals(1, w.a.wireGuardStats().handshakesSent.value(), "no new handshake for an unchanged peer");
            assertEquals(1, w.b.wireGuardStats().handshakesReceived.value());
            Peer removed = w.peerOfA();
            int indicesBefore = w.a.indicesInUse();
            assertTrue(indicesBefore >= 1);
            w.a.configure(List.of(third));
            assertNull(w.peerOfA());
            assertEquals(0, w.a.indicesInUse(), "B's keypairs' indices are gone");
            assertTrue(removed.keypairs.current() == null && removed.keypairs.previous() == null);
            assertFalse(w.a.writePacket(PacketBuffer.copyOf(udp4(A4, B4, payload(10, 0)), 128)), "no route to B");
            assertEquals(1, w.a.wireGuardStats().noPeer.value());
            long invalid = w.a.wireGuardStats().packetsInvalid.value();
            write(w.b, udp4(B4, A4, payload(10, 1)));
            Await.until(WAIT, "B's packet refused", () -> w.a.wireGuardStats().packetsInvalid.value() == invalid + 1);
            assertTrue(w.atA.isEmpty());
            assertEquals(0, w.a.peersWithSession());
        }
    }

    @Test
    void configureRefusesDuplicatesAndTheLinksOwnKey() {
        try (WireGuardPair w = new WireGuardPair()) {
            var dup = assertThrows(IllegalArgumentException.class, () -> w.a.configure(List.of(w.peerB(Duration.ZERO),
                    w.peerB(Duration.ZERO))));
            assertTrue(dup.getMessage().contains("twice"), dup.getMessage());
            WireGuardPeerConfig self = new WireGuardPeerConfig(w.idA.publicKey(), Optional.empty(), Optional.empty(),
                    List.of(), Duration.ZERO);
            assertThrows(IllegalArgumentException.class, () -> w.a.configure(List.of(self)));
            assertEquals(1, w.a.status().peers().size(), "a refused configuration changes nothing");
        }
    }

    @Test
    void underLoadAnInitiationGetsACookieAndTheInitiatorCompletesWithMac2() {
        try (WireGuardPair w = new WireGuardPair()) {
            w.a.forceUnderLoad(true);
            byte[] p = udp4(B4, A4, payload(70, 21));
            write(w.b, p);
            Await.until(WAIT, "A answered with a cookie", () -> w.a.wireGuardStats().cookieRepliesSent.value() == 1);
            Await.until(WAIT, "B took the cookie", () -> w.b.wireGuardStats().cookieRepliesReceived.value() == 1);
            assertEquals(0, w.a.wireGuardStats().handshakesReceived.value(), "no Diffie-Hellman for a message without mac2");
            assertTrue(w.atA.isEmpty());
            w.advance(REKEY_TIMEOUT_AND_JITTER); // B retransmits, now with mac2
            assertArrayEquals(p, next(w.atA));
            assertEquals(1, w.a.wireGuardStats().cookieRepliesSent.value(), "mac2 was right: no second cookie");
            assertEquals(1, w.a.wireGuardStats().handshakesReceived.value());
        }
    }

    @Test
    void closeStopsEverythingAndIsIdempotent() {
        WireGuardPair w = new WireGuardPair();
        w.establish();
        List<Thread> threads = new CopyOnWriteArrayList<>(w.a.packetThreads());
        w.a.close();
        w.a.close();
        for (Thread t : threads) {
            assertFalse(t.isAlive(), t.getName() + " still runs");
        }
        assertFalse(w.a.writePacket(PacketBuffer.copyOf(udp4(A4, B4, payload(10, 0)), 128)));
        w.b.close();
    }

    @Test
    void theRealTransportBindsAnyPortAndRefusesABusyOne() throws Exception {
        StaticIdentity id = StaticIdentity.generate();
        WireGuardSettings s = new WireGuardSettings(id.privateKey(), new InetSocketAddress(0), 1280);
        try (WireGuardLink link = WireGuardLink.open(s, dev.loomstack.packet.PacketBufferPool.forMtu(1280, 16))) {
            assertTrue(link.listenPort() > 0);
            assertEquals(id.publicKey(), link.publicKey());
            WireGuardSettings same = new WireGuardSettings(id.privateKey(), new InetSocketAddress(link.listenPort()), 1280);
            var e = assertThrows(dev.loomstack.link.LinkUnavailableException.class,
                    () -> WireGuardLink.open(same, dev.loomstack.packet.PacketBufferPool.forMtu(1280, 16)));
            assertTrue(e.getMessage().contains(String.valueOf(link.listenPort())), e.getMessage());
        }
        TimeUnit.MILLISECONDS.toNanos(1);
    }
}
