#!/usr/bin/env python3
"""kvproto.py - runs the same memcached text-protocol scripts against a
reference memcached and against rfkv, and compares every answer byte for
byte (tests/integration/82-kv-protocol.sh starts both servers).

  kvproto.py REF_PORT OUR_PORT [-v]
  kvproto.py --keys PORT set|check N     N keys written / all read back
  kvproto.py --evict PORT MB             MB of values into the server: all
                                         STORED, evictions counted, "bytes"
                                         within limit_maxbytes

Each case is a list of steps: bytes to send (one write, so requests are
pipelined), or a float: seconds to sleep.  After each case both answers
are read until the server has been quiet for a moment or closed the
connection (shown as <EOF>), then compared.  Cases run in order on one
server pair, so CAS ids, counters and flush_all carry over and must
evolve alike.  Answers to "stats" cases are compared by names (ours must
appear in memcached's order; those memcached prints and we do not are
listed) and by the values of the counters in SAME_VALUE (get_expired and
get_flushed are not among them: memcached's LRU crawler races its own
lookups for dead items).  The VERSION
line's number may differ.  Exit status 1 on any difference.
"""
import re
import socket
import sys
import time

QUIET = 0.15

SAME_VALUE = {
    "cmd_get", "cmd_set", "cmd_flush", "cmd_touch", "get_hits", "get_misses",
    "delete_misses", "delete_hits", "incr_misses",
    "incr_hits", "decr_misses", "decr_hits", "cas_misses", "cas_hits", "cas_badval",
    "touch_hits", "touch_misses", "store_too_large", "curr_items", "total_items",
    "bytes", "limit_maxbytes", "evictions", "maxbytes", "maxconns", "udpport",
    "inter", "verbosity", "evictions", "growth_factor", "chunk_size", "cas_enabled",
    "item_size_max", "flush_enabled", "curr_connections",
}
SAME_VALUE_RE = re.compile(r"^(items:\d+:(number|mem_requested|evicted|outofmemory)|"
                           r"\d+:(chunk_size|used_chunks|get_hits|cmd_set|delete_hits|"
                           r"incr_hits|decr_hits|cas_hits|cas_badval|touch_hits))$")

K250 = b"k" * 250
K251 = b"k" * 251
BIG_OK = 1048576 - (48 + 3 + 1 + 2 + 8)   # largest value memcached takes for key "big"
NOW = int(time.time())


