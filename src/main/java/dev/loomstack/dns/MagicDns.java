package dev.loomstack.dns;

import dev.loomstack.packet.IpAddress;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.PTRRecord;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

/**
 * MagicDNS on the service IP: A/AAAA for the netmap's node names under the tailnet domain, PTR
 * for their addresses, NXDOMAIN for other names in the tailnet domain, and everything else
 * forwarded to the upstream resolvers in turn. The wire format is dnsjava's; this class only
 * decides what to answer. {@link #handle} never throws for bad input: a query it cannot parse
 * gets no answer (as a resolver drops garbage), one it can parse but not serve gets SERVFAIL.
 */
public final class MagicDns {
    /** RFC 8767 suggests TTLs under a minute for data that changes; netmap names change with the map. */
    static final long TTL_SECONDS = 600;
    /** Per upstream; the client's own resolver retries on its side. */
    public static final Duration UPSTREAM_TIMEOUT = Duration.ofSeconds(2);
    private static final System.Logger LOG = System.getLogger(MagicDns.class.getName());

    private volatile DnsZone zone = DnsZone.EMPTY;
    private final List<InetSocketAddress> upstreams;
    final LongAdder answeredLocally = new LongAdder();
    final LongAdder forwarded = new LongAdder();
    final LongAdder malformed = new LongAdder();
    final LongAdder upstreamFailures = new LongAdder();

    public MagicDns(List<InetSocketAddress> upstreams) {
        this.upstreams = List.copyOf(upstreams);
    }

    public void setZone(DnsZone z) {
        zone = z;
    }

    public DnsZone zone() {
        return zone;
    }

    public List<InetSocketAddress> upstreams() {
        return upstreams;
    }

    /** Queries answered from the zone (tailnet names, reverse lookups of tailnet addresses). */
    public long answeredLocally() {
        return answeredLocally.sum();
    }

    /** Queries for other names, sent on to the upstream resolvers. */
    public long forwarded() {
        return forwarded.sum();
    }

    /** Queries dropped unanswered: not parseable, or not a query. */
    public long malformed() {
        return malformed.sum();
    }

    /** Upstream attempts that failed (each upstream tried counts once). */
    public long upstreamFailures() {
        return upstreamFailures.sum();
    }

    /** Answers one query ({@code tcp}: it came over TCP, so a large answer need not be truncated). */
    public byte[] handle(byte[] query, int length, boolean tcp) {
        Message q;
        try {
            q = new Message(java.util.Arrays.copyOf(query, length));
        } catch (IOException e) {
            malformed.increment();
            return null;
        }
        if (q.getHeader().getFlag(Flags.QR) || q.getQuestion() == null) {
            malformed.increment();
            return null;
        }
        Record question = q.getQuestion();
        Name name = question.getName();
        DnsZone z = zone;
        String fqdn = name.toString();
        int type = question.getType();
        if (type == Type.PTR) {
            IpAddress addr = fromReverse(name);
            if (addr != null) {
                String target = z.reverse(addr);
                if (target != null) {
                    Message r = reply(q, Rcode.NOERROR);
                    r.addRecord(new PTRRecord(name, DClass.IN, TTL_SECONDS, Name.fromConstantString(target)), Section.ANSWER);
                    answeredLocally.increment();
                    return r.toWire();
                }
            }
        } else if (z.isAuthoritativeFor(fqdn)) {
            List<IpAddress> addresses = z.lookup(fqdn);
            answeredLocally.increment();
            if (addresses == null) {
                return reply(q, Rcode.NXDOMAIN).toWire();
            }
            Message r = reply(q, Rcode.NOERROR);
            for (IpAddress a : addresses) {
                if (type == Type.A && a.v4()) {
                    r.addRecord(new ARecord(name, DClass.IN, TTL_SECONDS, a.toInetAddress()), Section.ANSWER);
                } else if (type == Type.AAAA && !a.v4()) {
                    r.addRecord(new AAAARecord(name, DClass.IN, TTL_SECONDS, a.toInetAddress()), Section.ANSWER);
                } else if (type == Type.ANY) {
                    r.addRecord(a.v4() ? new ARecord(name, DClass.IN, TTL_SECONDS, a.toInetAddress())
                            : new AAAARecord(name, DClass.IN, TTL_SECONDS, a.toInetAddress()), Section.ANSWER);
                }
            }
            return r.toWire();
        }
        return forward(q, tcp);
    }

    private byte[] forward(Message q, boolean tcp) {
        forwarded.increment();
        for (InetSocketAddress upstream : upstreams) {
            try {
                SimpleResolver r = new SimpleResolver(upstream);
                r.setTimeout(UPSTREAM_TIMEOUT);
                r.setTCP(tcp);
                Message answer = r.send(q);
                answer.getHeader().setID(q.getHeader().getID());
                return answer.toWire();
            } catch (IOException e) {
                upstreamFailures.increment();
                LOG.log(Level.DEBUG, "upstream {0} failed for {1}: {2}", upstream, q.getQuestion().getName(),
                        e.getMessage());
            }
        }
        return reply(q, Rcode.SERVFAIL).toWire();
    }

    private static Message reply(Message q, int rcode) {
        Message r = new Message(q.getHeader().getID());
        r.getHeader().setFlag(Flags.QR);
        r.getHeader().setFlag(Flags.AA);
        if (q.getHeader().getFlag(Flags.RD)) {
            r.getHeader().setFlag(Flags.RD);
            r.getHeader().setFlag(Flags.RA);
        }
        r.getHeader().setRcode(rcode);
        r.addRecord(q.getQuestion(), Section.QUESTION);
        return r;
    }

    /** The address an in-addr.arpa or ip6.arpa name stands for, or null. */
    static IpAddress fromReverse(Name name) {
        String s = name.toString().toLowerCase(java.util.Locale.ROOT);
        try {
            if (s.endsWith(".in-addr.arpa.")) {
                String[] p = s.substring(0, s.length() - ".in-addr.arpa.".length()).split("\\.");
                if (p.length != 4) {
                    return null;
                }
                return IpAddress.parse(p[3] + "." + p[2] + "." + p[1] + "." + p[0]);
            }
            if (s.endsWith(".ip6.arpa.")) {
                String[] p = s.substring(0, s.length() - ".ip6.arpa.".length()).split("\\.");
                if (p.length != 32) {
                    return null;
                }
                StringBuilder hex = new StringBuilder();
                for (int i = 31; i >= 0; i--) {
                    hex.append(p[i]);
                    if (i % 4 == 0 && i > 0) {
                        hex.append(':');
                    }
                }
                return IpAddress.parse(hex.toString());
            }
        } catch (IllegalArgumentException e) {
            return null;
        }
        return null;
    }

    /** The nameservers of a resolv.conf file, port 53; empty when there is none or it is unreadable. */
    public static List<InetSocketAddress> systemResolvers(Path resolvConf) {
        List<InetSocketAddress> out = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(resolvConf)) {
                String[] f = line.trim().split("\\s+");
                if (f.length >= 2 && f[0].equals("nameserver")) {
                    try {
                        out.add(new InetSocketAddress(InetAddress.ofLiteral(f[1]), 53));
                    } catch (IllegalArgumentException ignored) {
                        // Not an address literal: nothing to send to.
                    }
                }
            }
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot read {0}: {1}", resolvConf, e.getMessage());
        }
        return out;
    }
}
