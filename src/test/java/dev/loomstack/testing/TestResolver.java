package dev.loomstack.testing;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.util.concurrent.atomic.AtomicInteger;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * A one-name DNS server on loopback UDP, standing in for the upstream resolver MagicDNS forwards
 * to: {@code A} for {@link #NAME} is {@link #ADDRESS}; every other name is NXDOMAIN.
 */
public final class TestResolver implements AutoCloseable {
    public static final String NAME = "upstream.example.";
    public static final String ADDRESS = "198.18.9.9";

    private final DatagramSocket socket;
    private final Thread thread;
    public final AtomicInteger queries = new AtomicInteger();

    public TestResolver() throws SocketException {
        socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        thread = Thread.ofVirtual().name("test-resolver").start(this::serve);
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) socket.getLocalSocketAddress();
    }

    private void serve() {
        byte[] buf = new byte[4096];
        while (!socket.isClosed()) {
            DatagramPacket p = new DatagramPacket(buf, buf.length);
            try {
                socket.receive(p);
                queries.incrementAndGet();
                Message q = new Message(java.util.Arrays.copyOf(buf, p.getLength()));
                Message r = new Message(q.getHeader().getID());
                r.getHeader().setFlag(Flags.QR);
                r.addRecord(q.getQuestion(), Section.QUESTION);
                Name name = q.getQuestion().getName();
                if (name.equals(Name.fromConstantString(NAME)) && q.getQuestion().getType() == Type.A) {
                    r.addRecord(new ARecord(name, DClass.IN, 60, InetAddress.getByName(ADDRESS)), Section.ANSWER);
                } else {
                    r.getHeader().setRcode(Rcode.NXDOMAIN);
                }
                byte[] out = r.toWire();
                socket.send(new DatagramPacket(out, out.length, p.getSocketAddress()));
            } catch (IOException e) {
                // Closed, or a malformed query: keep serving until closed.
            }
        }
    }

    @Override
    public void close() throws InterruptedException {
        socket.close();
        thread.join(5000);
    }
}
