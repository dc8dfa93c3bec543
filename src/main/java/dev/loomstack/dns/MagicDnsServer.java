package dev.loomstack.dns;

import dev.loomstack.net.TcpConn;
import dev.loomstack.udp.UdpEndpoint;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.System.Logger.Level;
import java.net.SocketTimeoutException;
import java.time.Duration;

/** Carries MagicDNS queries over the stack's UDP and TCP (RFC 1035 section 4.2). */
public final class MagicDnsServer {
    /** Tailscale's read deadline for more queries on one UDP flow. */
    public static final Duration UDP_READ_DEADLINE = Duration.ofMillis(150);
    /** An idle DNS-over-TCP connection is closed after this (RFC 7766 section 6.2.3 suggests seconds). */
    public static final Duration TCP_IDLE_TIMEOUT = Duration.ofSeconds(10);
    static final int MAX_UDP_QUERY = 4096;
    private static final System.Logger LOG = System.getLogger(MagicDnsServer.class.getName());

    private final MagicDns dns;

    public MagicDnsServer(MagicDns dns) {
        this.dns = dns;
    }

    public MagicDns dns() {
        return dns;
    }

    /**
     * Serves queries on a UDP flow until none arrives for {@link #UDP_READ_DEADLINE} (Tailscale's
     * {@code handleMagicDNSUDP}), then closes it.
     */
    public void serveUdp(UdpEndpoint ep) {
        byte[] buf = new byte[MAX_UDP_QUERY];
        try (ep) {
            while (true) {
                int n;
                try {
                    n = ep.receive(buf, 0, buf.length, UDP_READ_DEADLINE.toNanos(), null);
                } catch (SocketTimeoutException done) {
                    return;
                }
                byte[] answer = dns.handle(buf, n, false);
                if (answer != null) {
                    ep.send(answer, 0, answer.length);
                }
            }
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "MagicDNS UDP flow ended: {0}", e.getMessage());
        }
    }

    /** Serves length-prefixed queries on one TCP connection until the client closes it. */
    public void serveTcp(TcpConn c) {
        try (c) {
            c.setReadTimeout(TCP_IDLE_TIMEOUT);
            DataInputStream in = new DataInputStream(c.getInputStream());
            OutputStream out = c.getOutputStream();
            while (true) {
                int len;
                try {
                    len = in.readUnsignedShort();
                } catch (EOFException | SocketTimeoutException end) {
                    return;
                }
                byte[] q = new byte[len];
                in.readFully(q);
                byte[] answer = dns.handle(q, len, true);
                if (answer == null) {
                    return;
                }
                byte[] framed = new byte[answer.length + 2];
                framed[0] = (byte) (answer.length >>> 8);
                framed[1] = (byte) answer.length;
                System.arraycopy(answer, 0, framed, 2, answer.length);
                out.write(framed);
                out.flush();
            }
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "MagicDNS TCP connection ended: {0}", e.getMessage());
        }
    }
}
