#!/usr/bin/env bash
# 47-policy.sh - the elastic policy with a real load step (rfm policy,
# src/rfd/policy*.c).
#
# rfd runs with --host-cores "": two subOSes take both cores of a 2-core
# machine.  "kv" (libos, cpu 1) runs tests/helpers/rfstep: Poisson arrivals
# of 500 us requests at 400/s (a fifth of its one core), then 4400/s (more
# than even two cores serve: its queue and p99 grow without bound, so no
# window of the step can look calm), then 400/s again.  "batch" (linux,
# cpu 0) is a shell loop that burns its core.  kv's policy: lt 20 ms, ut
# 60 ms over 100 ms windows: the host is not shielded from the cores, and
# a host task (another build) preempting kv's thread makes a quiet window's
# p99 (of ~40 requests) up to ~12 ms here; batch may go to zero.
#
#   - low load: no move;
#   - the step: within a few windows a "policy" record moves batch's core to
#     kv, batch is paused (frozen by the v1 freezer, its loop stops using
#     CPU time, not killed), and `rfm log` says why in a sentence;
#   - the load drops: after three windows below lt the core goes back and
#     batch runs again;
#   - the policies survive an rfd restart (journal); a 20 ms window works,
#     and the controller's cost per tick is printed (and bounded);
#   - a libos batch subOS (rfbatch) paused (librf's core parks holding the
#     work), resumed, and destroyed while paused (it shuts down itself);
#   - --off, and the error paths: unknown subOS, lt >= ut, min > max,
#     latency on a linux subOS, usage errors.
. "$(dirname "$0")/lib.sh"
need_helpers "$ROOT/build/tests/rfstep"
need_libos || exit 0
LOAD=$ROOT/build/tests/rfstep
trap cleanup EXIT
[ -d /sys/fs/cgroup/freezer ] || { echo "SKIP: no v1 freezer hierarchy: nothing can pause" >&2; exit 0; }

start_rfd --host-cores "" --deadline-ms 2000 --enforce cpuset1

# --- errors before anything runs --------------------------------------------------
expect_fail_with no_such_subos rfm policy nope --priority batch
expect_usage rfm policy kv --priority latency --lt 2 --ut 1
expect_usage rfm policy kv --priority batch --min-cores 3 --max-cores 2
expect_usage rfm policy kv --off --priority batch
expect_usage rfm policy kv --lt 1
expect_usage rfm policy kv --priority fast
expect_usage rfm policy kv --priority latency --window 1

expect_ok rfm create batch --kind linux --cpus 0 --mem 64M -- /bin/sh -c 'while :; do :; done'
expect_refused bad_request rfm policy batch --priority latency
raw() { # raw POLICY_JSON: the policy verb on batch as rfm would never send it
	run rfraw "$SOCK" "{\"version\":1,\"verb\":\"policy\",\"name\":\"batch\",\"policy\":$1}"
	grep -q '"error":"bad_request"' "$OUT" || { show_last; fail "rfd took policy $1"; }
}
raw '{"priority":"batch","lt_us":1000}'
raw '{"priority":"batch","min_cores":3,"max_cores":2}'
raw '{"priority":"latency","lt_us":2000,"ut_us":1000}'
raw '{"priority":"latency","lt_us":2000}' # ut defaults to 2 lt: fine, but batch is linux
raw '{"priority":"latency","min_cores":0}'
raw '{"priority":"off","window_ms":20}'
raw '{"priority":"latency","ut_us":1000,"typo":1}'

# --- the load step ----------------------------------------------------------------
expect_ok rfm create kv --kind libos --cpus 1 --mem 128M -- "$LOAD" 500 400:3000,4400:2000,400:600000
expect_ok rfm policy batch --priority batch
expect_output_contains "batch, cores 0-1024"
expect_ok rfm policy kv --priority latency --lt 20 --ut 60 --window 100
expect_output_contains "latency, lt 20ms ut 60ms over 100 ms of latency, cores 1-1024"
[ "$(subos kv .policy.ut_us .policy.lt_us .policy.window_ms | tr '\n' ' ')" = "60000 20000 100 " ] ||
	fail "show kv: its policy"
