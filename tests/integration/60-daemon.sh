#!/usr/bin/env bash
# 60-daemon.sh - rfd as a daemon (no --foreground): `rfd` returns only once
# its socket answers, so rfm works right after it; the daemon's pid is in
# STATE/rfd.lock; SIGTERM stops it and removes the socket; a daemon that
# cannot start says why and returns non-zero; a second rfd on the same
# state directory is refused.
. "$(dirname "$0")/lib.sh"
need_helpers

mkdir -p "$STATE"
# A daemon that cannot start: the parent reports the failure.
run "$RFD_BIN" --state-dir "$STATE" --socket "$SOCK" --cores 4000
[ "$STATUS" -ne 0 ] || fail "rfd with --cores 4000 started"
grep -q "^rfd: .*--cores" "$ERR" || { show_last; fail "no clear message for a bad --cores"; }
[ ! -e "$SOCK" ] || fail "a failed rfd left its socket"

# The daemon: `rfd` returns once the socket answers.
run timeout 30 "$RFD_BIN" --state-dir "$STATE" --socket "$SOCK"
[ "$STATUS" -eq 0 ] || { show_last; fail "rfd (daemon) exited with $STATUS"; }
cp "$ERR" "$T/daemon.err"
[ -S "$SOCK" ] || fail "rfd returned before its socket existed"
expect_ok rfm info # at once: no waiting
expect_output_contains "State dir"
RFD_PID=$(rfm --json info | json .pid) # from now on the cleanup stops it
remember_cgroups
[ "$(cat "$STATE/rfd.lock")" = "$RFD_PID" ] || fail "rfd.lock does not hold the daemon's pid"
alive "$RFD_PID" || fail "the daemon is not running"
# It is detached: its own session, not a child of this shell.
[ "$(ps -o sid= -p "$RFD_PID" | tr -d ' ')" = "$RFD_PID" ] || fail "the daemon is not a session leader"
[ "$(ps -o ppid= -p "$RFD_PID" | tr -d ' ')" != $$ ] || fail "the daemon is this shell's child"
grep -q "serving $SOCK" "$T/daemon.err" || fail "rfd did not say where it serves"


# A second rfd on the same state directory is refused, clearly.
run timeout 30 "$RFD_BIN" --state-dir "$STATE" --socket "$T/other.sock" --foreground
[ "$STATUS" -ne 0 ] || fail "a second rfd on $STATE started"
grep -q "another rfd uses $STATE" "$ERR" || { show_last; fail "no clear message for the second rfd"; }
[ ! -e "$T/other.sock" ] || fail "the refused rfd made a socket"
expect_ok rfm list # the first one is unharmed

# It works as a daemon: a subOS and its journal.
expect_ok rfm create d1 --kind linux --cpus 1 --mem 64M -- /bin/sleep 1000
pid=$(subos d1 .pid)
expect_ok rfm destroy d1
wait_until 5 "d1's program to go" eval "! alive $pid"

# SIGTERM stops it and removes the socket.
kill -TERM "$RFD_PID"
wait_until 10 "the daemon to stop" eval "! alive $RFD_PID"
RFD_PID=
[ ! -e "$SOCK" ] || fail "the socket is left after SIGTERM"
run rfm list
[ "$STATUS" -eq 1 ] || fail "rfm list after the daemon stopped exited with $STATUS"
expect_output_contains "cannot connect to rfd"
grep -q "signal 15" "$STATE/rfd.log" || fail "the daemon did not log its shutdown"
tail -n 1 "$STATE/journal" | grep -q '"op":"stop"' || fail "no stop record in the journal"
# and the state directory can be used again
start_rfd
expect_ok rfm info
