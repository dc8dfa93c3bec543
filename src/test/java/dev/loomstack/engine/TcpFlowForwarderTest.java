package dev.loomstack.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomstack.ip.IpStack;
import dev.loomstack.packet.IpPrefix;
import dev.loomstack.packet.PacketBufferPool;
import dev.loomstack.packet.TcpHeader;
import dev.loomstack.stack.ManualTimerService;
import dev.loomstack.stack.Stack;
import dev.loomstack.stack.Stats;
import dev.loomstack.tcp.TcpForwarder;
import dev.loomstack.tcp.TcpProtocol;
import dev.loomstack.testing.Await;
import dev.loomstack.testing.CaptureLink;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The upstream side of a forwarded TCP flow, against real loopback sockets: the dial gives up
 * after the configured timeout, and an upstream that turns out to be a denied port of this host
 * is left with a reset before any byte is copied, the client getting a RST.
 */
class TcpFlowForwarderTest {
    private final CaptureLink link = new CaptureLink(1280);
    private final List<AutoCloseable> closeAfter = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : closeAfter.reversed()) {
            c.close();
        }
    }

    /** A stack whose forwarded flows go to {@code dial} through {@code flows}. */
    private void forwardTo(TcpFlowForwarder flows, InetSocketAddress dial, FlowObserver observer) {
        Stack stack = IpStack.create(link, PacketBufferPool.forMtu(1280, 64), new Stats(), new ManualTimerService());
        TcpProtocol tcp = new TcpProtocol(stack);
        stack.registerTransport(tcp);
        stack.addAddress(IpPrefix.host(InFlightAccountingTest.ROUTER));
        stack.start();
        closeAfter.add(stack::close);
        new TcpForwarder(tcp, 0, 16, r -> flows.run(r, dial, false, observer));
    }

    private boolean resetSent() {
        return link.take().stream().anyMatch(b -> (TcpHeader.flags(b, 20) & TcpHeader.RST) != 0);
    }

    @Test
    void anUpstreamOnADeniedPortOfThisHostIsResetBeforeAnyByte() throws Exception {
        ServerSocket service = new ServerSocket(0, 8, InetAddress.getLoopbackAddress());
        closeAfter.add(service);
        HostPortGuard guard = new HostPortGuard(new HostAddresses());
        guard.deny(service.getLocalPort());
        AtomicBoolean refused = new AtomicBoolean();
        forwardTo(new TcpFlowForwarder(Duration.ofSeconds(5), guard),
                new InetSocketAddress(InetAddress.getLoopbackAddress(), service.getLocalPort()), new FlowObserver() {
                    @Override
                    public void dialFailed(boolean cancelled) {
                        refused.set(!cancelled);
                    }
                });

        link.deliver(InFlightAccountingTest.syn(InFlightAccountingTest.A, 1001));
        // The dial reached the service (as one to an address gained since the last reading would):
        // the check after connecting refuses it.
        try (Socket accepted = service.accept()) {
            accepted.setSoTimeout(10_000);
            InputStream in = accepted.getInputStream();
            int first;
            try {
                first = in.read();
            } catch (IOException reset) {
                first = -1;
            }
            assertEquals(-1, first, "the service never gets a byte");
        }
        Await.until(Duration.ofSeconds(5), "the client gets a RST", this::resetSent);
        assertTrue(refused.get(), "the flow is recorded as refused");
        assertEquals(1, guard.refused());
    }

    @Test
    void theDialGivesUpAfterTheConfiguredTimeout() throws Exception {
        // A listener that never accepts, its queue full: Linux drops further SYNs to it, so a dial
        // hangs until the dialler gives up.
        ServerSocket blackHole = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        closeAfter.add(blackHole);
        for (int i = 0; i < 2; i++) {
            Socket filler = new Socket();
            filler.connect(blackHole.getLocalSocketAddress(), 2000);
            closeAfter.add(filler);
        }
        AtomicBoolean failed = new AtomicBoolean();
        forwardTo(new TcpFlowForwarder(Duration.ofMillis(200), new HostPortGuard(new HostAddresses())),
                (InetSocketAddress) blackHole.getLocalSocketAddress(), new FlowObserver() {
                    @Override
                    public void dialFailed(boolean cancelled) {
                        failed.set(true);
                    }
                });
        link.deliver(InFlightAccountingTest.syn(InFlightAccountingTest.A, 1002));
        // Well before the 5 s that used to be fixed, and far from the 30 s default.
        Await.until(Duration.ofSeconds(4), "the dial times out and the client gets a RST",
                () -> failed.get() && resetSent());
    }

    @Test
    void theDialTimeoutMustBePositive() {
        HostPortGuard guard = new HostPortGuard(new HostAddresses());
        assertThrows(IllegalArgumentException.class, () -> new TcpFlowForwarder(Duration.ZERO, guard));
        assertThrows(IllegalArgumentException.class, () -> new TcpFlowForwarder(Duration.ofSeconds(-1), guard));
        assertThrows(IllegalArgumentException.class, () -> new TcpFlowForwarder(Duration.ofDays(30), guard));
        assertEquals(Duration.ofSeconds(30), TcpFlowForwarder.DEFAULT_DIAL_TIMEOUT);
    }
}