wait_until 5 "kv's first phase" grep -q "rfstep: phase 0" "$STATE/logs/kv.log"
moves() { journal_count policy; }
wait_moves() { # wait_moves SECS N WHAT: until N moves, else fail showing kv's policy
	local end=$(($(now_ms) + $1 * 1000))
	until [ "$(moves)" -ge "$2" ]; do
		[ "$(now_ms)" -lt "$end" ] ||
			{ rfm --json policy kv >&2; journal | tail -n 3 >&2; fail "timed out waiting for $3"; }
		sleep 0.05
	done
}
sleep 1.5 # low load for 1.5 s (15 windows): nothing may move
grep -q "rfstep: phase 1" "$STATE/logs/kv.log" && fail "phase 0 too short to judge"
[ "$(moves)" = 0 ] || { journal >&2; fail "a core moved under low load"; }
[ "$(subos kv .ncores)" = 1 ] || fail "kv does not have one core"
expect_ok rfm --json policy kv
[ "$(json .last_window.signal <"$OUT")" = latency ] || { show_last; fail "kv's window signal"; }

wait_until 5 "the load step" grep -q "rfstep: phase 1" "$STATE/logs/kv.log"
step=$(now_ms)
wait_moves 3 1 "a core for kv"
react=$(($(now_ms) - step))
rec=$(journal | grep '"op":"policy"' | head -n 1)
for want in '"from":"batch"' '"to":"kv"' '"core":0' '"rule":"p99_over_ut"' '"paused":"batch"' \
	'"window_ms":100' '"ut_us":60000' '"for":"kv"'; do
	grep -qF "$want" <<<"$rec" || fail "the move's record lacks $want: $rec"
done
wait_eq 2 "kv with both cores" "0-1 2" subos kv .cores .ncores
[ "$(subos batch .ncores .state | tr '\n' ' ')" = "0 running " ] || fail "batch is not paused"
frz=$(subos batch .cgroup | sed 's|/cpuset/|/freezer/|')
wait_eq 2 "batch frozen" FROZEN cat "$frz/freezer.state"
hog=$(subos batch .pid)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
t0=$(cpu_ticks "$hog")
sleep 0.3
[ "$(cpu_ticks "$hog")" = "$t0" ] || fail "batch's loop still runs while paused"
alive "$hog" || fail "pausing killed batch"
expect_ok rfm log kv
grep -Eq 'moved core 0 from batch to kv: kv p99 [0-9.]+m?s > ut 60ms over 100 ms \(batch paused\)' \
	"$OUT" || { show_last; fail "rfm log does not say why the core moved"; }
expect_ok rfm top --once --interval 0.2
grep -Eq '^batch .* batch:paused' "$OUT" || { show_last; fail "top's POLICY of batch"; }
grep -Eq '^kv .* latency:' "$OUT" || { show_last; fail "top's POLICY of kv"; }

# --- the load drops ----------------------------------------------------------------
wait_until 5 "the load to drop" grep -q "rfstep: phase 2" "$STATE/logs/kv.log"
[ "$(moves)" = 1 ] || { journal >&2; fail "cores moved more than once under the step"; }
wait_moves 15 2 "the core back to batch"
rec=$(journal | grep '"op":"policy"' | tail -n 1)
for want in '"from":"kv"' '"to":"batch"' '"rule":"p99_under_lt"' '"resumed":"batch"' '"windows":3'; do
	grep -qF "$want" <<<"$rec" || fail "the give-back's record lacks $want: $rec"
done
wait_eq 2 "batch resumed" "1 THAWED" bash -c "$RFM_BIN --socket $SOCK --json show batch |
	$RFJSON_BIN .ncores; cat $frz/freezer.state"
