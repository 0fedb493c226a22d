#!/usr/bin/env bash
# 50-restart.sh - rfd can die at any moment without taking a subOS with it.
#
#   1. rfd killed with SIGKILL leaves its subOSes running (a linux one and
#      a libos one); a new rfd on the same state directory adopts them:
#      `rfm list` shows them running with the same pids and cores, the
#      journal has an `adopt` record each; resize and destroy work on them
#      (an adopted libos subOS can give memory back and hears the shutdown
#      request, but cannot be given memory: its control channel is lost),
#      and an adopted subOS that exits later is noticed.
#   2. a subOS that exits while rfd is away is reported exited (with how it
#      ended) by the next rfd, which journals an `exit` record.
#   3. a second rfd on a state directory in use is refused.
#   4. a subOS started before the restart reaches the new rfd through
#      RF_SOCKET (lx asks rfd about itself every 0.2 s): the new rfd's
#      socket is a new file, seen through the directory the confinement
#      keeps visible.
#
# rfd runs with --host-cores "": on a 2-core machine two subOSes need both
# cores, so the host shares core 0 with one of them here.
. "$(dirname "$0")/lib.sh"
need_helpers

start_rfd --host-cores "" --deadline-ms 2000
libos=false
if need_libos; then
	libos=true
fi

# lx: says every 0.2 s whether rfd answers it at RF_SOCKET (its log)
expect_ok rfm create lx --kind linux --cpus 1 --mem 64M -- /bin/sh -c \
	'while :; do if "$0" --socket "$RF_SOCKET" show lx >/dev/null 2>&1; then echo reach-ok
	 else echo reach-no; fi; sleep 0.2; done' "$RFM_BIN"
lx_pid=$(subos lx .pid)
last_reach() { tail -n 1 "$STATE/logs/lx.log" 2>/dev/null; }
wait_eq 5 "lx to reach rfd" reach-ok last_reach
if $libos; then
	expect_ok rfm create hello --kind libos --cpus 0 --mem 128M -- "$ROOT/build/rfhello"
	hello_pid=$(subos hello .pid)
fi

# --- 3. one rfd per state directory -----------------------------------------
run timeout 30 "$RFD_BIN" --state-dir "$STATE" --socket "$T/other.sock" --foreground
[ "$STATUS" -ne 0 ] || fail "a second rfd on $STATE started"
grep -q "another rfd uses $STATE" "$ERR" || { show_last; fail "no clear message for the second rfd"; }
expect_ok rfm show lx

# --- 1. crash and adoption --------------------------------------------------
kill_rfd_hard
alive "$lx_pid" || fail "lx died with rfd"
! $libos || alive "$hello_pid" || fail "hello died with rfd"
wait_eq 5 "lx to find rfd gone" reach-no last_reach
start_rfd --host-cores "" --deadline-ms 2000
# --- 4. the adopted subOS reaches the new rfd ---------------------------------
wait_eq 5 "lx to reach the new rfd (RF_SOCKET after a restart)" reach-ok last_reach
[ "$(subos lx .state .pid .cores .mem | tr '\n' ' ')" = "running $lx_pid 1 67108864 " ] ||
	fail "lx not adopted as it was: $(subos lx .state .pid .cores .mem | tr '\n' ' ')"
[ "$(journal_count adopt lx)" -eq 1 ] || fail "no adopt record for lx"
expect_ok rfm list
expect_output_contains "lx"
if $libos; then
	[ "$(subos hello .state .pid .cores | tr '\n' ' ')" = "running $hello_pid 0 " ] ||
		fail "hello not adopted as it was"
	[ "$(journal_count adopt hello)" -eq 1 ] || fail "no adopt record for hello"
	# its description and status pages were found again: the core's
	# counters are read, and the handshakes work
	[ "$(subos hello '.cores_detail[0].state')" = running ] || fail "hello's core is not running"
	subos hello '.cores_detail[0].loops' >/dev/null || fail "hello's status page was not recovered"
fi
# The adopted cores are taken: nobody else gets them.
expect_refused cores_busy rfm create x --kind linux --cpus 1 --mem 64M -- /bin/sleep 1
if $libos; then
	expect_refused cores_busy rfm create x --kind linux --cpus 0 --mem 64M -- /bin/sleep 1
	# memory can be taken back, not given (no control channel to pass it)
	expect_refused mem_unavailable rfm resize hello --mem 192M
	expect_output_contains "adopted"
	expect_ok rfm --json resize hello --mem 64M
	[ "$(json .mem .regions .forced <"$OUT" | tr '\n' ' ')" = "67108864 1 false " ] ||
		{ show_last; fail "shrinking adopted hello"; }
	expect_ok rfm destroy hello
	expect_output_contains "destroyed hello: exited" # it heard the shutdown request
	wait_until 5 "hello's program to go" eval "! alive $hello_pid"
fi
# An adopted linux subOS can still be resized: its cgroup is found again.
expect_ok rfm resize lx --mem 128M
[ "$(subos lx .mem)" = $((128 << 20)) ] || fail "lx was not resized"

# --- 2. an exit while rfd is away ---------------------------------------------
# brief exits with status 7 once $T/go exists (its mount namespace is a
# copy of the host's, so it sees $T).
expect_ok rfm create brief --kind linux --cpus 0 --mem 64M -- \
	/bin/sh -c "while [ ! -e '$T/go' ]; do sleep 0.05; done; exit 7"
brief_pid=$(subos brief .pid)
kill_rfd_hard
touch "$T/go"
wait_until 5 "brief's program to end" eval "! alive $brief_pid"
start_rfd --host-cores "" --deadline-ms 2000
[ "$(subos brief .state)" = exited ] || fail "brief is $(subos brief .state), not exited"
[ "$(subos brief .exit_code)" = 7 ] || fail "brief's exit code is not 7: $(rfm --json show brief)"
[ "$(subos brief .pid)" = 0 ] || fail "an exited subOS still shows a pid"
[ "$(journal_count exit brief)" -eq 1 ] || fail "no exit record for brief"
journal brief | grep '"op":"exit"' | grep -q '"exit_code":7' || fail "brief's exit record lacks the code"
expect_ok rfm list
expect_output_contains "exited(7)"
[ "$(subos lx .state .pid | tr '\n' ' ')" = "running $lx_pid " ] || fail "lx not adopted again"
[ "$(subos lx .mem)" = $((128 << 20)) ] || fail "lx's resized memory was not recovered"
[ "$(journal_count adopt lx)" -eq 2 ] || fail "expected a second adopt record for lx"
# brief's core is free again
expect_ok rfm --json info
[ "$(json .free_cpus <"$OUT")" = 0 ] || fail "core 0 not free after brief's exit"
expect_ok rfm destroy brief
expect_output_contains "destroyed brief"

# --- an adopted subOS that ends is noticed ------------------------------------
kill -KILL "$lx_pid"
wait_eq 5 "rfd to notice that lx ended" exited subos lx .state
[ "$(subos lx .signal)" = 9 ] || fail "lx's end is not SIGKILL"
[ "$(journal_count exit lx)" -eq 1 ] || fail "no exit record for lx"
expect_ok rfm destroy lx
expect_ok rfm list
expect_output_not_contains "lx"
