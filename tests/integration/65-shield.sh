#!/usr/bin/env bash
# 65-shield.sh - rfd --shield on cgroup v1: while rfd runs, host processes
# (here a `sleep` started before rfd, and this script) are confined to the
# host's cores, a subOS alone runs on the managed core; when rfd stops,
# the host gets every core back.  `--shield` without a host core, or on
# another back end, is refused with a clear message.  The host keeps core 0.
. "$(dirname "$0")/lib.sh"
need_helpers
if ! grep -q ' - cgroup cgroup [^ ]*cpuset' /proc/self/mountinfo; then
	echo "skip: no cgroup v1 cpuset hierarchy"
	exit 0
fi
all=$(cat /sys/fs/cgroup/cpuset/cpuset.effective_cpus)
allowed() { sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "/proc/$1/status"; }

sleep 300 &
host_pid=$!
[ "$(allowed $host_pid)" = "$all" ] || fail "host process starts with $(allowed $host_pid), not $all"

# Refused: no host core to confine the host to.
run "$RFD_BIN" --state-dir "$T/bad" --socket "$T/bad.sock" --foreground --shield --host-cores ""
[ "$STATUS" -ne 0 ] || fail "--shield without a host core was accepted"
expect_output_contains "needs at least one host core"

start_rfd --shield --host-cores 0
[ "$(allowed $host_pid)" = 0 ] || fail "shielded host process may use $(allowed $host_pid)"
[ "$(allowed $$)" = 0 ] || fail "the test shell may use $(allowed $$)"
expect_ok rfm info --json
expect_output_contains "shield:"
expect_ok rfm create box --kind linux --cpus 1 --mem 64M -- /bin/sleep 300
pid=$(subos box .pid)
[ "$(allowed "$pid")" = 1 ] || fail "the subOS may use $(allowed "$pid"), not 1"
expect_ok rfm destroy box

stop_rfd
[ "$(allowed $host_pid)" = "$all" ] || fail "after rfd stopped the host process has $(allowed $host_pid)"
! ls -d /sys/fs/cgroup/cpuset/rf.*.host 2>/dev/null || fail "the shield cpuset was left behind"
kill $host_pid