def cases():
    c = []
    add = c.append
    # basic storage and retrieval
    add([b"set a 0 0 1\r\nx\r\nget a\r\n"])
    add([b"set b 5 0 3\r\nabc\r\nget b a nokey\r\ngets b\r\n"])
    add([b"add a 0 0 1\r\ny\r\nadd c 0 0 1\r\nz\r\nget a c\r\n"])
    add([b"replace nokey 0 0 1\r\ny\r\nreplace c 3 0 2\r\nzz\r\nget c\r\n"])
    add([b"append c 9 0 2\r\n++\r\nprepend c 9 0 2\r\n--\r\nget c\r\n"])
    add([b"append nokey 0 0 1\r\nx\r\nprepend nokey 0 0 1\r\nx\r\n"])
    add([b"bget a\r\n"])
    # cas
    add([b"gets a\r\n"])
    add([b"cas a 0 0 1 1\r\nq\r\ncas nokey 0 0 1 1\r\nq\r\ngets a\r\n"])
    add([b"gets b\r\ncas b 0 0 2 2\r\nok\r\ngets b\r\ncas b 0 0 2 999999\r\nno\r\n"])
    add([b"cas b 0 0 2 abc\r\nno\r\ncas b 0 0 2\r\ncas b 0 0 2 1 2 3\r\n"])
    add([b"set cc 0 0 1\r\n1\r\ngets cc\r\n", b"cas cc 0 0 1 12 noreply\r\n2\r\nget cc\r\n"])
    # delete
    add([b"delete a\r\ndelete a\r\ndelete b 0\r\ndelete c 1\r\ndelete c noreply x\r\n"
         b"delete\r\ndelete c 0 noreply\r\nget c\r\n"])
    add([b"delete " + K251 + b"\r\ndelete a b c d e\r\n"])
    # incr / decr
    add([b"set n 0 0 2\r\n10\r\nincr n 5\r\ndecr n 100\r\nget n\r\n"])
    add([b"incr n 18446744073709551615\r\nincr n 2\r\nget n\r\n"])
    add([b"set n 0 0 20\r\n18446744073709551615\r\nincr n 1\r\nget n\r\n"])
    add([b"set m 0 0 1\r\n9\r\nincr m 1\r\nget m\r\ndecr m 5\r\nget m\r\n"])
    add([b"incr nokey 1\r\ndecr nokey 1\r\nincr m x\r\nincr m -1\r\nincr\r\nincr m\r\n"])
    add([b"set t 0 0 3\r\nabc\r\nincr t 1\r\nset e 0 0 0\r\n\r\nincr e 1\r\n"])
    add([b"set sp 0 0 3\r\n 12\r\nincr sp 1\r\nset neg 0 0 2\r\n-1\r\nincr neg 1\r\n"])
    add([b"incr m 1 noreply\r\ndecr m 1 noreply\r\nget m\r\nincr " + K251 + b" 1\r\n"])
    # touch, gat, gats
    add([b"set tt 0 100 1\r\nx\r\ntouch tt 10\r\ntouch nokey 10\r\ntouch tt x\r\n"
         b"touch tt\r\ntouch tt 100 noreply\r\nget tt\r\n"])
    add([b"gat 100 tt nokey\r\ngats 100 tt\r\ngat x tt\r\ngat\r\ngat 10\r\ngats\r\n"])
    add([b"gat -1 tt\r\nget tt\r\n"])
    # expiry
    # (whole seconds tick at different moments in the two servers: an
    # expiry N s ahead is due within N-1..N s, so reads are 1 s clear of it)
    add([b"set ex1 0 2 1\r\nx\r\nset ex2 0 -1 1\r\nx\r\nget ex1 ex2\r\n"])
    add([3.2, b"get ex1\r\n"])
    add([b"set abs1 0 %d 1\r\nx\r\nset abs2 0 %d 1\r\ny\r\nget abs1 abs2\r\n"
         % (NOW - 100, NOW + 1000)])
    add([b"set z 0 2592000 1\r\nx\r\nset z2 0 2592001 1\r\nx\r\nget z z2\r\n"])
    add([b"touch abs2 -1\r\nget abs2\r\n"])
    # bad input
    add([b"\r\n", b"x\r\n", b"bogus\r\n", b"GET a\r\n"])
    add([b"set\r\nset a\r\nset a 0 0\r\nset a 0 0 1 2 3\r\n"])
    add([b"set a x 0 1\r\nx\r\nset a 0 x 1\r\nx\r\nset a 0 0 x\r\nx\r\n"])
    add([b"set a -1 0 1\r\nx\r\nset a 4294967296 0 1\r\nx\r\nget a\r\n"])
    add([b"set a 0 0 -1\r\nset a 0 0 3\r\nabcde\r\nget a\r\n"])
    add([b"set a 0 0 3 noreply\r\nab\r\n\r\nget a\r\n"])
    add([b"set " + K250 + b" 0 0 1\r\nx\r\nget " + K250 + b"\r\n"])
    add([b"set " + K251 + b" 0 0 1\r\nx\r\nget a " + K251 + b" a\r\n"])
    add([b"get a " + K251 + b"\r\ngets " + K251 + b"\r\ntouch " + K251 + b" 1\r\n"])
    add([b"set a 0 0 1\r\nx\r\n" + b"get" + b" a" * 40 + b"\r\n"])
    add([b"  set  a  0  0  1  \r\ny\r\nget   a\r\n"])
    add([b"set tab 0\t0 1\r\nx\r\nget tab\r\n"])
    add([b"set a 0 0 1\nx\r\nget a\n"])
    add([b"mn\r\nmx\r\nmeta\r\n"])
    add([b"shutdown\r\n"])
    # value limits
    add([b"set big 0 0 %d\r\n" % BIG_OK + b"v" * BIG_OK + b"\r\nget nokey\r\n"])
    add([b"set big 1 0 %d\r\n" % BIG_OK + b"v" * BIG_OK + b"\r\nget nokey\r\n"])
    add([b"set big 0 0 %d\r\n" % (BIG_OK + 1) + b"v" * (BIG_OK + 1) + b"\r\nget big\r\n"])
    add([b"set big 0 0 2000000\r\n" + b"w" * 2000000 + b"\r\nget big\r\n"])
    add([b"set big2 0 0 5\r\nhello\r\nset big2 0 0 2000000 noreply\r\n" + b"w" * 2000000 +
         b"\r\nget big2\r\n"])
    # noreply everywhere
    add([b"set nr 0 0 1 noreply\r\na\r\nadd nr 0 0 1 noreply\r\nb\r\n"
         b"replace nr 0 0 1 noreply\r\nc\r\nappend nr 0 0 1 noreply\r\nd\r\n"
         b"prepend nr 0 0 1 noreply\r\ne\r\nget nr\r\n"])
    add([b"set nr 0 0 x noreply\r\nincr nr 1 noreply\r\ntouch nr 100 noreply\r\n"
         b"delete nr noreply\r\ndelete nr noreply\r\nget nr\r\nmn\r\n"])
    # verbosity, version
    add([b"verbosity 1\r\nverbosity\r\nverbosity x\r\nverbosity 1 noreply\r\nverbosity 5\r\n"])
    add([b"version\r\nversion x\r\n"])
    # pipelined mix, in one write
    add([b"set p1 0 0 1\r\n1\r\nset p2 0 0 1\r\n2\r\nget p1 p2\r\nincr p1 9\r\n"
         b"delete p2\r\ngets p1 p2\r\nappend p1 0 0 1\r\n0\r\nget p1\r\n" * 3])
    # stats
    add(("stats", [b"stats\r\n"]))
    add(("stats", [b"stats settings\r\n"]))
    add(("stats", [b"stats items\r\n"]))
    add(("stats", [b"stats slabs\r\n"]))
    add([b"stats foo\r\nstats detail\r\nstats detail on\r\nstats detail off\r\n"])
    # flush_all
    add([b"flush_all x\r\nflush_all 1 2 3\r\nflush_all 0 noreply\r\nget p1 m\r\n"])
    add([b"set f1 0 0 1\r\nx\r\nflush_all\r\nget f1\r\nset f2 0 0 1\r\ny\r\nget f2\r\n"])
    add([b"flush_all 3\r\nget f2\r\n", 3.2, b"get f2\r\nset f3 0 0 1\r\nz\r\nget f3\r\n"])
    add([b"flush_all -1\r\nget f3\r\nflush_all noreply\r\nget f3\r\n"])
    add(("stats", [b"stats\r\n"]))
    add([b"stats reset\r\n"])
    add(("stats", [b"stats\r\n"]))
    # connection endings
    add([b"get f3\r\nquit\r\nget f3\r\n"])
    add([b"GET / HTTP/1.1\r\n"])
    add([b"x" * 3000])
    add([b"get " + b"k " * 1500])
    return c


