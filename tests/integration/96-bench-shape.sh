#!/usr/bin/env bash
# 96-bench-shape.sh - every benchmark's short mode (`rfbench NAME --quick`,
# bench/): it finishes, and its JSON has the framework's shape (bench/runs.c:
# bench, runs = 1, targets as an object, targets_met a boolean, spread,
# per_run) and the benchmark's key figures as numbers, and
# results/NAME.csv holds its raw samples.  Only the shape: a shared 2-core
# CI machine cannot judge the targets.  The soak's short mode is run (and
# judged: leaks are not noise) by 95-soak-quick.sh, so it is left out here.
. "$(dirname "$0")/lib.sh"
need_helpers
need_libos || exit 0

declare -A figures=(
	[lifecycle]="create_ms_p50 destroy_ms_p50 core_add_us_p50 core_remove_us_p50
		core_add_rtt_us_p50 core_add_cold_us_p50 mem_add_ms_p50 mem_add_rtt_ms_p50
		spawn_ms_p50 wake_rtt_us_p50 wake_rtt_idle_us_p50 fsync_us_p50 mem_fresh_ms_p50 create_over_spawn"
	[ficm]="rtt_ns_p50 cacheline_rtt_ns_p50 cacheline_pair_rtt_ns_p50 rtt_64b_payload_ns_p50
		process_rtt_ns_p50 process_cacheline_rtt_ns_p50 unix_socket_rtt_ns_p50
		unix_socket_busypoll_rtt_ns_p50 pipe_rtt_ns_p50 wake_rtt_ns_p50 msgs_per_s
		rtt_over_process_rtt"
	[syscalls]="cores requests syscalls_total syscalls_per_request futex_per_request other_syscalls page_faults"
	[rfloop]="tcp_rr_per_s_rfloop tcp_rr_per_s_loopback tcp_rr_per_s_loopback_busypoll
		tcp_rr_per_s_rfloop_nospin tcp_crr_per_s_rfloop tcp_crr_per_s_loopback
		tcp_stream_gbps_rfloop tcp_stream_gbps_loopback rr_ratio rr_busypoll_ratio
		crr_ratio stream_ratio regions_reused"
	[kv]="max_rate_rainforest max_rate_memcached ratio slo_us cores max_rate_rainforest_rfloop
		max_rate_memcached_rfloop ratio_rfloop points"
	[isolation]=""   # nested figures: check_nested
	[microtail]=""
	[dynamic]="window_ms lt_us ut_us unloaded_p99_us moves reactions steps_unreacted"
)

