#!/usr/bin/env python3
# rfloop_semantics.py PORT - run by 90-rfloop.sh under LD_PRELOAD=librfloop.so:
# socket semantics of an RFloop connection as an epoll program sees them.
# A forked child connects and writes; the parent (server) checks with a
# level-triggered epoll that the descriptor is readable exactly while data
# waits (also after a partial read), not readable once drained (EAGAIN),
# woken by the next write; writable until the ring is full, then not;
# after the peer is SIGKILLed: woken, EOF on read, EPIPE on write.
#
# Then the same script, run again with --spin as a child process (a long
# RF_LOOP_SPIN_US, no RF_LOOP_STATS: its connections are not counted),
# checks epoll after a partial *blocking* read that ended a spin: the bytes
# left have no doorbell byte, and epoll must still report them (EPOLLIN,
# level-triggered; EPOLLONESHOT once until EPOLL_CTL_MOD; nothing after
# EPOLL_CTL_DEL, nor from a closed epoll set or a closed connection whose
# numbers were reused).
# Prints OK and exits 0, or fails with an assertion.
import socket, select, os, time, signal, sys, errno, subprocess, threading, ctypes, platform


# ---- the --spin cases -------------------------------------------------------------

# The libc behind the preloaded library: its epoll and getsockopt tell what
# the kernel alone says about a descriptor.
libc = ctypes.CDLL('libc.so.6', use_errno=True)

class EpollEvent(ctypes.Structure):
    if platform.machine() == 'x86_64':
        _pack_ = 1               # glibc packs struct epoll_event there only
    _fields_ = [('events', ctypes.c_uint32), ('data', ctypes.c_uint64)]

def over_rfloop(s):
    """The kernel sees a Unix socket: an RFloop connection."""
    v = ctypes.c_int(0); n = ctypes.c_uint32(4)
    assert libc.getsockopt(s.fileno(), socket.SOL_SOCKET, socket.SO_DOMAIN,
                           ctypes.byref(v), ctypes.byref(n)) == 0
    return v.value == socket.AF_UNIX

def kernel_readable(fd):
    """Would the kernel's own epoll report fd readable now?"""
    ep = libc.epoll_create1(0)
    assert ep >= 0
    try:
        ev = EpollEvent(select.EPOLLIN, fd)
        assert libc.epoll_ctl(ep, 1, fd, ctypes.byref(ev)) == 0   # EPOLL_CTL_ADD
        out = (EpollEvent * 4)()
        return libc.epoll_wait(ep, out, 4, 0) > 0
    finally:
        libc.close(ep)

def drain(s, n):
    while n > 0:
        got = s.recv(n)
        assert got, "EOF with %d bytes to come" % n
        n -= len(got)

def make_unsignalled(r, w, size=1000, take=100):
    """Leave size - take bytes in r's ring without a doorbell byte: r is
    inside a blocking recv(take), spinning, when w sends size bytes at once.
    Returns the bytes left."""
    for attempt in range(5):
        go = threading.Event()
        def send():
            go.wait()
            time.sleep(0.05)     # r is in recv by now (it spins for seconds)
            w.sendall(b'u' * size)
        t = threading.Thread(target=send)
        t.start()
        go.set()
        got = r.recv(take)
        t.join()
        assert got == b'u' * take, got
        if not kernel_readable(r.fileno()):
            return size - take
        drain(r, size - take)    # r was late (the doorbell path): again
    assert False, "a partial blocking read never ended a spin"

def connected(ls):
    c = socket.create_connection(ls.getsockname())
    s, _ = ls.accept()
    assert over_rfloop(s) and over_rfloop(c), "not an RFloop connection"
    return s, c

IN = select.EPOLLIN

