#!/usr/bin/env bash
# 41-escape-confine.sh - a root program inside a subOS cannot undo its
# confinement (src/rfd/confine*.c, docs/rfm.md "Confinement"), for both
# kinds.  tests/helpers/rfconfine runs every attack from inside a linux and
# a libos subOS and prints one line per attack; each must be refused:
# writing its pid into the host's cgroup tasks files (the root cpuset and
# memory cgroups, every other cgroup, the other subOS's), remounting the
# cgroup filesystem read-write, mounting a new one, reading /etc/shadow,
# writing /proc/sys and /proc/sysrq-trigger, unshare and clone into new
# namespaces, setns, /proc/PID/mem, ptrace, process_vm_readv and signals to
# rfd, the other subOS and its shim, modules, kexec, bpf, raw I/O, reboot,
# swap, clocks, memory policy, TIOCSTI, the i386 and x32 ABIs, a block
# device node, the disks and memory devices, rfd's journal and logs.
# Setting its affinity to every core leaves it on its own (the cpuset
# holds).  A libos subOS's own allocations past its memory plus the
# runtime allowance end it (its memory cgroup), and nothing else.
#
# Afterwards rfd, the other subOS and the attackers themselves are well,
# a nominal program still works and still reaches rfd through RF_SOCKET,
# and --root gives a program a private root with what --bind and
# --ro-bind bring in.
#
# rfd's socket is put inside its state directory, so the test also shows
# the state directory hidden from programs but for the socket.  rfd runs
# with --host-cores "": the bystander takes core 0 (shared with the host),
# each attacker core 1.
. "$(dirname "$0")/lib.sh"
ESC=$ROOT/build/tests/rfconfine
need_helpers "$ESC"
SOCK=$STATE/rfd.sock
start_rfd --host-cores ""
enforcement=$(rfm --json info | json .enforcement)

ATTACKS=(
	cgroup_cpuset_root_tasks cgroup_cpuset_root_procs cgroup_memory_root_tasks cgroup_any
	cgroup_remount_rw cgroup_remount_cpuset_rw cgroup_mount_v1 cgroup_mount_v2 mount_tmpfs
	read_shadow read_gshadow write_proc_sys_core_pattern write_proc_sys_domainname
	write_sysrq_trigger read_kcore write_etc create_cron open_mem open_kmem open_port
	open_sda open_vda open_loop0 open_kmsg mknod_block see_run_systemd list_root_home
	read_path0 read_path1 read_path2 unshare_mount unshare_user unshare_cgroup clone_newpid
	setns_pid1_mnt setns_self_pid
	read_mem_pid0 ptrace_pid0 vm_readv_pid0 kill_pid0
	read_mem_pid1 ptrace_pid1 vm_readv_pid1 kill_pid1
	read_mem_pid2 ptrace_pid2 vm_readv_pid2 kill_pid2
	ptrace_attach_child init_module finit_module delete_module kexec_load bpf iopl ioperm
	reboot swapoff swapon clock_settime settimeofday set_mempolicy mbind keyctl
	open_by_handle_at tiocsti abi_i386 abi_x32 sched_fifo raise_memlock
)

cpus_allowed() {
	awk '/^Cpus_allowed_list:/ {print $2}' "/proc/$1/status"
}

# The memory cgroup directory of a subOS (v1: the cpuset path's twin).
mem_dir() {
	local cg
	cg=$(subos "$1" .cgroup)
	case $enforcement in
	cpuset1) echo "/sys/fs/cgroup/memory/${cg#/sys/fs/cgroup/cpuset/}" ;;
	cgroup2) echo "$cg" ;;
	esac
}

mem_limit() {
	local dir
	dir=$(mem_dir "$1")
	case $enforcement in
	cpuset1) cat "$dir/memory.limit_in_bytes" ;;
	cgroup2) cat "$dir/memory.max" ;;
	esac
}

shim_of() {
	rfm --json log "$1" | grep -o '"shim_pid": *[0-9]*' | head -n 1 | grep -o '[0-9]*$'
}

# --- a bystander --------------------------------------------------------------
expect_ok rfm create other --kind linux --cpus 0 --mem 64M -- /bin/sleep 1000
other_pid=$(subos other .pid)
other_shim=$(shim_of other)
[ -n "$other_shim" ] && [ "$other_shim" -gt 1 ] || fail "no shim pid for other in the journal"
other_cg=$(subos other .cgroup)

