#!/usr/bin/env bash
# 90-rfloop.sh - RFloop carries TCP between unmodified programs from
# Debian's packages: a stock memcached (libevent, epoll, worker threads,
# accept4, sendmsg) in a `linux` subOS and libmemcached's command line
# clients (memccp, memccat, memcslap: non-blocking connect, poll,
# send/recv) on the host, all with LD_PRELOAD=build/librfloop.so.
#
#   - a 200 KB file stored with memccp and read back with memccat is
#     byte for byte the same, and memcslap's 4 threads run 2000 sets;
#   - the clients' RF_LOOP_STATS counters show every connection went over
#     RFloop (connect_rfloop > 0, connect_tcp = 0), bytes counted;
#   - a client without the preload still reaches the preloaded memcached
#     (its listener accepts kernel TCP too: accept_tcp > 0);
#   - a preloaded client talking to a memcached that is not preloaded
#     falls back to real TCP (connect_tcp > 0, connect_rfloop = 0);
#   - connection regions are kept and handed over again (rfloop_pool.py):
#     40 connections in a row, every byte checked, most of them on a
#     reused region (regions_reused), none of the kept regions mapped in a
#     forked child, the region in use mapped in it and usable;
#   - socket semantics an epoll program relies on (rfloop_semantics.py):
#     exact level-triggered readability and writability, EAGAIN, wake-up,
#     EOF and EPIPE after the peer is killed;
#   - memcached, stopped with SIGTERM, reports RFloop accepts and no
#     corrupt ring; a preloaded client of the port it left (a stale
#     registry entry) gets "connection refused" at once, no hang.
#
# The registry is the private rfd's (RF_SOCKET: rfd puts it in the subOS's
# environment, the test exports it for the host's programs); the memcached
# processes are killed by the subOS cleanup and by the trap below.
. "$(dirname "$0")/lib.sh"
LIB=$ROOT/build/librfloop.so
[ -f "$LIB" ] || fail "$LIB is not built (make all)"
for b in memcached memccp memccat memcslap; do
	command -v "$b" >/dev/null || fail "$b is missing (mk/deps.sh installs memcached, libmemcached-tools)"
done
export RF_SOCKET=$SOCK
STATS=$T/stats
PLAIN_PID=
# Kill the plain memcached too, keeping the test's exit status for cleanup
# (set +e: a failing command in an EXIT trap would end it before cleanup).
trap 'rc=$?; set +e; [ -z "$PLAIN_PID" ] || kill -KILL "$PLAIN_PID"; (exit $rc); cleanup' EXIT

# A free port: one nobody listens on (ss is in iproute2; else /proc/net/tcp).
# stat_of PROG KEY: the sum of KEY over PROG's lines in $STATS.
stat_of() {
	grep "comm=$1 " "$STATS" 2>/dev/null | grep -o " $2=[0-9]*" | cut -d= -f2 |
		awk '{ s += $1 } END { print s + 0 }'
}

pre() {
	env LD_PRELOAD="$LIB" RF_LOOP_STATS="$STATS" "$@"
}

start_rfd --host-cores ""
P1=$(free_port)
expect_ok rfm create mc --kind linux --cpus 1 --mem 256M -- \
	env LD_PRELOAD="$LIB" RF_LOOP_DEBUG=1 RF_LOOP_STATS="$STATS" \
	memcached -u root -l 127.0.0.1 -p "$P1" -U 0 -t 2
wait_until 10 "memcached's RFloop registration" \
	grep -q "port $P1 registered with rfd" "$STATE/logs/mc.log"
wait_until 10 "memcached's TCP port" grep -qi ":$(printf '%04X' "$P1") " /proc/net/tcp

# --- data through RFloop, both ways ------------------------------------------------
head -c 200000 /dev/urandom >"$T/blob"
(cd "$T" && expect_ok timeout 10 env LD_PRELOAD="$LIB" RF_LOOP_STATS="$STATS" \
	memccp --servers="127.0.0.1:$P1" blob)
expect_ok timeout 10 env LD_PRELOAD="$LIB" RF_LOOP_STATS="$STATS" \
	memccat --servers="127.0.0.1:$P1" blob
# same_blob: the last output is the blob (memccat adds a newline).
same_blob() {
	[ "$(stat -c %s "$OUT")" -eq 200001 ] && cmp -s -n 200000 "$OUT" "$T/blob"
}
same_blob || fail "memccat over RFloop returned other bytes than memccp stored"
expect_ok timeout 30 env LD_PRELOAD="$LIB" RF_LOOP_STATS="$STATS" \
	memcslap --servers="127.0.0.1:$P1" --concurrency=4 --execute-number=500
