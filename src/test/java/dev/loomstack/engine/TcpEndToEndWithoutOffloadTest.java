package dev.loomstack.engine;

/**
 * Every case of {@link TcpEndToEndTest} on a TUN opened without offloads
 * ({@code loomstack.tun.offload=false}): plain MTU-sized packets both ways, checksums computed and
 * verified by Loomstack itself.
 */
class TcpEndToEndWithoutOffloadTest extends TcpEndToEndTest {
    @Override
    boolean offload() {
        return false;
    }
}
