#!/usr/bin/env bash
# 55-crash-walk.sh - rfd may die at any step and nothing is lost or leaked.
#
# A scenario (add a core to a linux subOS and to a libos one and take
# them back, create a linux subOS, resize memory, create
# and close a channel, destroy both) runs against the fault-injection build
# of rfd (build/tests/rfd-faults, src/rfd/fault.h), which SIGKILLs itself
# at its Nth journal fault point: just before or just after a journal
# write, or between a snapshot and its archive step (--journal-max is tiny
# here so compaction happens inside the scenario).  The walk first counts
# the points of a clean run, then for every N: run until rfd dies, start a
# normal rfd on the same state directory, and check that
#   - it starts, and every subOS it lists as running is alive, and runs
#     on no core but the journal's (its cpuset is within them: a core add
#     journals first);
#   - the cgroups of this rfd instance are exactly those of listed subOSes
#     (a create rfd died in is rolled back, not leaked);
#   - a destroy rfd died in is finished (the subOS is gone, not adopted);
#   - free cores and memory plus what listed subOSes hold make the whole;
# then destroy everything and check no cgroup, no subOS process and no huge
# page reservation is left (STATE_DIR/hugepages tells the successor).
. "$(dirname "$0")/lib.sh"
need_helpers
FAULTY=$ROOT/build/tests/rfd-faults
[ -x "$FAULTY" ] || fail "$FAULTY is not built (make all)"
libos=false
if need_libos; then
	libos=true
fi
ARGS=(--host-cores "" --deadline-ms 2000 --journal-max 2K --mem 512M)

# scenario: the steps, until one fails (rfd died under it).
scenario() {
	# a core added to a linux subOS and taken back (its cpuset is the change)
	rfm create x --kind linux --cpus 1 --mem 64M -- /bin/sleep 1000 || return 0
	rfm resize x --cpus 0-1 || return 0
	rfm resize x --cpus 1 || return 0
	rfm destroy x || return 0
	if $libos; then
		rfm create h --kind libos --cpus 0 --mem 128M -- "$ROOT/build/rfhello" || return 0
		rfm resize h --cpus 0-1 || return 0 # a core add: its record goes first
		rfm resize h --cpus 0 || return 0
	fi
	rfm create a --kind linux --cpus 1 --mem 64M -- /bin/sleep 1000 || return 0
	if $libos; then
		rfm resize h --mem 64M || return 0
	fi
	rfm resize a --mem 128M || return 0
	if $libos; then
		rfm chan create c --between a,h || return 0
		rfm chan close c || return 0
		rfm destroy h || return 0
	fi
	rfm destroy a || return 0
}

# start_faulty N: the fault build, dying at journal point N (0: never,
# but log every point).  It may die before it listens (the "start" record
# is journalled at start-up): that is not a failure here.
start_faulty() {
	local i
	mkdir -p "$STATE"
	RFD_ARGS=("${ARGS[@]}")
	if [ "$1" -gt 0 ]; then
		RFD_FAULT=journal:$1 "$FAULTY" --state-dir "$STATE" --socket "$SOCK" --foreground \
			"${ARGS[@]}" >>"$T/rfd.log" 2>&1 &
	else
		RFD_FAULT_TRACE=1 "$FAULTY" --state-dir "$STATE" --socket "$SOCK" --foreground \
			"${ARGS[@]}" >>"$T/rfd.log" 2>&1 &
	fi
	RFD_PID=$!
	for ((i = 0; i < 100; i++)); do
		rfm version >/dev/null 2>&1 && return 0
		kill -0 "$RFD_PID" 2>/dev/null || return 0
		sleep 0.1
	done
	fail "the fault build of rfd neither listened nor died within 10 s"
}

# The instance's subOS cgroup directories (cpuset hierarchy), sorted.
instance_dir() {
	rfm --json info | json .enforcement_detail | grep -o '/sys/fs/cgroup/cpuset/rf\.[0-9a-f]*'
}
cgroup_names() {
	find "$1" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null | sort
}
listed_running() {
	rfm --json list | json '.subos[]' | while read -r s; do
		[ "$(json .state <<<"$s")" = running ] && json .name <<<"$s"
	done | sort
}

# within A B: every CPU of list A is in list B (a subOS never runs on a
# core the restarted rfd counts as free).
within() {
	python3 - "$1" "$2" <<'PY'
import sys
def cpus(l):
    out = set()
    for part in filter(None, l.strip().split(",")):
        a, _, b = part.partition("-")
        out |= set(range(int(a), int(b or a) + 1))
    return out
sys.exit(0 if cpus(sys.argv[1]) <= cpus(sys.argv[2]) else 1)
PY
}

# check_recovered N: the invariants after the restart that followed death N.
check_recovered() {
	local n=$1 dir name pid
	dir=$(instance_dir)
	[ "$(cgroup_names "$dir" | tr '\n' ' ')" = "$(listed_running | tr '\n' ' ')" ] ||
		fail "point $n: cgroups [$(cgroup_names "$dir" | tr '\n' ' ')] are not the running" \
			"subOSes [$(listed_running | tr '\n' ' ')]"
	# Nothing in the scenario ends by itself: a subOS listed as exited is a
	# destroy that was not finished.
	[ "$(rfm --json list | json '.subos[].state' | grep -vc running)" -eq 0 ] ||
		fail "point $n: a subOS is listed but not running: $(rfm list)"
	for name in $(listed_running); do
		pid=$(subos "$name" .pid)
		alive "$pid" || fail "point $n: $name is listed running but pid $pid is dead"
		within "$(cat "$dir/$name/cpuset.cpus")" "$(subos "$name" .cores)" ||
			fail "point $n: $name runs on cores $(cat "$dir/$name/cpuset.cpus")," \
				"rfd says it holds $(subos "$name" .cores)"
	done
	local held=0 m
	for name in $(listed_running); do
		m=$(subos "$name" .mem)
		held=$((held + m))
	done
	[ $(($(rfm --json info | json .mem_free) + held)) -eq $((512 << 20)) ] ||
		fail "point $n: free memory plus held memory is not the whole"
}

# Huge page settings before: every crash's raised limit must be lowered.
hp0=$(huge_state)

# How many points a clean run passes.
start_faulty 0
scenario
stop_rfd
points=$(grep -c 'fault point journal:' "$T/rfd.log")
[ "$points" -ge 10 ] || fail "only $points fault points in a clean run"
echo "walking $points fault points"

for ((n = 1; n <= points; n++)); do
	start_faulty "$n"
	if kill -0 "$RFD_PID" 2>/dev/null; then
		scenario
	fi
	# the last points are the "stop" record of a clean shutdown
	kill -0 "$RFD_PID" 2>/dev/null && kill -TERM "$RFD_PID"
	wait_until 10 "rfd to die at point $n" eval "! kill -0 $RFD_PID 2>/dev/null"
	wait "$RFD_PID" 2>/dev/null || true
	RFD_PID=
	grep -q "fault injected at journal:$n\$" "$T/rfd.log" || fail "rfd did not die at point $n"
	start_rfd "${ARGS[@]}"
	check_recovered "$n"
	destroy_all
	[ -z "$(rfm list | awk 'NR > 1')" ] || fail "point $n: subOSes left after destroy"
	[ -z "$(cgroup_names "$(instance_dir)")" ] || fail "point $n: cgroups left after destroy"
	stop_rfd
	[ "$(huge_state)" = "$hp0" ] ||
		fail "point $n: huge pages (persistent/overcommit) $(huge_state), were $hp0"
done
echo "PASS: $points crash points, every one recovered without a leak"
