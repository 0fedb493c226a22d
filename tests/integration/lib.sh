# lib.sh - shared helpers for the integration tests (sourced, not run).
#
# Every test starts its own private rfd in its own directory, so tests never
# touch a system rfd or each other:
#
#   . "$(dirname "$0")/lib.sh"
#   start_rfd                       # build/rfd --state-dir $T/state --socket $T/rfd.sock --foreground
#   start_rfd --host-cores ""       # extra rfd options (say in the test why)
#   expect_ok rfm info
#   expect_output_contains "Free cpus"
#   expect_fail_with no_such_subos rfm show nope
#   expect_refused cores_busy rfm create ...   # also: one stderr line, table and journal unchanged
#   subos web .pid                  # a field of `rfm --json show web` (tests/helpers/rfjson)
#   journal_count resize web        # records of that op in `rfm --json log`
#   wait_eq 5 "what" running subos web .state   # bounded polling, never bare sleeps
#
# $T is the test's directory: $RF_TEST_DIR when run by run-integration.sh,
# else a new temp dir.  On exit, also on failure, the trap destroys what
# the test left in rfd (restarting one if the test killed it), stops rfd,
# kills any subOS process still alive (a subOS outlives rfd by design, so
# it must be found through the journal), removes rfd's cgroups (and fails
# the test if any is left) and removes $T.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RFD_BIN=${RFD_BIN:-$ROOT/build/rfd}   # overridable to test the harness
RFM_BIN=${RFM_BIN:-$ROOT/build/rfm}
RFJSON_BIN=$ROOT/build/tests/rfjson   # tests/helpers/rfjson.c
RFRAW_BIN=$ROOT/build/tests/rfraw     # tests/helpers/rfraw.c
T=${RF_TEST_DIR:-$(mktemp -d /tmp/rftest.XXXXXX)}
mkdir -p "$T"
SOCK=$T/rfd.sock
STATE=$T/state
OUT=$T/out      # stdout of the last expect_* command
ERR=$T/err      # its stderr
RFD_PID=
RFD_ARGS=()
# start_ticks PID: when PID started, in clock ticks since boot (field 22 of
# /proc/PID/stat, counted after the command name, which may hold blanks).
start_ticks() {
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $20}'
}
# Processes started before this point are never killed by the cleanup.
TEST_START_TICKS=$(start_ticks $$)

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# rfm with this test's socket.
rfm() {
	"$RFM_BIN" --socket "$SOCK" "$@"
}

# json PATH... < JSON: values picked out of JSON (tests/helpers/rfjson.c:
# `.key`, `[N]`, `[]`, a trailing `#` for a length; strings bare, the rest
# as compact JSON, one per line).
json() {
	"$RFJSON_BIN" "$@"
}

# rfraw ITEM...: raw bytes to this test's socket (tests/helpers/rfraw.c).
rfraw() {
	"$RFRAW_BIN" "$@"
}

need_helpers() {
	local b
	for b in "$RFJSON_BIN" "$RFRAW_BIN" "$@"; do
		[ -x "$b" ] || fail "$b is not built (make all)"
	done
}

# need_libos: the librf example programs.  Until examples/rfhello.c is
# written the libos tests have nothing to run and are skipped (loudly);
# once it exists, a missing build/rfhello is a failure.
need_libos() {
	if [ ! -f "$ROOT/examples/rfhello.c" ]; then
		echo "SKIP: examples/rfhello.c does not exist yet (librf unfinished): libos part not run" >&2
		return 1
	fi
	[ -x "$ROOT/build/rfhello" ] || fail "build/rfhello is not built (make all)"
	return 0
}

# free_port: a TCP port nobody listens on or uses now, below the kernel's
# ephemeral range (32768 up), so no client connection takes it meanwhile.
free_port() {
	local p
	for ((p = 20000 + RANDOM % 12000; ; p++)); do
		grep -qi ":$(printf '%04X' "$p") " /proc/net/tcp /proc/net/tcp6 2>/dev/null || { echo "$p"; return; }
	done
}

# huge_state: the host's huge page settings rfd changes, "persistent/overcommit"
# (rfd raises nr_overcommit_hugepages while it runs; both must come back).
huge_state() {
	echo "$(cat /proc/sys/vm/nr_hugepages)/$(cat /proc/sys/vm/nr_overcommit_hugepages)"
}
# The host's huge page settings before the test: the cleanup checks them.
HUGE0=$(huge_state)

# now_ms: monotonic enough for timeouts (bash 5's $EPOCHREALTIME).
now_ms() {
	local t=${EPOCHREALTIME/./}
	echo $((t / 1000))
}

