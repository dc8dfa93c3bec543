package dev.loomstack.tcp;

import dev.loomstack.packet.IpAddress;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;

/**
 * Initial sequence numbers per RFC 6528: ISN = M + F(localip, localport, remoteip, remoteport,
 * secretkey), with M a timer ticking every 4 microseconds and F a keyed cryptographic hash, so an
 * off-path attacker can guess neither a connection's ISN nor a new incarnation's.
 */
public final class IsnGenerator {
    private static final long TICK_NANOS = 4_000;
    private final byte[] secret = new byte[16];

    public IsnGenerator() {
        new SecureRandom().nextBytes(secret);
    }

    public int isn(IpAddress local, int localPort, IpAddress remote, int remotePort, long nowNanos) {
        MessageDigest d;
        try {
            d = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java platform", e);
        }
        d.update(secret);
        byte[] buf = new byte[36];
        local.write(buf, 0);
        remote.write(buf, 16);
        buf[32] = (byte) (localPort >>> 8);
        buf[33] = (byte) localPort;
        buf[34] = (byte) (remotePort >>> 8);
        buf[35] = (byte) remotePort;
        byte[] h = d.digest(buf);
        int f = ((h[0] & 0xff) << 24) | ((h[1] & 0xff) << 16) | ((h[2] & 0xff) << 8) | (h[3] & 0xff);
        return (int) (nowNanos / TICK_NANOS) + f;
    }
}
