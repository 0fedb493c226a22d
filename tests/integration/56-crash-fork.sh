#!/usr/bin/env bash
# 56-crash-fork.sh - rfd dying just after a fork leaves no door open.
#
# Every process rfd forks (a spare's shim, a program's own shim) starts
# with a copy of rfd's descriptors, the control socket's listener among
# them.  The fault build (src/rfd/fault.h, RFD_FAULT=fork:N) dies right
# after its Nth fork and makes every child it forks wait 300 ms before
# anything else, as a child may on a busy machine.  Once rfd is dead, no
# process may hold its listener, and a restarted rfd must answer the first
# client that connects: a client that reached the dead rfd's listener,
# still held by that child, would wait for nobody and then be reset (what
# rfbench soak found once in thirty crashes).  The forks walked: the spare made at start-up, a create taking
# it, a create with --ro-bind (a shim of its own) and the spares after.
. "$(dirname "$0")/lib.sh"
need_helpers
FAULTY=$ROOT/build/tests/rfd-faults
[ -x "$FAULTY" ] || fail "$FAULTY is not built (make all)"
ARGS=(--host-cores "" --mem 512M)
mkdir -p "$T/data"

scenario() {
	rfm create a --kind linux --cpus 1 --mem 64M -- /bin/sleep 1000 || return 0
	rfm create b --kind linux --cpus 0 --mem 64M --ro-bind "$T/data:/mnt" -- \
		/bin/sleep 1000 || return 0
	rfm destroy a || return 0
}

# listening: some process listens on the control socket's path (asked of
# the kernel, not by connecting: a client that reaches a dead rfd's
# listener would wait for the child holding it).
listening() {
	ss -xlpn | grep -F " $SOCK " || true
}

# start_faulty SPEC: the fault build with RFD_FAULT=SPEC, until it listens
# or dies.
start_faulty() {
	local i
	mkdir -p "$STATE"
	RFD_ARGS=("${ARGS[@]}")
	RFD_FAULT=$1 RFD_FAULT_TRACE=1 "$FAULTY" --state-dir "$STATE" --socket "$SOCK" \
		--foreground "${ARGS[@]}" >>"$T/rfd.log" 2>&1 &
	RFD_PID=$!
	for ((i = 0; i < 200; i++)); do
		[ -n "$(listening)" ] && return 0
		alive "$RFD_PID" || return 0
		sleep 0.05
	done
	fail "the fault build of rfd neither listened nor died within 10 s"
}

# restart_answered N: a normal rfd on the state directory; every client
# either cannot connect yet or is answered (5 s at most).
restart_answered() {
	local i
	"$RFD_BIN" --state-dir "$STATE" --socket "$SOCK" --foreground "${ARGS[@]}" \
		>>"$T/rfd.log" 2>&1 &
	RFD_PID=$!
	for ((i = 0; i < 500; i++)); do
		run timeout 5 "$RFM_BIN" --socket "$SOCK" version
		[ "$STATUS" -eq 0 ] && return 0
		grep -q "cannot connect" "$ERR" ||
			{ show_last; fail "fork $1: a client reached rfd and got no answer" \
				"(exit $STATUS)"; }
		sleep 0.01
	done
	fail "fork $1: the restarted rfd did not listen within 5 s"
}

# How many forks a clean run makes (the spare after the last destroy too).
start_faulty fork:0
scenario
wait_until 5 "the spare after the scenario" eval "rfm --json info | json .spare | grep -qx ready"
stop_rfd
forks=$(grep -c 'fault point fork:' "$T/rfd.log")
[ "$forks" -ge 3 ] || fail "only $forks forks in a clean run"
start_rfd "${ARGS[@]}"
destroy_all
stop_rfd
echo "walking $forks forks"

# The forks of a run vary a little (a create takes the spare if it is
# ready in time): a fork not reached ends in a SIGKILL, a crash all the same.
died=0
for ((n = 1; n <= forks; n++)); do
	start_faulty "fork:$n"
	alive "$RFD_PID" && scenario
	for ((i = 0; i < 100; i++)); do
		alive "$RFD_PID" || break
		sleep 0.05
	done
	kill -KILL "$RFD_PID" 2>/dev/null || true
	wait "$RFD_PID" 2>/dev/null || true
	grep -q "fault injected at fork:$n\$" "$T/rfd.log" && died=$((died + 1))
	held=$(listening)
	[ -z "$held" ] || fail "fork $n: rfd is dead and its listener is still held: $held"
	restart_answered "$n"
	remember_cgroups
	destroy_all
	stop_rfd
done
[ "$died" -ge $((forks - 1)) ] || fail "rfd died after only $died of $forks forks"
echo "PASS: rfd reachable after dying just after a fork ($died of $forks forks)"
