"""rfloop_pool.py - connection regions kept and handed over again
(src/rfloop/pool.c), for 90-rfloop.sh; run preloaded with librfloop.

    python3 rfloop_pool.py PORT

Starts an echo server (this script, `serve PORT`, in a process of its own)
and, as its client:
  - 40 connections one after the other, each echoing a message longer
    than the one before and made of other bytes, every byte checked (a
    region used again must carry nothing of the connection before);
  - with no connection open, this process keeps regions mapped, and a
    forked child has none of them (MADV_DONTFORK: a kept region is never
    readable by another process);
  - with one connection open, a forked child has exactly that region and
    can use the connection (the parent only closes its copy: each process
    keeps its own ring positions, so two cannot read one connection); the
    parent then goes on connecting.
The stats file (RF_LOOP_STATS) then shows how many regions were reused;
90-rfloop.sh checks it.  Prints OK.
"""
import os
import socket
import subprocess
import sys
import time

from rfloop_echo import listener


def serve(port):
    s = listener(port)
    while True:
        c, _ = s.accept()
        while True:
            b = c.recv(65536)
            if not b:
                break
            c.sendall(b)
        c.close()


def regions():
    """Mappings of RFloop connection regions in this process (memfds named
    "rfloop"; the registry's is "rfloop-registry")."""
    with open("/proc/self/maps") as f:
        return sum(1 for line in f if line.rstrip().endswith("/memfd:rfloop (deleted)"))


def echo(c, msg):
    c.sendall(msg)
    got = b""
    while len(got) < len(msg):
        b = c.recv(65536)
        assert b, "EOF before the whole echo"
        got += b
    assert got == msg, "the echo differs"


def connect(port):
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    c.settimeout(10)
    return c


def in_child(fn):
    """Run fn in a forked child; its exit status (0: fn returned true)."""
    pid = os.fork()
    if pid == 0:
        ok = False
        try:
            ok = fn()
        finally:
            os._exit(0 if ok else 1)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def main(port):
    srv = subprocess.Popen([sys.executable, __file__, "serve", str(port)],
                           stdout=subprocess.PIPE, text=True)
    try:
        assert srv.stdout.readline().strip() == "listening"
        for i in range(40):
            c = connect(port)
            echo(c, bytes([(i * 37 + k) % 251 for k in range(1000 + i * 997)]))
            c.close()
            time.sleep(0.001)   # the server lets go of the region too
        kept = regions()
        assert kept > 0, "no region kept after 40 connections"
        assert in_child(lambda: regions() == 0) == 0, "a child inherited kept regions"
        c = connect(port)
        assert in_child(lambda: regions() == 1 and echo(c, b"from the child") is None) == 0, \
            "a child did not get exactly the connection in use"
        c.close()
        for i in range(5):
            c = connect(port)
            echo(c, b"after the fork %d" % i)
            c.close()
        print("OK kept=%d" % kept)
    finally:
        srv.terminate()
        srv.wait()


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(int(sys.argv[2]))
    else:
        main(int(sys.argv[1]))