expect_output_contains "Time to set"
for prog in memccp memccat memcslap; do
	[ "$(stat_of $prog connect_rfloop)" -gt 0 ] || fail "$prog did not connect over RFloop: $(cat "$STATS")"
	[ "$(stat_of $prog connect_tcp)" -eq 0 ] || fail "$prog used kernel TCP: $(cat "$STATS")"
done
[ "$(stat_of memccp tx_bytes)" -gt 200000 ] || fail "memccp's 200 KB did not go over RFloop"
[ "$(stat_of memccat rx_bytes)" -gt 200000 ] || fail "memccat's 200 KB did not come over RFloop"

# --- a client without the preload reaches the same server over kernel TCP ----------
expect_ok timeout 10 memccat --servers="127.0.0.1:$P1" blob
same_blob || fail "a plain memccat got other bytes"

# --- a server without the preload: the preloaded client falls back to TCP ----------
P2=$(free_port)
[ "$P2" != "$P1" ] || P2=$((P1 + 1))
memcached -u root -l 127.0.0.1 -p "$P2" -U 0 -t 1 >"$T/plain.log" 2>&1 &
PLAIN_PID=$!
wait_until 10 "the plain memcached" grep -qi ":$(printf '%04X' "$P2") " /proc/net/tcp
before_tcp=$(stat_of memccat connect_tcp)
before_rf=$(stat_of memccat connect_rfloop)
(cd "$T" && expect_ok timeout 10 env LD_PRELOAD="$LIB" RF_LOOP_STATS="$STATS" \
	memccp --servers="127.0.0.1:$P2" blob)
expect_ok timeout 10 env LD_PRELOAD="$LIB" RF_LOOP_STATS="$STATS" \
	memccat --servers="127.0.0.1:$P2" blob
same_blob || fail "the fallback to TCP returned other bytes"
[ "$(stat_of memccat connect_tcp)" -gt "$before_tcp" ] || fail "memccat did not fall back to TCP"
[ "$(stat_of memccat connect_rfloop)" -eq "$before_rf" ] || fail "memccat used RFloop without a listener"
kill -TERM "$PLAIN_PID"
wait "$PLAIN_PID" 2>/dev/null || true
PLAIN_PID=

# --- regions kept and handed over again ----------------------------------------------
reused_before=$(stat_of python3 regions_reused || :)   # no python3 line yet: 0
expect_ok timeout 30 env LD_PRELOAD="$LIB" RF_LOOP_STATS="$STATS" \
	python3 "$ROOT/tests/integration/rfloop_pool.py" "$(free_port)"
expect_output_contains OK
reused=$(($(stat_of python3 regions_reused) - reused_before))
# The client's count (its server is killed, and reports nothing): of 46
# connections, only the first two or three need a new region.
[ "$reused" -ge 40 ] || fail "only $reused regions were handed over again: $(cat "$STATS")"

# --- semantics seen by an epoll program ------------------------------------------------
expect_ok timeout 20 env LD_PRELOAD="$LIB" RF_LOOP_STATS="$STATS" \
	python3 "$ROOT/tests/integration/rfloop_semantics.py" "$(free_port)"
expect_output_contains OK
[ "$(stat_of python3 accept_rfloop)" -eq 1 ] || fail "the semantics check did not use RFloop"

# --- memcached's own account, and a stale registry entry -----------------------------
pid=$(subos mc .pid)
kill -TERM "$pid"
wait_eq 10 "memcached to exit" exited subos mc .state
wait_until 5 "memcached's counters" grep -q "comm=memcached " "$STATS"
[ "$(stat_of memcached accept_rfloop)" -ge 6 ] || fail "memcached accepted too few RFloop connections: $(cat "$STATS")"
[ "$(stat_of memcached accept_tcp)" -ge 1 ] || fail "memcached accepted no kernel TCP connection"
[ "$(grep -c ' corrupt=[1-9]' "$STATS")" -eq 0 ] || fail "a ring was reported corrupt: $(cat "$STATS")"
start=$(now_ms)
run timeout 10 env LD_PRELOAD="$LIB" memccat --servers="127.0.0.1:$P1" blob
[ "$STATUS" -ne 0 ] && [ "$STATUS" -ne 124 ] || { show_last; fail "a client of a gone server: status $STATUS"; }
[ $(($(now_ms) - start)) -lt 5000 ] || fail "a client of a gone server took $(($(now_ms) - start)) ms"
expect_ok rfm destroy mc
echo "rfloop: $(grep -c . "$STATS") processes reported; memcached accepted $(stat_of memcached accept_rfloop) RFloop and $(stat_of memcached accept_tcp) TCP connections"
