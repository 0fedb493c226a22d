#!/usr/bin/env bash
# 40-linux-confine.sh - a `linux` subOS is really confined, as the host sees
# it: its CPU affinity is the subOS's cores, it has its own PID, mount, UTS
# and IPC namespaces, its hostname is the subOS's name, its memory cgroup
# limit is --mem; `rfm resize` changes the limit and the cores, and destroy
# removes the process and its cgroups.
#
# rfd runs with --host-cores "": it may give core 0 to a subOS too (the
# host then shares it), so that a 2-core machine can grow a subOS from one
# core to two.  The subOS starts on core 1 only.
. "$(dirname "$0")/lib.sh"
need_helpers

start_rfd --host-cores ""
enforcement=$(rfm --json info | json .enforcement)

expect_ok rfm create box --kind linux --cpus 1 --mem 64M -- \
	/bin/sh -c 'echo "host=$(hostname) pid=$$"; exec sleep 1000'
pid=$(subos box .pid)
[ "$pid" -gt 1 ] && alive "$pid" || fail "no live pid for box: $pid"
[ "$(subos box .cores)" = 1 ] || fail "box's cores are $(subos box .cores), not 1"

# --- cores ------------------------------------------------------------------
cpus_allowed() {
	awk '/^Cpus_allowed_list:/ {print $2}' "/proc/$1/status"
}
[ "$(cpus_allowed "$pid")" = 1 ] || fail "box runs on $(cpus_allowed "$pid"), not 1"

# --- namespaces and hostname ------------------------------------------------
for ns in pid mnt uts ipc; do
	mine=$(readlink "/proc/$$/ns/$ns")
	its=$(readlink "/proc/$pid/ns/$ns")
	[ -n "$its" ] && [ "$its" != "$mine" ] || fail "box shares the host's $ns namespace ($its)"
done
# The program wrote its hostname and its own pid (1 in its namespace) to
# STATE/logs/box.log.
wait_until 5 "box's first words in its log" grep -q "host=" "$STATE/logs/box.log"
grep -q "^host=box pid=1$" "$STATE/logs/box.log" || {
	cat "$STATE/logs/box.log" >&2
	fail "box's hostname or pid inside is wrong"
}
[ "$(nsenter -t "$pid" -u hostname)" = box ] || fail "hostname in box's UTS namespace is not box"
[ "$(hostname)" != box ] || fail "the host's hostname changed"

# --- memory -----------------------------------------------------------------
# The memory cgroup: for cgroup v1 the memory hierarchy has the same
# relative path as the cpuset one that `show` names; v2 has one directory.
cg=$(subos box .cgroup)
case $enforcement in
cpuset1)
	rel=${cg#/sys/fs/cgroup/cpuset/}
	memdir=/sys/fs/cgroup/memory/$rel
	limit_file=memory.limit_in_bytes
	;;
cgroup2)
	memdir=$cg
	limit_file=memory.max
	;;
*)
	memdir=
	echo "SKIP: enforcement is $enforcement: no cgroup checks" >&2
	;;
esac
mem_limit() {
	cat "$memdir/$limit_file"
}
if [ -n "$memdir" ]; then
	[ -d "$cg" ] || fail "box's cgroup $cg does not exist"
	[ "$(cat "$cg/cpuset.cpus")" = 1 ] || fail "cpuset.cpus of box is not 1"
	grep -q "$pid" "$cg/cgroup.procs" || fail "box's program is not in $cg"
	if [ -f "$memdir/$limit_file" ]; then
		grep -q "$pid" "$memdir/cgroup.procs" || fail "box's program is not in $memdir"
		[ "$(mem_limit)" = $((64 << 20)) ] || fail "memory limit $(mem_limit), not 64M"
		expect_ok rfm resize box --mem 128M
		[ "$(subos box .mem)" = $((128 << 20)) ] || fail "box's mem is not 128M"
		[ "$(mem_limit)" = $((128 << 20)) ] || fail "memory limit $(mem_limit), not 128M"
		expect_ok rfm resize box --mem 64M
		[ "$(mem_limit)" = $((64 << 20)) ] || fail "memory limit $(mem_limit), not 64M again"
		[ "$(journal_count resize box)" -eq 2 ] || fail "expected 2 resize records"
		journal box | tail -n 1 | grep -q '"mem":67108864' || fail "last resize record is not 64M"
	else
		echo "SKIP: no memory cgroup at $memdir: memory limits not checked" >&2
	fi