# unharmed: rfd answers, the bystander runs where it did, in its cgroup.
unharmed() {
	kill -0 "$RFD_PID" || fail "rfd died ($1)"
	expect_ok rfm list
	[ "$(subos other .state)" = running ] || fail "other is not running ($1)"
	alive "$other_pid" || fail "other's program died ($1)"
	[ "$(cpus_allowed "$other_pid")" = 0 ] || fail "other moved off core 0 ($1)"
	if [ -n "$(mem_dir other)" ]; then
		grep -qx "$other_pid" "$other_cg/cgroup.procs" || fail "other left its cpuset ($1)"
		[ "$(mem_limit other)" = $((64 << 20)) ] || fail "other's memory limit changed ($1)"
	fi
}

# check_attacks NAME PID: every attack refused, none escaped, the cpuset
# held, and the attacker still in its own cgroups.
check_attacks() {
	local name=$1 pid=$2 log=$STATE/logs/$1.log a
	local i
	for ((i = 0; i < 300; i++)); do
		grep -q '^rfconfine: done' "$log" && break
		[ "$(subos "$name" .state)" = running ] || break
		sleep 0.1
	done
	grep -q '^rfconfine: done' "$log" || { cat "$log" >&2; fail "$name's attacks did not finish"; }
	if grep -q ESCAPED "$log"; then
		grep ESCAPED "$log" >&2
		fail "$name: attacks escaped"
	fi
	for a in "${ATTACKS[@]}"; do
		grep -q "^$a: refused" "$log" || { cat "$log" >&2; fail "$name: $a was not refused"; }
	done
	grep -q '^affinity_all: held (rc [0-9-]*, Cpus_allowed_list 1)$' "$log" ||
		fail "$name: the cpuset did not hold: $(grep affinity_all "$log")"
	[ "$(cpus_allowed "$pid")" = 1 ] || fail "$name runs on $(cpus_allowed "$pid"), not 1"
	if [ -n "$(mem_dir "$name")" ]; then
		grep -qx "$pid" "$(subos "$name" .cgroup)/cgroup.procs" || fail "$name left its cpuset"
		grep -qx "$pid" "$(mem_dir "$name")/cgroup.procs" || fail "$name left its memory cgroup"
	fi
	[ "$(subos "$name" .state)" = running ] || fail "$name is not running after its attacks"
	alive "$pid" || fail "$name's program died"
}

# The host's POSIX shared memory is other programs' memory: not readable
# from inside (read_path2), and what a subOS writes in its /dev/shm or
# /dev/hugepages never appears in the host's.
HOST_SHM=/dev/shm/rf41-host-secret.$$
echo secret >"$HOST_SHM"
trap 'rc=$?; rm -f "$HOST_SHM"; (exit $rc); cleanup' EXIT
planted() {
	local f
	for f in /dev/shm/rfconfine-planted /dev/hugepages/rfconfine-planted; do
		[ ! -e "$f" ] || { rm -f "$f"; fail "$1 planted $f in the host's"; }
	done
}
attack_args=(--pid "$RFD_PID" --pid "$other_pid" --pid "$other_shim"
	--path "$STATE/journal" --path "$STATE/logs/other.log" --path "$HOST_SHM")

# --- from a linux subOS -------------------------------------------------------
expect_ok rfm create esc --kind linux --cpus 1 --mem 64M -- "$ESC" "${attack_args[@]}"
check_attacks esc "$(subos esc .pid)"
planted esc
unharmed "after the linux attacks"
expect_ok rfm destroy esc

# --- from a libos subOS -------------------------------------------------------
expect_ok rfm create lesc --kind libos --cpus 1 --mem 64M -- "$ESC" --libos "${attack_args[@]}"
check_attacks lesc "$(subos lesc .pid)"
planted lesc
unharmed "after the libos attacks"
if [ -n "$(mem_dir lesc)" ]; then
	# memory + 64 MiB + 8 MiB per core, following a resize
	[ "$(mem_limit lesc)" = $(((64 + 64 + 8) << 20)) ] ||
		fail "lesc's memory limit is $(mem_limit lesc), not 136M"
	expect_ok rfm resize lesc --mem 128M
	[ "$(mem_limit lesc)" = $(((128 + 64 + 8) << 20)) ] ||
		fail "lesc's memory limit is $(mem_limit lesc) after the resize, not 200M"
fi
expect_ok rfm destroy lesc
expect_output_contains "exited" # it still shuts down when asked

