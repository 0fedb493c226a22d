#!/usr/bin/env python3
"""probe_peer.py - misbehaving services for rfd's probe (48-probe.sh).

  probe_peer.py backlog PORT   listens with a full accept queue and never
      accepts: a new connection's handshake is never answered (a connect
      that times out)
  probe_peer.py double PORT    answers every memcached request line twice
      (a reply to no request)

Prints "ready" once listening; runs until killed.
"""
import socket
import sys
import time


def backlog(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(0)
    fillers = []
    for _ in range(4):  # fill the accept queue; later SYNs are dropped
        c = socket.socket()
        c.setblocking(False)
        try:
            c.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(c)
        time.sleep(0.05)
    print("ready", flush=True)
    while True:
        time.sleep(60)


def double(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(8)
    print("ready", flush=True)
    while True:
        c, _ = s.accept()
        buf = b""
        try:
            while True:
                data = c.recv(4096)
                if not data:
                    break
                buf += data
                while b"\n" in buf:
                    _, buf = buf.split(b"\n", 1)
                    c.sendall(b"VERSION 1\r\nVERSION 1\r\n")
        except OSError:
            pass  # rfd hung up on us: the next connection
        c.close()


if __name__ == "__main__":
    {"backlog": backlog, "double": double}[sys.argv[1]](int(sys.argv[2]))