is_number() {
	[[ $1 =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]
}

# check_shape NAME: the JSON in $OUT and results/NAME.csv.
check_shape() {
	local name=$1 f
	[ "$(json .bench <"$OUT")" = "$name" ] || fail "$name: no bench field"
	[ "$(json .runs <"$OUT")" = 1 ] || fail "$name: runs is not 1 under --quick"
	[ "$(json '.per_run#' <"$OUT")" = 1 ] || fail "$name: per_run does not hold one run"
	[[ $(json .targets <"$OUT") == "{"* ]] || fail "$name: targets is not an object"
	[ "$(json '.targets#' <"$OUT")" -gt 0 ] || fail "$name: no target"
	[[ $(json .targets_met <"$OUT") =~ ^(true|false)$ ]] ||
		fail "$name: targets_met is not a boolean"
	[[ $(json .spread <"$OUT") == "{"* ]] || fail "$name: no spread object"
	for f in ${figures[$name]}; do
		is_number "$(json ".$f" <"$OUT")" || fail "$name: figure $f missing or not a number"
		[ "$(json ".spread.$f#" <"$OUT")" = 2 ] || fail "$name: no [min, max] spread of $f"
	done
	[ -s "$T/results/$name.csv" ] || fail "$name: results/$name.csv missing or empty"
	[ "$(head -c 4 "$T/results/$name.csv")" = "run," ] || fail "$name: CSV without a run column"
	[ "$(wc -l <"$T/results/$name.csv")" -ge 2 ] || fail "$name: CSV without samples"
}

# The nested figures of isolation and microtail ({system: {workload}},
# {op: {system}}): each a number, with its spread under its dotted path.
declare -A nested=(
	[isolation]="p99_us.rainforest.alone p99_us.linux.alone p99_us.linux_cgroups.alone
		p99_us.rainforest.mmap p99_us.linux.cpu p99_us.linux_cgroups.mmap
		p99_slowdown_pct.rainforest.mmap p99_slowdown_pct.rainforest.cpu
		p99_slowdown_pct.linux.mmap p99_slowdown_pct.linux_cgroups.cpu
		worst_slowdown_pct.rainforest worst_slowdown_pct.linux worst_slowdown_pct.linux_cgroups
		send_lag_p99_us.rainforest.alone interferer_ops_per_s.rainforest.mmap
		interferer_ops_per_s.linux.cpu interferer_ops_per_s.linux_cgroups.mmap load.rate_per_s load.seed load.connections"
	[microtail]="p50_ns.mmap.rainforest p99_ns.malloc.linux p999_ns.mmap.rainforest
		p999_ns.mmap.linux p999_ns.malloc.rainforest p999_ns.malloc.linux
		p999_ns.pagefault.rainforest p999_ns.pagefault.linux p999_ns.open.rainforest
		p999_ns.open.linux p999_ratio.mmap p999_ratio.malloc p999_ratio.pagefault
		p999_ratio.open p999_ratio_threads.mmap p999_ns.mmap.linux_threads samples_per_op"
)

check_nested() {
	local name=$1 f
	for f in ${nested[$name]}; do
		is_number "$(json ".$f" <"$OUT")" || fail "$name: figure $f missing or not a number"
		grep -qF "\"$f\":[" "$OUT" || fail "$name: no [min, max] spread of $f"
	done
	# The targets' figure is the worst of the per-workload medians.
	[ "$name" != isolation ] || is_number "$(json .worst_of_medians_pct.rainforest <"$OUT")" ||
		fail "isolation: no worst_of_medians_pct"
}

for name in lifecycle ficm syscalls rfloop isolation microtail dynamic kv; do
	run "$ROOT/build/rfbench" "$name" --quick --json --results "$T/results"
	[ "$STATUS" -eq 0 ] || { show_last; fail "rfbench $name --quick failed"; }
	check_shape "$name"
	[ -z "${nested[$name]:-}" ] || check_nested "$name"
	cp "$OUT" "$T/out.$name"
	echo "ok $name: $(json .targets <"$OUT")"
done
# isolation plots every run's slowdowns; microtail's raw samples are one
# column per operation and system.
[ -s "$T/results/isolation.png" ] || ! command -v gnuplot >/dev/null ||
	fail "isolation: no results/isolation.png"
for col in mmap_rainforest_ns mmap_linux_ns mmap_linux_threads_ns pagefault_rainforest_ns open_linux_ns; do
	head -1 "$T/results/microtail.csv" | grep -q "$col" || fail "microtail.csv lacks $col"
done
# Nothing of linux_cgroups' groups is left behind.
! ls -d /sys/fs/cgroup/cpuset/rfbench-* /sys/fs/cgroup/memory/rfbench-* 2>/dev/null ||
	fail "isolation left cgroup v1 groups behind"
# The subOS FICM round trips and the busy-polling socket are among the raw
# samples too.
for col in subos_ficm_ns subos_cacheline_pair_ns unix_socket_busypoll_ns; do
	head -1 "$T/results/ficm.csv" | grep -q "$col" || fail "ficm.csv lacks $col"
done
# dynamic: each system's figures, and its CSV of p99 and cores over time.
for sys in static rainforest_policy linux_cgroups linux; do
	for f in windows_over_ut_pct batch_work; do
		is_number "$(json ".$f.$sys" <"$T/out.dynamic")" || fail "dynamic: $f of $sys"
	done
	head -1 "$T/results/dynamic.csv" | grep -q "${sys}_p99_us,.*${sys}_cores" ||
		fail "dynamic.csv lacks $sys's p99 or cores"
done
[ "$(json .moves_detail# <"$T/out.dynamic")" = "$(json .moves <"$T/out.dynamic")" ] ||
	fail "dynamic: moves_detail does not hold every move"
! command -v gnuplot >/dev/null || [ -s "$T/results/dynamic.png" ] || fail "dynamic.png missing"
[ -z "$(ls /sys/fs/cgroup/cpuset | grep rfbench-dynamic)" ] || fail "dynamic left a cpuset behind"
# kv: both systems' curves in
# kv.csv, their unloaded p99s and what carried their RFloop clients (said
# per system, with the connection counts), and where the load ran.
for sys in rainforest memcached; do
	[[ $(json ".rfloop_carried.$sys" <"$T/out.kv") =~ ^(true|false)$ ]] ||
		fail "kv: rfloop_carried.$sys is not a boolean"
	for f in "unloaded_p99_us.$sys" "rfloop_connections.$sys.rfloop" \
		"rfloop_connections.$sys.tcp"; do
		is_number "$(json ".$f" <"$T/out.kv")" || fail "kv: $f missing or not a number"
	done
	grep -q "^1,$sys,tcp," "$T/results/kv.csv" || fail "kv.csv has no $sys curve"
done
[ "$(json .load.cpu <"$T/out.kv")" = 0 ] || fail "kv: load does not say where the generator ran"
[ -n "$(json .slo_rule <"$T/out.kv")" ] || fail "kv: no slo_rule"
echo "PASS"