# --- a libos program allocating past its memory cgroup ------------------------
if [ -n "$(mem_dir other)" ]; then
	expect_ok rfm create hog --kind libos --cpus 1 --mem 64M -- "$ESC" --libos --hog
	wait_eq 30 "hog to be killed by its memory cgroup" 9 subos hog .signal
	got=$(grep -o '^hog: [0-9]* MiB' "$STATE/logs/hog.log" | tail -n 1 | grep -o '[0-9]*')
	[ -n "$got" ] && [ "$got" -le 136 ] || fail "hog reached ${got:-nothing} MiB (limit 136)"
	unharmed "after the hog"
	expect_ok rfm destroy hog
else
	echo "SKIP: enforcement is $enforcement: no memory cgroup to stop the hog" >&2
fi

# --- a nominal program still works and reaches rfd ----------------------------
expect_ok rfm create nominal --kind linux --cpus 1 --mem 64M -- /bin/sh -c \
	'echo "host=$(hostname)"; d=$(dirname "$RF_SOCKET");
	 echo "state: $(ls -A "$(dirname "$d")" | tr "\n" " ")"; echo "door: $(ls -A "$d" | tr "\n" " ")";
	 '"$RFM_BIN"' --socket "$RF_SOCKET" show nominal | head -n 1; exec sleep 1000'
wait_until 10 "nominal's answer from rfd" grep -q "^Name: *nominal" "$STATE/logs/nominal.log"
grep -q "^host=nominal$" "$STATE/logs/nominal.log" || fail "nominal did not run"
# in the state directory only the socket and the door's directory (RF_SOCKET
# is in it: it outlives an rfd restart), and in that only the door
grep -qx "state: door rfd.sock " "$STATE/logs/nominal.log" &&
	grep -qx "door: subos.sock " "$STATE/logs/nominal.log" || {
	cat "$STATE/logs/nominal.log" >&2
	fail "the state directory is not hidden but for the socket"
}
expect_ok rfm destroy nominal

# --- a private root -----------------------------------------------------------
root=$T/root
mkdir -p "$root" "$T/data"
for l in bin lib lib64 sbin; do
	[ -L "/$l" ] && ln -s "$(readlink "/$l")" "$root/$l"
done
expect_refused bad_request rfm create boxed --kind linux --cpus 1 --mem 64M \
	--bind /proc/sys -- /bin/true
expect_refused bad_request rfm create boxed --kind linux --cpus 1 --mem 64M \
	--bind /nonexistent-rf -- /bin/true
expect_refused bad_request rfm create boxed --kind linux --cpus 1 --mem 64M \
	--ro-bind /:/host -- /bin/true
expect_refused bad_request rfm create boxed --kind linux --cpus 1 --mem 64M \
	--ro-bind /dev -- /bin/true
expect_usage rfm create boxed --kind linux --cpus 1 --mem 64M --cap NOT_A_CAP -- /bin/true
expect_ok rfm create boxed --kind linux --cpus 1 --mem 64M --root "$root" --ro-bind /usr \
	--bind "$T/data:/data" --cap NET_RAW -- /bin/sh -c \
	'echo "ls: $(ls / | tr "\n" " ")"; echo written >/data/f; touch /usr/rf-x 2>&1;
	 test -S "$RF_SOCKET" && echo socket-ok; test -e /work || echo no-host;
	 grep CapBnd /proc/self/status; exec sleep 1000'
wait_until 10 "boxed's report" grep -q "^CapBnd" "$STATE/logs/boxed.log"
log=$(cat "$STATE/logs/boxed.log")
grep -q "socket-ok" <<<"$log" || fail "boxed cannot reach rfd's socket: $log"
grep -q "no-host" <<<"$log" || fail "boxed sees the host's files: $log"
grep -q "Read-only file system" <<<"$log" || fail "--ro-bind /usr is writable: $log"
[ "$(cat "$T/data/f")" = written ] || fail "--bind $T/data:/data did not write through"
grep -q "^CapBnd:.*00000000200025fb" <<<"$log" || fail "boxed's bounding set: $log"
grep -q "^ls: .*proc.*usr" <<<"$log" || fail "boxed's root: $log"
expect_ok rfm destroy boxed
# A link left in the root (by an earlier program) cannot point a mount
# target, or a file rfd makes for one, into the host's tree.
ln -s "$T/host-side" "$root/evil"
mkdir -p "$T/host-side"
expect_refused spawn_failed rfm create boxed --kind linux --cpus 1 --mem 64M --root "$root" \
	--ro-bind /usr --bind "$T/data:/evil/x" -- /bin/true
expect_output_contains "Too many levels of symbolic links"
[ -z "$(ls -A "$T/host-side")" ] || fail "a mount target was made through a link in the root"
unharmed "at the end"
