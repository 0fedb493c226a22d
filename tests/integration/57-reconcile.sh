#!/usr/bin/env bash
# 57-reconcile.sh - a restarted rfd rolls the host forward to its journal.
#
# A core add (a resume of a paused subOS included) is journalled before
# its cpuset widens or its tasks thaw (src/rfd/resize.c); rfd dying in
# between leaves the host behind the journal.  This test makes that state
# directly (the record a crash would have left is appended to the journal
# of an rfd killed with SIGKILL) and checks the next rfd's reconcile.c:
#   1. a libos subOS whose record gives it a core its cpuset lacks: the
#      cpuset widens and the description is published again, and librf
#      runs a thread on the new core;
#   2. a libos subOS paused by the policy (frozen, no core) whose record
#      gives it its core back, beside the latency subOS whose record gives
#      that core up: the first is resumed (thawed, running again on its
#      core), the second's cpuset and description narrow to its record.
. "$(dirname "$0")/lib.sh"
need_helpers "$ROOT/build/tests/rfstep"
need_libos || exit 0
[ -d /sys/fs/cgroup/freezer ] || { echo "SKIP: no v1 freezer hierarchy: nothing pauses" >&2; exit 0; }
LOAD=$ROOT/build/tests/rfstep
ARGS=(--host-cores "" --deadline-ms 2000 --enforce cpuset1)

# forge NAME CORES: append the resize record a crash would have left.
forge() {
	python3 - "$STATE/journal" "$1" "$2" <<'PY'
import json, sys
path, name, cores = sys.argv[1:]
recs = [json.loads(l) for l in open(path) if l.strip()]
last = [r for r in recs if r.get("name") == name][-1]
rec = dict(last, op="resize", cores=cores, seq=max(r.get("seq", 0) for r in recs) + 1)
with open(path, "a") as f:
    f.write(json.dumps(rec, separators=(",", ":")) + "\n")
PY
}
cpuset_of() { cat "$(subos "$1" .cgroup)/cpuset.cpus"; }
running_cores() { # how many of NAME's cores librf says run
	subos "$1" '.cores_detail[].state' | grep -c '^running$'
}

# --- 1. a core recorded, not yet in the cpuset --------------------------------------
start_rfd "${ARGS[@]}"
expect_ok rfm create h --kind libos --cpus 0 --mem 64M -- "$ROOT/build/rfhello"
kill_rfd_hard
forge h 0-1
start_rfd "${ARGS[@]}"
[ "$(subos h .cores)" = 0-1 ] || fail "h's cores after the restart: $(subos h .cores)"
[ "$(cpuset_of h)" = 0-1 ] || fail "h's cpuset was not widened: $(cpuset_of h)"
grep -q "subOS h: its cpuset set onto the journal's cores" "$T/rfd.log" || fail "not logged"
grep -q "subOS h: its description gave it other cores" "$T/rfd.log" || fail "not republished"
wait_eq 5 "librf to run on both cores" 2 running_cores h
expect_ok rfm destroy h
stop_rfd

# --- 2. a resume recorded, the subOS still frozen -----------------------------------
start_rfd "${ARGS[@]}"
expect_ok rfm create kv --kind libos --cpus 1 --mem 128M -- "$LOAD" 500 4400:600000
expect_ok rfm create lb --kind libos --cpus 0 --mem 64M -- "$ROOT/build/rfbatch"
expect_ok rfm policy lb --priority batch
expect_ok rfm policy kv --priority latency --lt 0.001 --ut 0.002 --window 20
wait_eq 5 "lb paused" "0 running" subos lb .ncores .state
lfrz=$(subos lb .cgroup | sed 's|/cpuset/|/freezer/|')
wait_eq 2 "lb frozen" FROZEN cat "$lfrz/freezer.state"
expect_ok rfm policy kv --off
expect_ok rfm policy lb --off
kill_rfd_hard
forge kv 1
forge lb 0
start_rfd "${ARGS[@]}"
grep -q "subOS lb: frozen: resumed onto the journal's cores" "$T/rfd.log" || fail "lb not resumed"
[ "$(cat "$lfrz/freezer.state")" = THAWED ] || fail "lb is still $(cat "$lfrz/freezer.state")"
[ "$(cpuset_of lb)" = 0 ] && [ "$(cpuset_of kv)" = 1 ] ||
	fail "cpusets: lb $(cpuset_of lb), kv $(cpuset_of kv)"
wait_eq 5 "lb's core to run" 1 running_cores lb
wait_eq 5 "kv down to its one core" 1 running_cores kv
b0=$(subos lb '.cores_detail[0].busy_ns')
wait_until 10 "lb to work again" test "$(subos lb '.cores_detail[0].busy_ns')" -gt "$b0"
expect_ok rfm destroy lb
expect_ok rfm destroy kv
stop_rfd
echo "PASS: the journal's cores, restored after a crash in a core add and in a resume"
