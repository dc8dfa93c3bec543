package dev.loomstack.tcp;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Enabled;
import jdk.jfr.Event;
import jdk.jfr.EventType;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/**
 * A JFR event for each turn a connection's loss recovery takes: recovery entered and left,
 * timeouts, tail loss probes, losses marked during recovery and reductions undone. Off unless a
 * recording enables {@code dev.loomstack.tcp.Recovery} (e.g.
 * {@code jcmd <pid> JFR.start settings=profile +dev.loomstack.tcp.Recovery#enabled=true}); then
 * {@code jfr print --events dev.loomstack.tcp.Recovery} gives the trace of a lossy transfer.
 * Only episode turns are recorded, never a per-packet event.
 */
@Name("dev.loomstack.tcp.Recovery")
@Label("TCP loss recovery")
@Category({"Loomstack", "TCP"})
@Description("A turn in a TCP connection's loss recovery, with the sender's windows at that moment")
@Enabled(false)
@StackTrace(false)
final class RecoveryEvent extends Event {
    /** Whether any recording wants the event, asked before one is made: no allocation while off. */
    private static final EventType TYPE = EventType.getEventType(RecoveryEvent.class);

    @Label("What happened")
    String kind;

    @Label("Recovery state")
    String state;

    @Label("Congestion window")
    @DataAmount
    int cwnd;

    @Label("Slow-start threshold")
    @DataAmount
    int ssthresh;

    @Label("Pipe")
    @Description("Bytes thought to be in the network (RFC 6675 section 4)")
    @DataAmount
    int pipe;

    @Label("Flight size")
    @DataAmount
    int flight;

    @Label("SACKed")
    @DataAmount
    int sacked;

    @Label("Lost")
    @DataAmount
    int lost;

    @Label("Smoothed RTT")
    @Timespan
    long srtt;

    @Label("RACK reordering window multiplier")
    int reorderWindowMultiplier;

    /** Records one turn if a recording wants it. */
    static void emit(String kind, LossRecovery recovery, TcpSender sender) {
        if (!TYPE.isEnabled()) {
            return;
        }
        RecoveryEvent e = new RecoveryEvent();
        CongestionControl cc = sender.congestionControl();
        e.kind = kind;
        e.state = recovery.state().name();
        e.cwnd = cc.congestionWindow();
        e.ssthresh = cc.slowStartThreshold();
        e.pipe = recovery.pipe();
        e.flight = sender.flightSize();
        e.sacked = recovery.sent().sackedBytes();
        e.lost = recovery.sent().lostBytes();
        e.srtt = sender.srttNanos();
        e.reorderWindowMultiplier = recovery.rack().reorderWindowMultiplier();
        e.commit();
    }
}