fi

# --- cores resize (core 0 is rfd's to give: --host-cores "") ----------------
expect_ok rfm resize box --cores +1
[ "$(subos box .cores)" = 0-1 ] || fail "box's cores are $(subos box .cores), not 0-1"
wait_eq 5 "box's affinity to widen to 0-1" 0-1 cpus_allowed "$pid"
[ -z "$memdir" ] || [ "$(cat "$cg/cpuset.cpus")" = 0-1 ] || fail "cpuset.cpus of box is not 0-1"
expect_ok rfm resize box --cores -1
left=$(subos box .cores)
[ "$left" = 0 ] || [ "$left" = 1 ] || fail "box kept $left after --cores -1"
wait_eq 5 "box's affinity to narrow to $left" "$left" cpus_allowed "$pid"
expect_ok rfm resize box --cpus 0
wait_eq 5 "box's affinity to move to 0" 0 cpus_allowed "$pid"
expect_ok rfm resize box --cpus 1
wait_eq 5 "box's affinity to move back to 1" 1 cpus_allowed "$pid"
expect_ok rfm show box
expect_output_contains "running"
alive "$pid" || fail "box's program died during the resizes"

# --- destroy ----------------------------------------------------------------
expect_ok rfm destroy box
expect_output_contains "destroyed box"
wait_until 5 "box's program to go" eval "! alive $pid"
[ -z "$memdir" ] || [ ! -d "$cg" ] || fail "$cg is left after destroy"
[ -z "$memdir" ] || [ ! -d "$memdir" ] || fail "$memdir is left after destroy"

# --- no core of its own (cores 0): it runs on the cores the host shares ------
# Only cpuset1 can put its tasks with the host's; elsewhere it is refused.
if [ "$enforcement" = cpuset1 ]; then
	expect_ok rfm create guest --kind linux --cores 0 --mem 64M -- /bin/sh -c 'exec sleep 1000'
	expect_output_contains "none (0 cores)"
	gpid=$(subos guest .pid)
	[ "$(subos guest .ncores)" = 0 ] || fail "guest owns cores: $(subos guest .cores)"
	wait_eq 5 "guest to run on the managed cores" 0-1 cpus_allowed "$gpid"
	# Where the host's tasks are (this rfd does not shield): the cpuset
	# rfd's own hangs under, never rfd's, which spans every managed core.
	[ "$(cat /proc/$gpid/cpuset)" = / ] ||
		fail "guest runs in cpuset $(cat /proc/$gpid/cpuset), not the host's"
	expect_ok rfm create owner --kind linux --cpus 1 --mem 64M -- /bin/sh -c 'exec sleep 1000'
	expect_ok rfm list
	expect_output_contains "guest"
	expect_ok rfm resize guest --cores 1 # from none: its first core of its own
	[ "$(subos guest .cores)" = 0 ] || fail "guest got $(subos guest .cores), not core 0"
	wait_eq 5 "guest to be confined to core 0" 0 cpus_allowed "$gpid"
	alive "$gpid" || fail "guest died when it got a core"
	expect_ok rfm destroy guest
	expect_ok rfm destroy owner
else
	expect_refused bad_request rfm create guest --kind linux --cores 0 --mem 64M -- /bin/true
fi
expect_refused bad_request rfm create guest --kind libos --cores 0 --mem 64M -- /bin/true
