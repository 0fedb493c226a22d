#!/usr/bin/env python3
# rfloop_semantics.py PORT - run by 90-rfloop.sh under LD_PRELOAD=librfloop.so:
# socket semantics of an RFloop connection as an epoll program sees them.
# A forked child connects and writes; the parent (server) checks with a
# level-triggered epoll that the descriptor is readable exactly while data
# waits (also after a partial read), not readable once drained (EAGAIN),
# woken by the next write; writable until the ring is full, then not;
# after the peer is SIGKILLed: woken, EOF on read, EPIPE on write.
# Prints OK and exits 0, or fails with an assertion.
import socket, select, os, time, signal, sys, errno
port = int(sys.argv[1])
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(('127.0.0.1', port)); ls.listen(5)
pid = os.fork()
if pid == 0:
    ls.close()
    c = socket.create_connection(('127.0.0.1', port))
    c.sendall(b'a' * 10)
    c.recv(1)            # wait for the go
    time.sleep(0.2)
    c.sendall(b'b' * 5)
    time.sleep(10)       # killed here
    os._exit(0)
s, _ = ls.accept()
s.setblocking(False)
ep = select.epoll(); ep.register(s.fileno(), select.EPOLLIN)
assert ep.poll(2) == [(s.fileno(), select.EPOLLIN)], "readable with data"
assert s.recv(4) == b'aaaa'
assert ep.poll(0), "still readable (level) with 6 bytes left"
assert s.recv(100) == b'a' * 6
try: s.recv(1); assert False
except BlockingIOError: pass
assert ep.poll(0.1) == [], "not readable when drained: %r" % ep.poll(0)
s.send(b'g')
t = time.time(); ev = ep.poll(2); assert ev == [(s.fileno(), select.EPOLLIN)], ev
assert time.time() - t < 1.5
assert s.recv(100) == b'bbbbb'
assert ep.poll(0.05) == []
# writable; fill the ring
ep.modify(s.fileno(), select.EPOLLOUT)
assert ep.poll(0)
n = 0
try:
    while True: n += s.send(b'x' * 65536)
except BlockingIOError: pass
assert n > 0
assert ep.poll(0.1) == [], "not writable when full"
# peer death
os.kill(pid, signal.SIGKILL); os.waitpid(pid, 0)
assert ep.poll(2), "woken by the death of the peer"
ep.modify(s.fileno(), select.EPOLLIN)
assert ep.poll(2), "readable (EOF) after death"
assert s.recv(10) == b''
try:
    for i in range(100): s.send(b'y' * 65536)
    assert False, "no EPIPE after the peer died"
except BrokenPipeError:
    pass
print("OK")