def exchange(port, steps):
    s = socket.create_connection(("127.0.0.1", port))
    out = b""
    for step in steps:
        if isinstance(step, float):
            time.sleep(step)
            continue
        s.sendall(step)
        out += read_quiet(s)
        if out.endswith(b"<EOF>"):
            break
    s.close()
    return out


def read_quiet(s):
    out = b""
    s.settimeout(QUIET)
    while True:
        try:
            d = s.recv(1 << 20)
        except socket.timeout:
            return out
        except ConnectionResetError:
            return out + b"<EOF>"
        if not d:
            return out + b"<EOF>"
        out += d


def stats_lines(b):
    return [l.split(" ", 2) for l in b.decode(errors="replace").split("\r\n")
            if l.startswith("STAT ")]


def compare_stats(ref, ours, what):
    r, o = stats_lines(ref), stats_lines(ours)
    rnames = [x[1] for x in r]
    rval = {x[1]: x[2] if len(x) > 2 else "" for x in r}
    errs, pos = [], 0
    for x in o:
        name, val = x[1], x[2] if len(x) > 2 else ""
        if name not in rnames[pos:]:
            errs.append("%s: %s is not in memcached's answer after %s" %
                        (what, name, rnames[pos - 1] if pos else "the start"))
            continue
        pos = rnames.index(name, pos) + 1
        if (name in SAME_VALUE or SAME_VALUE_RE.match(name)) and rval[name] != val:
            errs.append("%s: %s is %s, memcached says %s" % (what, name, val, rval[name]))
    if not ours.endswith(b"END\r\n"):
        errs.append("%s: no END" % what)
    left = [n for n in rnames if n not in {x[1] for x in o}]
    return errs, left


