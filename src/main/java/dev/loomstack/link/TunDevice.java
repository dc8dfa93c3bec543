package dev.loomstack.link;

import dev.loomstack.packet.VirtioNetHeader;
import java.lang.System.Logger.Level;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * Creating a TUN device: {@code TUNSETIFF} on {@code /dev/net/tun}, the offloads its kernel agrees
 * to ({@code TUNSETOFFLOAD}, with the {@code virtio_net_hdr} size and byte order), its MTU and
 * {@code IFF_UP}. What it yields is driven by {@link TunLink}.
 */
final class TunDevice {
    private static final long TUNSETIFF = 0x400454caL;
    private static final long TUNSETOFFLOAD = 0x400454d0L;
    private static final long TUNSETVNETHDRSZ = 0x400454d8L;
    private static final long TUNSETVNETLE = 0x400454dcL;
    private static final long SIOCGIFFLAGS = 0x8913L;
    private static final long SIOCSIFFLAGS = 0x8914L;
    private static final long SIOCSIFMTU = 0x8922L;
    private static final short IFF_TUN = 0x0001;
    private static final short IFF_NO_PI = 0x1000;
    private static final short IFF_VNET_HDR = 0x4000;
    private static final short IFF_UP = 0x1;
    private static final short IFF_RUNNING = 0x40;
    private static final int TUN_F_CSUM = 0x01;
    private static final int TUN_F_TSO4 = 0x02;
    private static final int TUN_F_TSO6 = 0x04;
    private static final int TUN_F_USO4 = 0x20;
    private static final int TUN_F_USO6 = 0x40;
    private static final int IFREQ_SIZE = 40;
    private static final int IFREQ_UNION = 16;
    private static final System.Logger LOG = System.getLogger(TunLink.class.getName());

    /** An open device: its descriptor (non-blocking), the name the kernel gave it, what it agreed to. */
    record Opened(int fd, String name, TunOffloads offloads) {}

    private TunDevice() {}

    /**
     * Creates the device {@code name}, with offloads when {@code offload}, sets its MTU and brings it
     * up; see {@link TunLink#open(String, int, dev.loomstack.packet.PacketBufferPool)}.
     */
    static Opened open(String name, int mtu, boolean offload) {
        byte[] nameBytes = name.getBytes(StandardCharsets.US_ASCII);
        if (name.isEmpty() || nameBytes.length > TunLink.MAX_NAME_LENGTH || name.contains("/") || name.contains(" ")) {
            throw new IllegalArgumentException("TUN device name must be 1-" + TunLink.MAX_NAME_LENGTH
                    + " characters without '/' or spaces, got '" + name + "'");
        }
        if (mtu < 68 || mtu > 65535) {
            throw new IllegalArgumentException("MTU must be between 68 and 65535, got " + mtu);
        }
        LibC.CallState cs = new LibC.CallState();
        int fd = LibC.open(cs, TunLink.DEVICE, LibC.O_RDWR | LibC.O_NONBLOCK | LibC.O_CLOEXEC);
        if (fd < 0) {
            int e = cs.errno();
            throw new LinkUnavailableException(switch (e) {
                case LibC.ENOENT, LibC.ENODEV -> "cannot open " + TunLink.DEVICE + ": " + LibC.describe(e)
                        + " — load the tun module (modprobe tun) or pass the device to the container (--device /dev/net/tun)";
                case LibC.EPERM, LibC.EACCES -> "cannot open " + TunLink.DEVICE + ": " + LibC.describe(e)
                        + " — run as root or grant CAP_NET_ADMIN, and make the device readable and writable";
                default -> "cannot open " + TunLink.DEVICE + ": " + LibC.describe(e);
            });
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ifr = ifreq(arena, nameBytes);
            boolean vnet = offload;
            int rc = setIff(cs, fd, ifr, vnet);
            if (rc < 0 && vnet && cs.errno() == LibC.EINVAL) {
                // A kernel without IFF_VNET_HDR (older than 2.6.27): plain packets.
                vnet = false;
                ifr = ifreq(arena, nameBytes);
                rc = setIff(cs, fd, ifr, false);
            }
            if (rc < 0) {
                int e = cs.errno();
                throw new LinkUnavailableException(switch (e) {
                    case LibC.EPERM, LibC.EACCES -> "cannot create TUN device " + name + ": " + LibC.describe(e)
                            + " — the process needs CAP_NET_ADMIN (run as root or add --cap-add NET_ADMIN)";
                    case LibC.EBUSY -> "cannot create TUN device " + name + ": " + LibC.describe(e)
                            + " — another process holds a device of that name; pick another loomstack.tun.name";
                    default -> "cannot create TUN device " + name + ": " + LibC.describe(e);
                });
            }
            String actual = readName(ifr);
            TunOffloads offloads = vnet ? negotiate(cs, fd, arena, actual) : TunOffloads.NONE;
            configure(actual, mtu);
            LOG.log(Level.INFO, () -> "TUN device " + actual + " created (mtu " + mtu + ") and up, offload: "
                    + (offload ? offloads : "off (loomstack.tun.offload=false)"));
            return new Opened(fd, actual, offloads);
        } catch (RuntimeException e) {
            LibC.close(fd);
            throw e;
        }
    }

