"""A tailnet client keeping a TCP connection and a UDP flow open across a netmap update.

Usage: open_flows_across_update.py HOST TCP_PORT UDP_PORT GO_FILE

Opens both flows and checks each echoes, prints "opened", then waits (bounded) for GO_FILE, which
the test creates after it has withdrawn the route. Then it checks both open flows still echo and
that a new TCP connection and a new UDP flow to the same host are refused. Prints one line per
check ("name:result"); the test asserts on them.
"""
import os
import socket
import sys
import time

host, tcp_port, udp_port, go_file = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]


def say(line):
    print(line, flush=True)


def tcp_echo(conn, payload):
    conn.sendall(payload)
    got = b""
    while len(got) < len(payload):
        chunk = conn.recv(len(payload) - len(got))
        if not chunk:
            return "closed"
        got += chunk
    return "ok" if got == payload else "mismatch"


def udp_echo(sock, payload):
    # A lost datagram is retried: UDP promises nothing, the flow is what is being tested.
    for _ in range(5):
        sock.send(payload)
        try:
            return "ok" if sock.recv(2048) == payload else "mismatch"
        except socket.timeout:
            continue
    return "timeout"


tcp = socket.create_connection((host, tcp_port), timeout=10)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.settimeout(2)
udp.connect((host, udp_port))
say("tcp-before:" + tcp_echo(tcp, b"before"))
say("udp-before:" + udp_echo(udp, b"before"))
say("opened")

deadline = time.monotonic() + 30
while not os.path.exists(go_file) and time.monotonic() < deadline:
    time.sleep(0.02)
if not os.path.exists(go_file):
    say("go:timeout")
    sys.exit(1)

try:
    say("tcp-after:" + tcp_echo(tcp, b"after the update"))
except OSError as e:
    say("tcp-after:" + type(e).__name__)
say("udp-after:" + udp_echo(udp, b"after the update"))

try:
    fresh = socket.create_connection((host, tcp_port), timeout=10)
    say("tcp-new:connected")
    fresh.close()
except ConnectionRefusedError:
    say("tcp-new:refused")
except OSError as e:
    say("tcp-new:" + type(e).__name__)

fresh_udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
fresh_udp.settimeout(1)
fresh_udp.connect((host, udp_port))
fresh_udp.send(b"new flow")
try:
    fresh_udp.recv(2048)
    say("udp-new:answered")
except socket.timeout:
    say("udp-new:unanswered")
except OSError as e:
    say("udp-new:" + type(e).__name__)

tcp.close()
udp.close()
say("done")