def request(s, req, until):
    s.sendall(req)
    out = b""
    while not out.endswith(until):
        d = s.recv(1 << 20)
        if not d:
            sys.exit("kvproto: connection closed after %r" % req[:60])
        out += d
    return out


def keys(port, what, n):
    s = socket.create_connection(("127.0.0.1", port))
    for i in range(n):
        k = b"key%d" % i
        if what == "set":
            a = request(s, b"set %s 7 0 %d\r\n%s\r\n" % (k, len(k), k), b"\r\n")
            want = b"STORED\r\n"
        else:
            a = request(s, b"get %s\r\n" % k, b"END\r\n")
            want = b"VALUE %s 7 %d\r\n%s\r\nEND\r\n" % (k, len(k), k)
        if a != want:
            sys.exit("kvproto: %s %s: %r" % (what, k, a))
    print("%d keys: %s ok" % (n, what))


def evict(port, mb):
    s = socket.create_connection(("127.0.0.1", port))
    val = b"e" * 100000
    for i in range(mb * 10):
        a = request(s, b"set ev%d 0 0 %d\r\n%s\r\n" % (i, len(val), val), b"\r\n")
        if a != b"STORED\r\n":
            sys.exit("kvproto: set ev%d: %r" % (i, a))
    st = dict(x[1:3] for x in stats_lines(request(s, b"stats\r\n", b"END\r\n")))
    ev, used, lim = int(st["evictions"]), int(st["bytes"]), int(st["limit_maxbytes"])
    print("%d MB stored: evictions %d, bytes %d of %d" % (mb, ev, used, lim))
    if ev == 0 or used > lim:
        sys.exit("kvproto: the memory limit did not evict")


def main():
    if sys.argv[1] == "--keys":
        return keys(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
    if sys.argv[1] == "--evict":
        return evict(int(sys.argv[2]), int(sys.argv[3]))
    ref, ours, verbose = int(sys.argv[1]), int(sys.argv[2]), "-v" in sys.argv
    bad = n = 0
    left_out = {}
    for i, case in enumerate(cases()):
        kind, steps = case if isinstance(case, tuple) else ("bytes", case)
        a, b = exchange(ref, steps), exchange(ours, steps)
        n += 1
        if kind == "stats":
            errs, left = compare_stats(a, b, "case %d" % i)
            left_out[steps[0].strip().decode()] = left
        else:
            a = re.sub(rb"VERSION [^\r]*\r\n", b"VERSION *\r\n", a)
            b = re.sub(rb"VERSION [^\r]*\r\n", b"VERSION *\r\n", b)
            errs = [] if a == b else ["case %d %r:\n  memcached: %r\n  rfkv:      %r" %
                                      (i, steps[0][:120], a[:400], b[:400])]
        for e in errs:
            print("DIFF " + e)
        bad += bool(errs)
        if verbose and not errs:
            print("same  case %d %r" % (i, steps[0][:60]))
    for k, v in left_out.items():
        print("left out of %r: %s" % (k, " ".join(dict.fromkeys(v))))
    print("%d of %d cases answered alike" % (n - bad, n))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