def level(s, c):
    fd = s.fileno()
    ep = select.epoll(); ep.register(fd, IN)
    left = make_unsignalled(s, c)
    assert ep.poll(2) == [(fd, IN)], "epoll: readable after a partial blocking read"
    assert ep.poll(0) == [(fd, IN)], "epoll: still readable (level)"
    late = select.epoll(); late.register(fd, IN)
    assert late.poll(2) == [(fd, IN)], "epoll: readable in a set joined afterwards"
    # epoll_pwait and epoll_pwait2 (through the preloaded library)
    glob = ctypes.CDLL(None, use_errno=True)
    out = (EpollEvent * 4)()
    assert glob.epoll_pwait(ep.fileno(), out, 4, 2000, None) == 1 and out[0].events == IN
    ts = (ctypes.c_long * 2)(2, 0)
    assert glob.epoll_pwait2(ep.fileno(), out, 4, ts, None) == 1 and out[0].events == IN
    drain(s, left)
    assert ep.poll(0.1) == [], "epoll: not readable once drained"
    ep.close(); late.close()

def oneshot(s, c):
    fd = s.fileno()
    ep = select.epoll(); ep.register(fd, IN | select.EPOLLONESHOT)
    left = make_unsignalled(s, c)
    assert ep.poll(2) == [(fd, IN)], "oneshot: reported"
    assert ep.poll(0.1) == [], "oneshot: reported twice"
    c.sendall(b'v' * 10)         # a doorbell byte now: still nothing until MOD
    left += 10
    assert ep.poll(0.2) == [], "oneshot: reported again by the kernel"
    ep.modify(fd, IN | select.EPOLLONESHOT)
    assert ep.poll(2) == [(fd, IN)], "oneshot: reported after MOD"
    assert ep.poll(0.1) == [], "oneshot: reported twice after MOD"
    drain(s, left)
    ep.close()

def deleted(s, c):
    fd = s.fileno()
    ep = select.epoll(); ep.register(fd, IN)
    left = make_unsignalled(s, c)
    assert ep.poll(2) == [(fd, IN)]
    ep.unregister(fd)
    assert ep.poll(0.1) == [], "reported after EPOLL_CTL_DEL"
    ep.register(fd, IN)
    assert ep.poll(2) == [(fd, IN)], "not reported after a new EPOLL_CTL_ADD"
    # a closed set's registrations must not show in a new set of its number
    num = ep.fileno(); ep.close()
    ep = select.epoll()
    if ep.fileno() == num:
        assert ep.poll(0.1) == [], "a closed epoll set's registration was reported"
    drain(s, left)
    ep.close()

def reused(ls, s, c):
    """A registered connection closed: a new one with its number is not
    reported by the old registration."""
    num = s.fileno()
    ep = select.epoll(); ep.register(num, IN)
    s.close()
    holes = []                   # fill the free numbers below num
    for n in range(num):
        try: os.fstat(n)
        except OSError: holes.append(os.open(os.devnull, os.O_RDONLY))
    r = socket.socket()
    for h in holes: os.close(h)
    assert r.fileno() == num, (r.fileno(), num)
    r.connect(ls.getsockname())
    w, _ = ls.accept()
    c.close()
    assert over_rfloop(r), "not an RFloop connection"
    left = make_unsignalled(r, w)
    assert ep.poll(0.1) == [], "a closed connection's registration was reported"
    drain(r, left)
    ep.close()
    return w, r

def spin_cases():
    ls = socket.socket()
    ls.bind(('127.0.0.1', 0)); ls.listen(5)
    s, c = connected(ls)
    level(s, c)
    oneshot(s, c)
    deleted(s, c)
    s, c = reused(ls, s, c)
    level(c, s)                  # the other direction
    s.close(); c.close(); ls.close()

if sys.argv[1] == '--spin':
    spin_cases()
    sys.exit(0)

# ---- the main check ------------------------------------------------------------------

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

# the --spin cases, in a child process with its own settings
env = dict(os.environ, RF_LOOP_SPIN_US='3000000')
env.pop('RF_LOOP_STATS', None)
subprocess.run([sys.executable, os.path.abspath(__file__), '--spin'], env=env, check=True,
               timeout=15)
print("OK")
