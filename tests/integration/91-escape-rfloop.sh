#!/usr/bin/env bash
# 91-escape-rfloop.sh - an RFloop port hijack from inside a subOS fails.
#
# A hijacker (tests/helpers/rfhijack.c) runs as root in a `linux` subOS
# and attacks port P, whose real server (rfloop_echo.py, preloaded with
# librfloop) runs in another subOS:
#   - before the server listens: registering P with a socket bound to P
#     but not listening, with a socket connected to itself on P, a UDP
#     socket on P, /dev/null, no descriptor, a listener on another port,
#     an SO_REUSEPORT listener; writing the registry table (writable map,
#     write, truncate, read-write reopen); binding the old /dev/shm
#     registry's names for P; and a real registration of its own on P
#     whose TCP socket it then closes, keeping the rendezvous (a stale
#     entry), watched for connection requests;
#   - after the server listens: the same, plus registering a client socket
#     connected to P ("connecting first") and binding the real server's
#     rendezvous name.
# Every attempt must be refused (the helper says which and why), no
# request reaches the hijacker, and clients of P, preloaded or not, get the
# real server's answer; the preloaded one over RFloop.  Then the stale
# entry again, on port P2, whose real server is not preloaded (so nothing
# replaces the hijacker's entry): a preloaded client must reach it over
# kernel TCP.
. "$(dirname "$0")/lib.sh"
LIB=$ROOT/build/librfloop.so
HIJACK=$ROOT/build/tests/rfhijack
ECHO=$ROOT/tests/integration/rfloop_echo.py
need_helpers "$HIJACK"
[ -f "$LIB" ] || fail "$LIB is not built (make all)"
STATS=$T/stats

start_rfd --host-cores ""
P=$(free_port)
LOGS=$STATE/logs
P2=$(free_port)
[ "$P2" != "$P" ] || P2=$((P + 1))
PLAIN_PID=
# The plain server, and the old registry's names the hijacker binds, go
# too, on every path.
trap 'rc=$?; set +e; [ -z "$PLAIN_PID" ] || kill -KILL "$PLAIN_PID";
      for p in $P $P2; do rm -f "/dev/shm/rfloop.0/$p.4.7f000001" "/dev/shm/rfloop.0/$p.any"; done;
      rmdir /dev/shm/rfloop.0 2>/dev/null; (exit $rc); cleanup' EXIT

# ask [PORT]: a preloaded client of P must get the real server's answer.
ask() {
	expect_ok timeout 10 env LD_PRELOAD="$LIB" RF_SOCKET="$SOCK" RF_LOOP_STATS="$STATS" \
		python3 "$ECHO" ask "${1:-$P}"
	expect_output_contains "REAL:hi"
}

# --- before the real server listens ------------------------------------------------
expect_ok rfm create hij1 --kind linux --cpus 0 --mem 64M -- "$HIJACK" before "$P" stale 8
wait_until 10 "the hijacker's first attempts" grep -q "^waiting" "$LOGS/hij1.log"

# --- the real server, in its own subOS ------------------------------------------------
expect_ok rfm create srv --kind linux --cpus 1 --mem 128M -- \
	env LD_PRELOAD="$LIB" RF_LOOP_STATS="$STATS" python3 "$ECHO" serve "$P"
wait_until 10 "the real server" grep -q "^listening" "$LOGS/srv.log"

# --- clients reach the real server while the stale entry's owner waits -------------------
ask
ask
expect_ok timeout 10 python3 "$ECHO" ask "$P"
expect_output_contains "REAL:hi"
wait_eq 30 "the first hijacker to finish" exited subos hij1 .state
expect_ok rfm destroy hij1

# --- after: attempts from a second subOS, on the core the first one left ----------------
expect_ok rfm create hij2 --kind linux --cpus 0 --mem 64M -- "$HIJACK" after "$P"
wait_eq 10 "the second hijacker to finish" exited subos hij2 .state
ask
grep "comm=python3 " "$STATS" | grep -q "connect_rfloop=1 " ||
	fail "the preloaded client did not reach the real server over RFloop: $(cat "$STATS")"
# --- a stale entry whose port's real server does not register --------------------------
expect_ok rfm destroy hij2
expect_ok rfm create hij3 --kind linux --cpus 0 --mem 64M -- "$HIJACK" before "$P2" stale 8
wait_until 10 "the third hijacker's stale entry" grep -q "^waiting" "$LOGS/hij3.log"
python3 "$ECHO" serve "$P2" >"$T/plain.log" 2>&1 &
PLAIN_PID=$!
wait_until 10 "the plain server" grep -q "^listening" "$T/plain.log"
: >"$STATS"
ask "$P2"
grep -q "connect_rfloop=0 connect_tcp=1 " "$STATS" ||
	fail "the client of a port with a stale entry did not use kernel TCP: $(cat "$STATS")"
wait_eq 30 "the third hijacker to finish" exited subos hij3 .state
kill -TERM "$PLAIN_PID"
wait "$PLAIN_PID" 2>/dev/null || true
PLAIN_PID=

for h in hij1 hij2 hij3; do
	echo "--- $h" && cat "$LOGS/$h.log"
	grep -q "^done: all refused" "$LOGS/$h.log" || fail "$h: an attempt was not refused"
	! grep -q "^HIJACKED" "$LOGS/$h.log" || fail "$h hijacked something"
done
[ "$(grep -c '^refused' "$LOGS/hij1.log")" -ge 13 ] || fail "hij1 made too few attempts"
[ "$(grep -c '^refused' "$LOGS/hij2.log")" -ge 13 ] || fail "hij2 made too few attempts"
expect_ok rfm destroy srv
expect_ok rfm destroy hij3
echo "rfloop escape: $(cat "$LOGS"/hij?.log | grep -c '^refused') attempts refused"