# wait_until SECS WHAT CMD...: poll CMD (quietly) every 50 ms until it
# succeeds; fail naming WHAT if it has not within SECS seconds.
wait_until() {
	local secs=$1 what=$2
	shift 2
	local end=$(($(now_ms) + secs * 1000))
	until "$@" >/dev/null 2>&1; do
		[ "$(now_ms)" -lt "$end" ] || fail "timed out after ${secs}s waiting for $what"
		sleep 0.05
	done
}

# wait_eq SECS WHAT EXPECTED CMD...: poll CMD every 50 ms until its output
# (lines joined by blanks) is EXPECTED; fail showing the last output if it
# is not within SECS seconds.  CMD runs anew each time (unlike a $(...) in
# the arguments of wait_until, which is expanded once).
wait_eq() {
	local secs=$1 what=$2 want=$3 got
	shift 3
	local end=$(($(now_ms) + secs * 1000))
	while :; do
		got=$("$@" 2>/dev/null | tr '\n' ' ' || true)
		got=${got% }
		[ "$got" = "$want" ] && return 0
		[ "$(now_ms)" -lt "$end" ] ||
			fail "timed out after ${secs}s waiting for $what: got '$got', want '$want'"
		sleep 0.05
	done
}

# subos NAME PATH...: fields of `rfm --json show NAME`.
subos() {
	local name=$1
	shift
	"$RFM_BIN" --socket "$SOCK" --json show "$name" | json "$@"
}

# journal [NAME]: the journal as rfd reports it, one compact record a line.
journal() {
	"$RFM_BIN" --socket "$SOCK" --json log "$@" | json '.entries[]'
}

# journal_count OP [NAME]: how many records of that op (for that subOS).
journal_count() {
	local op=$1
	shift
	journal "$@" | grep -c "\"op\":\"$op\"" || true
}

# snapshot / expect_unchanged WHAT: the partition table (`rfm --json list`),
# the journal as rfd reports it (`rfm --json log`) and the journal file
# itself are byte for byte what they were at the last snapshot.
snapshot() {
	"$RFM_BIN" --socket "$SOCK" --json list >"$T/snap.list" || fail "rfm list failed"
	"$RFM_BIN" --socket "$SOCK" --json log >"$T/snap.log" || fail "rfm log failed"
	cp "$STATE/journal" "$T/snap.journal"
}

expect_unchanged() {
	local what=$1 f
	"$RFM_BIN" --socket "$SOCK" --json list >"$T/now.list" || fail "rfm list failed after $what"
	"$RFM_BIN" --socket "$SOCK" --json log >"$T/now.log" || fail "rfm log failed after $what"
	cp "$STATE/journal" "$T/now.journal"
	for f in list log journal; do
		cmp -s "$T/snap.$f" "$T/now.$f" && continue
		diff "$T/snap.$f" "$T/now.$f" >&2 || true
		case $f in
		list) fail "$what changed the partition table" ;;
		*) fail "$what changed the journal ($f)" ;;
		esac
	done
}

# expect_refused CODE CMD...: CMD (rfm) fails with CODE, says so in one
# line on stderr, and neither the table nor the journal changed.
expect_refused() {
	local code=$1
	shift
	snapshot
	expect_fail_with "$code" "$@"
	[ "$(wc -l <"$ERR")" -eq 1 ] || { show_last; fail "'$*': expected one line on stderr"; }
	expect_unchanged "'$*'"
}

# kill_rfd_hard: SIGKILL rfd, as a crash would; its subOSes stay alive.
kill_rfd_hard() {
	[ -n "$RFD_PID" ] || return 0
	kill -KILL "$RFD_PID" 2>/dev/null || true
	wait "$RFD_PID" 2>/dev/null || true
	RFD_PID=
}

