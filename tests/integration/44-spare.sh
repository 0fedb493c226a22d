#!/usr/bin/env bash
# 44-spare.sh - the program process rfd makes ahead of a create (src/rfd/
# spare.c): where it waits, that a create takes it, that what it becomes
# is as confined as any program, and every way around it.
#
#   - `rfm info` says "Spare: ready"; its process waits in memory and
#     freezer cgroups of its own (~spare.*), in no cpuset, in namespaces of
#     its own;
#   - a libos create takes it: the program's pid is the spare's, and it
#     runs in the subOS's three cgroups with the capabilities, no_new_privs
#     and seccomp mode of a confined program, the spare's cgroups gone;
#     a new spare is made after;
#   - the spare killed (as a crash would): the next create still works
#     (started anew, logged), and a spare is made again;
#   - a create with --bind does not take it (its view differs), the spare
#     stays;
#   - a linux subOS takes it too, and the description page made with it
#     goes unused;
#   - rfd killed with a spare alive, then restarted: the old spare's cgroups
#     and process are swept; a stopped rfd leaves neither (lib.sh checks
#     the cgroups after every test).
. "$(dirname "$0")/lib.sh"
need_helpers
need_libos || exit 0
HELLO=$ROOT/build/rfhello

start_rfd --host-cores ""
rfm --json info | json .enforcement | grep -qx cpuset1 || {
	echo "SKIP: spares need cpuset1 enforcement"
	exit 0
}
inst=$(rfd_cgroup_names | head -1)
[ -n "$inst" ] || fail "no rf.ID cgroup name"

spare_dirs() { ls -d /sys/fs/cgroup/*/"$inst"/~spare.* 2>/dev/null || true; }
spare_pid() { cat /sys/fs/cgroup/freezer/"$inst"/~spare.*/cgroup.procs 2>/dev/null | head -1; }
spare_state() { rfm --json info | json .spare; }

wait_eq 10 "the first spare" ready spare_state
expect_ok rfm info
expect_output_contains "Spare"
s1=$(spare_pid)
[ -n "$s1" ] || fail "no spare process in its freezer cgroup: $(spare_dirs)"
for h in memory freezer; do
	grep -qx "$s1" /sys/fs/cgroup/$h/"$inst"/~spare.*/cgroup.procs ||
		fail "the spare is not in its $h cgroup"
done
! ls -d /sys/fs/cgroup/cpuset/"$inst"/~spare.* 2>/dev/null || fail "a spare has a cpuset"
[ "$(readlink /proc/"$s1"/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ] ||
	fail "the spare shares the host's mount namespace"
[ "$(readlink /proc/"$s1"/ns/pid_for_children)" != "$(readlink /proc/self/ns/pid)" ] ||
	fail "the spare is in the host's PID namespace"

# --- a create takes it -----------------------------------------------------------
expect_ok rfm create a --kind libos --cpus 1 --mem 64M -- "$HELLO"
pid=$(subos a .pid)
[ "$pid" = "$s1" ] || fail "create a did not take the spare: pid $pid, spare $s1"
for h in cpuset memory freezer; do
	grep -qx "$pid" /sys/fs/cgroup/$h/"$inst"/a/cgroup.procs ||
		fail "a's program is not in a's $h cgroup"
done
st=/proc/$pid/status
[ "$(awk '/^NoNewPrivs/ {print $2}' $st)" = 1 ] || fail "no no_new_privs: $(cat $st)"
[ "$(awk '/^Seccomp:/ {print $2}' $st)" = 2 ] || fail "no seccomp filter"
# RFD_CONFINE_CAPS_LIBOS: chown dac_override fowner fsetid kill setgid setuid
# setpcap net_bind_service ipc_lock audit_write
[ "$(awk '/^CapBnd/ {print $2}' $st)" = 00000000200045fb ] ||
	fail "bounding set $(awk '/^CapBnd/ {print $2}' $st), not the libos set"
grep -q "rfhello" "$STATE/logs/a.log" || fail "a's program did not print"
wait_eq 10 "a new spare" ready spare_state
s2=$(spare_pid)
[ -n "$s2" ] && [ "$s2" != "$s1" ] || fail "no new spare after the create ($s2)"
[ "$(spare_dirs | wc -l)" = 2 ] || fail "spare cgroups: $(spare_dirs)"

# --- a dead spare: the create starts anew -------------------------------------------
kill -KILL "$s2"
expect_ok rfm create b --kind libos --cpus 0 --mem 64M -- "$HELLO"
[ "$(subos b .pid)" != "$s2" ] || fail "b has the dead spare's pid"
# rfd sees the death when it moves the spare into b's cgroups (the process is
# gone) or, if the kill is still under way then, when it hands the program over
# (the spare's socket is closed): either is logged, and b starts anew
grep -Eq "spare ~spare|its spare cannot take the program" "$T/rfd.log" ||
	fail "the dead spare was not logged"
wait_eq 10 "a spare after the dead one" ready spare_state
expect_ok rfm destroy b

# --- --bind: not for a spare ---------------------------------------------------------
s3=$(spare_pid)
mkdir -p "$T/data"
expect_ok rfm create c --kind libos --cpus 0 --mem 64M --ro-bind "$T/data:/mnt" -- "$HELLO"
[ "$(subos c .pid)" != "$s3" ] || fail "a create with --ro-bind took the spare"
[ "$(spare_pid)" = "$s3" ] && [ "$(spare_state)" = ready ] || fail "the spare did not stay"
expect_ok rfm destroy c

# --- a linux subOS takes it too ----------------------------------------------------------
expect_ok rfm create l --kind linux --cpus 0 --mem 64M -- /bin/sleep 600
[ "$(subos l .pid)" = "$s3" ] || fail "the linux create did not take the spare"
[ "$(awk '/^Seccomp:/ {print $2}' /proc/$s3/status)" = 2 ] || fail "l has no seccomp filter"
expect_ok rfm destroy l
expect_ok rfm destroy a

# --- rfd killed with a spare alive: the next rfd sweeps it -------------------------------
wait_eq 10 "a spare before the kill" ready spare_state
s4=$(spare_pid)
old=$(spare_dirs)
kill_rfd_hard
start_rfd --host-cores ""
wait_until 5 "the old spare's process to end" bash -c "! kill -0 $s4"
for d in $old; do
	[ ! -d "$d" ] || fail "the old spare's cgroup $d stayed"
done
wait_eq 10 "the new rfd's spare" ready spare_state
stop_rfd
[ -z "$(spare_dirs)" ] || fail "a stopped rfd left spare cgroups: $(spare_dirs)"
echo "PASS: 44-spare"