    private static int setIff(LibC.CallState cs, int fd, MemorySegment ifr, boolean vnet) {
        ifr.set(ValueLayout.JAVA_SHORT, IFREQ_UNION, (short) (IFF_TUN | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0)));
        return LibC.ioctl(cs, fd, TUNSETIFF, ifr);
    }

    /**
     * Asks for the offloads on a device opened with {@code IFF_VNET_HDR}, most first. The header
     * itself cannot be given up once the device is attached (a second TUNSETIFF is refused), so a
     * kernel that refuses every offload leaves it in place, all zero both ways: that costs ten
     * bytes per packet and no copy, and one read/write path serves both cases. With offloads set to
     * none the kernel completes every checksum itself and never hands over a super-segment, so every
     * u16 field it sends is zero, whatever the byte order; the order is still pinned little-endian
     * ({@code TUNSETVNETLE}) so that what {@link VirtioNetHeader} reads is right on any host.
     */
    private static TunOffloads negotiate(LibC.CallState cs, int fd, Arena arena, String name) {
        MemorySegment value = arena.allocate(ValueLayout.JAVA_INT);
        value.set(ValueLayout.JAVA_INT, 0, VirtioNetHeader.LENGTH);
        if (LibC.ioctl(cs, fd, TUNSETVNETHDRSZ, value) < 0) {
            LOG.log(Level.WARNING, "TUNSETVNETHDRSZ on " + name + " refused: " + LibC.describe(cs.errno()));
        }
        value.set(ValueLayout.JAVA_INT, 0, 1);
        boolean littleEndian = LibC.ioctl(cs, fd, TUNSETVNETLE, value) == 0;
        if (!littleEndian) {
            LOG.log(Level.WARNING, "TUNSETVNETLE on " + name + " refused (" + LibC.describe(cs.errno())
                    + "): offloads off, the virtio_net_hdr stays all zero");
        }
        int tso = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
        if (littleEndian && LibC.ioctlValue(cs, fd, TUNSETOFFLOAD, tso | TUN_F_USO4 | TUN_F_USO6) == 0) {
            return new TunOffloads(true, true, true, true);
        }
        if (littleEndian && LibC.ioctlValue(cs, fd, TUNSETOFFLOAD, tso) == 0) {
            return new TunOffloads(true, true, true, false);
        }
        if (littleEndian) {
            LOG.log(Level.WARNING, "TUNSETOFFLOAD on " + name + " refused: " + LibC.describe(cs.errno())
                    + "; plain packets with an all-zero virtio_net_hdr");
        }
        if (LibC.ioctlValue(cs, fd, TUNSETOFFLOAD, 0) < 0) {
            throw new LinkUnavailableException("cannot turn the offloads of TUN device " + name + " off: "
                    + LibC.describe(cs.errno()));
        }
        return new TunOffloads(true, false, false, false);
    }

    private static MemorySegment ifreq(Arena arena, byte[] nameBytes) {
        MemorySegment ifr = arena.allocate(IFREQ_SIZE);
        MemorySegment.copy(nameBytes, 0, ifr, ValueLayout.JAVA_BYTE, 0, nameBytes.length);
        return ifr;
    }

    private static String readName(MemorySegment ifr) {
        byte[] n = new byte[16];
        MemorySegment.copy(ifr, ValueLayout.JAVA_BYTE, 0, n, 0, n.length);
        int len = 0;
        while (len < n.length && n[len] != 0) {
            len++;
        }
        return new String(n, 0, len, StandardCharsets.US_ASCII);
    }

    /** MTU and IFF_UP are interface settings, changed through any socket's ioctls (netdevice(7)). */
    private static void configure(String name, int mtu) {
        LibC.CallState cs = new LibC.CallState();
        int s = LibC.socket(cs, LibC.AF_INET, LibC.SOCK_DGRAM, 0);
        if (s < 0) {
            throw new LinkUnavailableException("cannot open a control socket: " + LibC.describe(cs.errno()));
        }
        try (Arena arena = Arena.ofConfined()) {
            byte[] nb = name.getBytes(StandardCharsets.US_ASCII);
            MemorySegment ifr = ifreq(arena, nb);
            ifr.set(ValueLayout.JAVA_INT, IFREQ_UNION, mtu);
            if (LibC.ioctl(cs, s, SIOCSIFMTU, ifr) < 0) {
                throw new LinkUnavailableException("cannot set MTU " + mtu + " on " + name + ": "
                        + LibC.describe(cs.errno()));
            }
            ifr = ifreq(arena, nb);
            if (LibC.ioctl(cs, s, SIOCGIFFLAGS, ifr) < 0) {
                throw new LinkUnavailableException("cannot read flags of " + name + ": " + LibC.describe(cs.errno()));
            }
            short flags = ifr.get(ValueLayout.JAVA_SHORT, IFREQ_UNION);
            ifr.set(ValueLayout.JAVA_SHORT, IFREQ_UNION, (short) (flags | IFF_UP | IFF_RUNNING));
            if (LibC.ioctl(cs, s, SIOCSIFFLAGS, ifr) < 0) {
                throw new LinkUnavailableException("cannot bring " + name + " up: " + LibC.describe(cs.errno()));
            }
        } finally {
            LibC.close(s);
        }
    }
}