# alive PID: the process exists and is not a zombie.
alive() {
	[ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

# start_rfd [EXTRA ARGS...]: start a private rfd and wait (10 s at most)
# until it accepts connections.
start_rfd() {
	[ -x "$RFD_BIN" ] || fail "$RFD_BIN is not built"
	mkdir -p "$STATE"
	RFD_ARGS=("$@")
	"$RFD_BIN" --state-dir "$STATE" --socket "$SOCK" --foreground "$@" \
		>>"$T/rfd.log" 2>&1 &
	RFD_PID=$!
	local i
	for ((i = 0; i < 100; i++)); do
		if [ -S "$SOCK" ] && "$RFM_BIN" --socket "$SOCK" version >/dev/null 2>&1; then
			remember_cgroups
			return 0
		fi
		kill -0 "$RFD_PID" 2>/dev/null || { cat "$T/rfd.log" >&2; fail "rfd exited at start"; }
		sleep 0.1
	done
	cat "$T/rfd.log" >&2
	fail "rfd did not open $SOCK within 10 s"
}

# stop_rfd: SIGTERM, then SIGKILL after 5 s.  Subsystems stay alive.
stop_rfd() {
	[ -n "$RFD_PID" ] || return 0
	kill -TERM "$RFD_PID" 2>/dev/null || true
	local i
	for ((i = 0; i < 50; i++)); do
		kill -0 "$RFD_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$RFD_PID" 2>/dev/null || true
	wait "$RFD_PID" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do # not our child when it daemonized
		kill -0 "$RFD_PID" 2>/dev/null || break
		sleep 0.1
	done
	RFD_PID=
}

# run CMD...: run it, keep stdout in $OUT and stderr in $ERR, set $STATUS.
run() {
	set +e
	"$@" >"$OUT" 2>"$ERR"
	STATUS=$?
	set -e
}

show_last() {
	echo "--- stdout:" >&2
	cat "$OUT" >&2
	echo "--- stderr:" >&2
	cat "$ERR" >&2
}

# expect_ok CMD...: CMD succeeds (exit status 0).
expect_ok() {
	run "$@"
	[ "$STATUS" -eq 0 ] || { show_last; fail "'$*' exited with $STATUS, expected 0"; }
}

# expect_fail_with CODE CMD...: CMD fails with exit status 1 and rfm's
# stderr ends in "(CODE)", the protocol's error code.
expect_fail_with() {
	local code=$1
	shift
	run "$@"
	[ "$STATUS" -eq 1 ] || { show_last; fail "'$*' exited with $STATUS, expected 1 ($code)"; }
	grep -q "($code)\$" "$ERR" || { show_last; fail "'$*' did not fail with $code"; }
}

# expect_usage CMD...: CMD is refused as a usage error (exit status 2).
expect_usage() {
	run "$@"
	[ "$STATUS" -eq 2 ] || { show_last; fail "'$*' exited with $STATUS, expected 2"; }
}

# expect_output_contains TEXT: the last command's stdout or stderr has TEXT.
expect_output_contains() {
	grep -qF -- "$1" "$OUT" "$ERR" || { show_last; fail "output does not contain '$1'"; }
}

expect_output_not_contains() {
	! grep -qF -- "$1" "$OUT" "$ERR" || { show_last; fail "output contains '$1'"; }
}

# Was PID started after this test began?  (guards against a reused pid)
started_by_test() {
	local ticks
	ticks=$(start_ticks "$1")
	[ -n "$ticks" ] && [ "$ticks" -ge "$TEST_START_TICKS" ]
}

# The names of the cgroup directories (rf.ID) this test's rfd made, from
# its journal and from what it said at start (remember_cgroups).
rfd_cgroup_names() {
	cat "$STATE/journal" "$T/rf_cgroups" 2>/dev/null |
		grep -o '/sys/fs/cgroup/[^" ]*' | grep -o '/rf\.[A-Za-z0-9_]*' | sort -u | tr -d /
}

remember_cgroups() {
	"$RFM_BIN" --socket "$SOCK" --json info >>"$T/rf_cgroups" 2>/dev/null || true
}

# Kill what is left of the test's subOSes, then remove rfd's cgroups: every
# process in an rf.ID cgroup of this rfd (in every hierarchy), and every pid
# the journal names that started after the test did.
kill_leftovers() {
	local name dir pid i
	for name in $(rfd_cgroup_names); do
		for dir in $(find /sys/fs/cgroup -maxdepth 3 -type d -name "$name" 2>/dev/null); do
			# a paused subOS's tasks are frozen: a frozen task ignores SIGKILL
			find "$dir" -name freezer.state -exec sh -c 'echo THAWED >"$1"' _ {} \; 2>/dev/null
			for pid in $(find "$dir" -name cgroup.procs -exec cat {} + 2>/dev/null); do
				started_by_test "$pid" && kill -KILL "$pid" 2>/dev/null || true
			done
		done
	done
	if [ -f "$STATE/journal" ]; then
		for pid in $(grep -o '"\(shim_\)\?pid": *[0-9]*' "$STATE/journal" | grep -o '[0-9]*$' | sort -u); do
			[ "$pid" -gt 1 ] && [ "$pid" -ne $$ ] || continue
			started_by_test "$pid" && kill -KILL "$pid" 2>/dev/null || true
		done
	fi
	for name in $(rfd_cgroup_names); do
		for dir in $(find /sys/fs/cgroup -maxdepth 3 -type d -name "$name" 2>/dev/null); do
			for ((i = 0; i < 30; i++)); do # a killed task leaves its cgroup soon after
				find "$dir" -depth -type d -exec rmdir {} \; 2>/dev/null
				[ -d "$dir" ] || break
				sleep 0.1
			done
		done
	done
}

# Destroy whatever the test left in rfd, while rfd is still there.
destroy_all() {
	[ -n "$RFD_PID" ] && kill -0 "$RFD_PID" 2>/dev/null || return 0
	local name
	for name in $("$RFM_BIN" --socket "$SOCK" list 2>/dev/null | awk 'NR > 1 {print $1}'); do
		timeout 10 "$RFM_BIN" --socket "$SOCK" destroy "$name" >/dev/null 2>&1 || true
	done
}

# revive_rfd: if the test leaves an rfd that died (SIGKILL, a crash) and
# none was started after it, start one more on the state directory, without
# failing: it adopts what is left, so destroy_all can end it properly, and
# it takes over what the dead one held on the host (its huge page
# reservation is released when it stops).
revive_rfd() {
	[ -z "$RFD_PID" ] && [ -s "$STATE/journal" ] || return 0
	tail -n 1 "$STATE/journal" | grep -q '"op":"stop"' && return 0
	"$RFD_BIN" --state-dir "$STATE" --socket "$SOCK" --foreground "${RFD_ARGS[@]}" \
		>>"$T/rfd.log" 2>&1 &
	RFD_PID=$!
	local i
	for ((i = 0; i < 50; i++)); do
		"$RFM_BIN" --socket "$SOCK" version >/dev/null 2>&1 && return 0
		kill -0 "$RFD_PID" 2>/dev/null || break
		sleep 0.1
	done
}

# check_huge: the huge page settings are back as they were.  An rfd that
# stop_rfd had to SIGKILL could not lower the overcommit limit it raised:
# do what its successor would (STATE/hugepages holds the count), say so.
check_huge() {
	local n ov=/proc/sys/vm/nr_overcommit_hugepages
	[ "$(huge_state)" = "$HUGE0" ] && return 0
	n=$(cat "$STATE/hugepages" 2>/dev/null || echo 0)
	if [ "$n" -gt 0 ]; then
		echo "note: rfd died holding a raised huge page limit (+$n); lowering it" >&2
		flock /run/lock/rainforest-hugepages.lock sh -c "echo \$((\$(cat $ov) - $n)) >$ov"
		echo 0 >"$STATE/hugepages"
	fi
	[ "$(huge_state)" = "$HUGE0" ] && return 0
	echo "FAIL: huge pages (persistent/overcommit) are $(huge_state), were $HUGE0" >&2
	return 1
}

cleanup() {
	local rc=$?
	set +e
	revive_rfd
	destroy_all
	stop_rfd
	kill_leftovers
	check_huge || { [ "$rc" -ne 0 ] || rc=1; }
	local name left=
	for name in $(rfd_cgroup_names); do
		left+=$(find /sys/fs/cgroup -maxdepth 3 -type d -name "$name" 2>/dev/null)
	done
	if grep -h "partition table invariant broken" "$T/rfd.log" "$STATE/rfd.log" 2>/dev/null; then
		echo "FAIL: rfd found its partition table broken (above)" >&2
		[ "$rc" -ne 0 ] || rc=1
	fi
	if [ -n "$left" ]; then
		echo "FAIL: cgroup directories left behind: $left" >&2
		[ "$rc" -ne 0 ] || rc=1
	fi
	if [ "$rc" -ne 0 ] && [ -s "$T/rfd.log" ]; then
		echo "--- rfd log:" >&2
		tail -n 50 "$T/rfd.log" >&2
	fi
	if [ "$rc" -ne 0 ] && [ -s "$STATE/rfd.log" ]; then
		echo "--- rfd log (daemon):" >&2
		tail -n 50 "$STATE/rfd.log" >&2
	fi
	rm -rf "$T"
	exit "$rc"
}
# A test that starts processes in the background adds their pids to BG
# and traps stop_bg instead: they are killed before the cleanup.
BG=()
stop_bg() {
	local rc=$? p
	set +e
	for p in "${BG[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	(exit "$rc")
	cleanup
}

# in_flight WHAT OUTFILE MIN_MS RFM-ARGS...: run rfm in the background;
# while it is in flight (it must still be), another client's requests take
# < 50 ms each (tests/helpers/rfclients.c); then it must succeed, having
# taken at least MIN_MS (what it waits for).
in_flight() {
	local what=$1 out=$2 min_ms=$3 pid t0
	shift 3
	t0=$(now_ms)
	rfm "$@" >"$out" 2>&1 &
	pid=$!
	BG+=($pid)
	run "$ROOT/build/tests/rfclients" "$SOCK" latency 20 50
	echo "$(basename "$0" .sh): latency while a $what is in flight: $(cat "$OUT")"
	[ "$STATUS" -eq 0 ] || { show_last; fail "a client waited behind a $what in flight"; }
	kill -0 "$pid" 2>/dev/null || { cat "$out"; fail "the $what ended too soon"; }
	wait "$pid" || { cat "$out"; fail "the $what failed"; }
	[ $(($(now_ms) - t0)) -ge "$min_ms" ] || fail "the $what took less than $min_ms ms"
}

trap cleanup EXIT
trap 'exit 130' INT TERM