t0=$(cpu_ticks "$hog")
wait_until 2 "batch's loop to run again" test "$(cpu_ticks "$hog")" -gt "$t0"
[ "$(subos kv .ncores)" = 1 ] || fail "kv kept both cores"
echo "reaction: ${react} ms from the load step to the move's record (window 100 ms)"

# --- the policies survive a restart; a 20 ms window --------------------------------------
kill_rfd_hard
start_rfd --host-cores "" --deadline-ms 2000 --enforce cpuset1
expect_ok rfm --json policy kv
[ "$(json .priority .ut_us <"$OUT" | tr '\n' ' ')" = "latency 60000 " ] || { show_last; fail "kv's policy after a restart"; }
expect_ok rfm --json policy batch
[ "$(json .priority <"$OUT")" = batch ] || { show_last; fail "batch's policy after a restart"; }
expect_ok rfm policy kv --priority latency --lt 20 --ut 60 --window 20
expect_ok rfm --json policy kv
t1=$(json .controller.ticks <"$OUT")
sleep 1
expect_ok rfm --json policy kv
vals=$(json .controller.ticks .controller.tick_ns_avg .controller.tick_ns_max <"$OUT" | tr '\n' ' ')
read -r t2 avg max <<<"$vals"
[ $((t2 - t1)) -ge 30 ] || fail "a 20 ms window ticked $((t2 - t1)) times in a second"
[ "$avg" -lt 1000000 ] || fail "the controller costs $avg ns per tick"
echo "controller: $((t2 - t1)) ticks/s at a 20 ms window, ${avg} ns per tick on average, ${max} ns at most"

# --- a libos batch subOS paused and resumed (librf parks holding its work) ----------------
# kv's thresholds are set so that every window is over ut (it takes lb's
# core), then so that every window is under lt (it gives it back).
expect_ok rfm destroy batch
expect_ok rfm create lb --kind libos --cpus 0 --mem 64M -- "$ROOT/build/rfbatch"
expect_ok rfm policy lb --priority batch
n=$(moves)
expect_ok rfm policy kv --priority latency --lt 0.001 --ut 0.002 --window 20
wait_moves 3 $((n + 1)) "lb's core for kv"
wait_eq 2 "lb paused" "0 running" subos lb .ncores .state
lfrz=$(subos lb .cgroup | sed 's|/cpuset/|/freezer/|')
wait_eq 2 "lb frozen" FROZEN cat "$lfrz/freezer.state"
! grep -q "staying" "$STATE/logs/lb.log" || fail "librf refused to park its last core"
expect_ok rfm policy kv --priority latency --lt 50 --ut 100 --window 20
wait_moves 3 $((n + 2)) "lb's core back"
wait_eq 2 "lb resumed" "1 running" subos lb .ncores .state
b0=$(subos lb '.cores_detail[0].busy_ns')
wait_until 10 "lb to work again" test "$(subos lb '.cores_detail[0].busy_ns')" -gt "$b0"
# paused, then destroyed: it thaws and librf's parked core shuts it down
expect_ok rfm policy kv --priority latency --lt 0.001 --ut 0.002 --window 20
wait_moves 3 $((n + 3)) "lb's core for kv again"
wait_eq 2 "lb paused again" 0 subos lb .ncores
expect_ok rfm destroy lb
expect_output_contains "destroyed lb: exited (exit code 0)"
grep -q "rfbatch: total" "$STATE/logs/lb.log" || fail "lb did not end by its own shutdown"

# --- off ----------------------------------------------------------------------------------
expect_ok rfm policy kv --off
expect_output_contains "Policy:"
[ "$(subos kv .policy)" = null ] || fail "kv still shows a policy"
[ "$(journal_count policy_set kv)" -ge 3 ] || fail "the policy settings are not journalled"
expect_ok rfm policy kv --priority batch
expect_ok rfm --json policy kv
[ "$(json .controller.period_ms <"$OUT")" = 0 ] || { show_last; fail "the timer ticks without a latency subOS"; }
