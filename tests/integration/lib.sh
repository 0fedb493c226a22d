# lib.sh - shared helpers for the integration tests (sourced, not run).
#
# Every test starts its own private rfd in its own directory, so tests never
# touch a system rfd or each other:
#
#   . "$(dirname "$0")/lib.sh"
#   start_rfd                       # build/rfd --state-dir $T/state --socket $T/rfd.sock --foreground
#   expect_ok rfm info
#   expect_output_contains "Free cpus"
#   expect_fail_with no_such_subos rfm show nope
#
# $T is the test's directory: $RF_TEST_DIR when run by run-integration.sh,
# else a new temp dir.  On exit, also on failure, the trap destroys what
# the test left in rfd, stops rfd, kills any subOS process still alive
# (a subOS outlives rfd by design, so it must be found through the journal)
# and removes $T.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RFD_BIN=${RFD_BIN:-$ROOT/build/rfd}   # overridable to test the harness
RFM_BIN=${RFM_BIN:-$ROOT/build/rfm}
T=${RF_TEST_DIR:-$(mktemp -d /tmp/rftest.XXXXXX)}
mkdir -p "$T"
SOCK=$T/rfd.sock
STATE=$T/state
OUT=$T/out      # stdout of the last expect_* command
ERR=$T/err      # its stderr
RFD_PID=
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

# start_rfd [EXTRA ARGS...]: start a private rfd and wait (10 s at most)
# until it accepts connections.
start_rfd() {
	[ -x "$RFD_BIN" ] || fail "$RFD_BIN is not built"
	mkdir -p "$STATE"
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

cleanup() {
	local rc=$?
	set +e
	destroy_all
	stop_rfd
	kill_leftovers
	if [ "$rc" -ne 0 ] && [ -s "$T/rfd.log" ]; then
		echo "--- rfd log:" >&2
		tail -n 50 "$T/rfd.log" >&2
	fi
	rm -rf "$T"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
