package dev.loomstack.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.packet.IpAddress;
import dev.loomstack.testing.TestResolver;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.PTRRecord;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.ReverseMap;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/** What MagicDNS answers itself and what it forwards. */
class MagicDnsTest {
    static final DnsZone ZONE = DnsZone.of("Tail.Example.", Map.of(
            "laptop", List.of(IpAddress.parse("100.64.0.2"), IpAddress.parse("fd7a:115c:a1e0::2")),
            "router-1", List.of(IpAddress.parse("100.64.0.1"))));

    static Message ask(MagicDns dns, String name, int type) throws Exception {
        Message q = Message.newQuery(Record.newRecord(Name.fromString(name), type, DClass.IN));
        byte[] wire = q.toWire();
        byte[] answer = dns.handle(wire, wire.length, false);
        Message r = new Message(answer);
        assertEquals(q.getHeader().getID(), r.getHeader().getID(), "the answer carries the query's ID");
        assertTrue(r.getHeader().getFlag(Flags.QR));
        return r;
    }

    @Test
    void peerNamesResolveToTheirAddresses() throws Exception {
        MagicDns dns = new MagicDns(List.of());
        dns.setZone(ZONE);
        Message a = ask(dns, "laptop.tail.example.", Type.A);
        assertEquals(Rcode.NOERROR, a.getRcode());
        assertEquals("100.64.0.2", ((ARecord) a.getSection(Section.ANSWER).getFirst()).getAddress().getHostAddress());
        Message aaaa = ask(dns, "LAPTOP.tail.example.", Type.AAAA);
        assertEquals(1, aaaa.getSection(Section.ANSWER).size());
        assertTrue(aaaa.getSection(Section.ANSWER).getFirst() instanceof AAAARecord);
        Message none = ask(dns, "router-1.tail.example.", Type.AAAA);
        assertEquals(Rcode.NOERROR, none.getRcode());
        assertTrue(none.getSection(Section.ANSWER).isEmpty(), "a name without IPv6 has no AAAA, but exists");
    }

    @Test
    void unknownNamesInTheTailnetDomainAreNxdomainAndNeverForwarded() throws Exception {
        try (TestResolver upstream = new TestResolver()) {
            MagicDns dns = new MagicDns(List.of(upstream.address()));
            dns.setZone(ZONE);
            assertEquals(Rcode.NXDOMAIN, ask(dns, "nobody.tail.example.", Type.A).getRcode());
            assertEquals(0, upstream.queries.get());
        }
    }

    @Test
    void reverseLookupsNameThePeer() throws Exception {
        MagicDns dns = new MagicDns(List.of());
        dns.setZone(ZONE);
        Message r = ask(dns, ReverseMap.fromAddress("100.64.0.2").toString(), Type.PTR);
        assertEquals("laptop.tail.example.", ((PTRRecord) r.getSection(Section.ANSWER).getFirst()).getTarget().toString());
        Message r6 = ask(dns, ReverseMap.fromAddress("fd7a:115c:a1e0::2").toString(), Type.PTR);
        assertEquals("laptop.tail.example.", ((PTRRecord) r6.getSection(Section.ANSWER).getFirst()).getTarget().toString());
    }

    @Test
    void otherNamesGoToTheUpstreamResolver() throws Exception {
        try (TestResolver upstream = new TestResolver()) {
            MagicDns dns = new MagicDns(List.of(upstream.address()));
            dns.setZone(ZONE);
            Message r = ask(dns, TestResolver.NAME, Type.A);
            assertEquals(TestResolver.ADDRESS,
                    ((ARecord) r.getSection(Section.ANSWER).getFirst()).getAddress().getHostAddress());
            assertEquals(1, upstream.queries.get());
        }
    }

    @Test
    void aDeadUpstreamGivesServfail() throws Exception {
        MagicDns dns = new MagicDns(List.of(new InetSocketAddress("127.0.0.1", 9)));
        dns.setZone(ZONE);
        assertEquals(Rcode.SERVFAIL, ask(dns, "example.org.", Type.A).getRcode());
    }

    @Test
    void garbageGetsNoAnswer() {
        MagicDns dns = new MagicDns(List.of());
        assertNull(dns.handle(new byte[] {1, 2, 3}, 3, false));
        byte[] response = new Message(7).toWire();
        response[2] |= (byte) 0x80;
        assertNull(dns.handle(response, response.length, false), "a response is not a query");
    }

    @Test
    void resolvConfNameserversAreRead(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("resolv.conf");
        Files.writeString(f, "# comment\nsearch example\nnameserver 192.0.2.53\nnameserver not-an-address\nnameserver 2001:db8::53\n");
        assertEquals(List.of(new InetSocketAddress("192.0.2.53", 53), new InetSocketAddress("2001:db8::53", 53)),
                MagicDns.systemResolvers(f));
    }
}
