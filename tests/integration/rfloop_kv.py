#!/usr/bin/env python3
"""rfloop_kv.py - a blocking memcached-protocol client for
tests/integration/92-librf-rfloop.sh, run with or without librfloop.so
preloaded (the same code then goes over RFloop or kernel TCP).

  rfloop_kv.py rr PORT N     set a key, then N get round trips on one
                             connection; prints "rr N SECONDS RATE"
  rfloop_kv.py die PORT      half a set (its header and 10 of 100 bytes),
                             then SIGKILL: a client dying mid-request
  rfloop_kv.py quit PORT     "quit": the server closes; prints "eof"
  rfloop_kv.py conns PORT    prints the server's curr_connections (stats),
                             this connection included

Blocking reads: librfloop's reader spins 20 us before it sleeps, so a
quick answer wakes nobody (the point of the syscall count in the test).
"""
import os
import signal
import socket
import sys
import time


def conn(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def until(s, end):
    buf = b""
    while not buf.endswith(end):
        b = s.recv(65536)
        if not b:
            raise SystemExit("EOF after %r" % buf)
        buf += b
    return buf


def rr(port, n):
    s = conn(port)
    val = b"v" * 32
    s.sendall(b"set rfloopkey 0 0 %d\r\n%s\r\n" % (len(val), val))
    if until(s, b"\r\n") != b"STORED\r\n":
        raise SystemExit("set failed")
    t = time.monotonic()
    for _ in range(n):
        s.sendall(b"get rfloopkey\r\n")
        r = until(s, b"END\r\n")
        if val not in r:
            raise SystemExit("bad answer %r" % r)
    dt = time.monotonic() - t
    s.close()
    print("rr %d %.3f %.0f" % (n, dt, n / dt if dt > 0 else 0))


def die(port):
    s = conn(port)
    s.sendall(b"set dying 0 0 100\r\n" + b"x" * 10)
    time.sleep(0.2)
    os.kill(os.getpid(), signal.SIGKILL)


def quit_(port):
    s = conn(port)
    s.sendall(b"quit\r\n")
    if s.recv(100) != b"":
        raise SystemExit("no EOF after quit")
    print("eof")


def conns(port):
    s = conn(port)
    s.sendall(b"stats\r\n")
    for line in until(s, b"END\r\n").decode().split("\r\n"):
        if line.startswith("STAT curr_connections "):
            print(line.split()[2])
    s.close()


if __name__ == "__main__":
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "rr":
        rr(port, int(sys.argv[3]))
    elif mode == "die":
        die(port)
    elif mode == "quit":
        quit_(port)
    elif mode == "conns":
        conns(port)
    else:
        raise SystemExit("usage: rfloop_kv.py rr|die|quit|conns PORT [N]")
