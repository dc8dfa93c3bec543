"""Opens many concurrent UDP flows (one socket, so one source port, each) and counts the answered.

Usage: udp_flows.py HOST PORT FLOWS SECONDS

Each flow sends one datagram naming its index and waits for the echo. Sockets are spread over
worker processes of at most PER_WORKER each (a process's descriptor limit is often 20,000 or less
and cannot be raised past its hard limit); each worker raises its soft limit to what it needs,
sends in batches so the TUN's queue is not overrun, and collects replies with epoll. A flow not
yet answered gets its datagram again every RESEND seconds from the same socket (the same flow):
UDP may drop, the flow must still be answered. Every socket stays open until the end, so all flows
are open at once. Prints "answered=A flows=F" and exits 0 when all were answered within SECONDS.
"""
import os
import resource
import select
import socket
import sys
import time

PER_WORKER = 8000
BATCH = 256
RESEND = 2.0

host, port, flows, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
deadline = time.monotonic() + seconds


def worker(first, count, out_fd):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = count + 64
    if soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            os.write(out_fd, b"error: descriptor limit %d below %d\n" % (hard, need))
            os._exit(2)
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    ep = select.epoll()
    socks = {}
    payload = {}
    answered = set()
    last_sent = {}

    def drain(timeout):
        for fd, _ in ep.poll(timeout, 1024):
            s = socks[fd]
            while True:
                try:
                    data = s.recv(2048)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    break
                if data == payload[fd]:
                    answered.add(fd)

    for i in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setblocking(False)
        s.connect((host, port))
        fd = s.fileno()
        socks[fd] = s
        payload[fd] = b"flow %d" % (first + i)
        ep.register(fd, select.EPOLLIN)
        s.send(payload[fd])
        last_sent[fd] = time.monotonic()
        if (i + 1) % BATCH == 0:
            drain(0.01)
    while len(answered) < count and time.monotonic() < deadline:
        drain(0.1)
        now = time.monotonic()
        for fd, s in socks.items():
            if fd not in answered and now - last_sent[fd] >= RESEND:
                try:
                    s.send(payload[fd])
                except OSError:
                    pass
                last_sent[fd] = now
    os.write(out_fd, b"%d\n" % len(answered))
    os._exit(0)


pipes = []
first = 0
while first < flows:
    count = min(PER_WORKER, flows - first)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        worker(first, count, w)
    os.close(w)
    pipes.append((pid, r))
    first += count

total = 0
for pid, r in pipes:
    with os.fdopen(r, "rb") as f:
        line = f.read().decode().strip()
    os.waitpid(pid, 0)
    if line.startswith("error"):
        print(line, flush=True)
        sys.exit(2)
    total += int(line or "0")
print("answered=%d flows=%d" % (total, flows), flush=True)
sys.exit(0 if total == flows else 1)
