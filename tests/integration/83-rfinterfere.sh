#!/usr/bin/env bash
# 83-rfinterfere.sh - every interference workload (build/rfinterfere MODE)
# does its work and stops when told:
#
#   - each mode, for 0.6 s with two workers (threads; processes for one
#     memory mode and fork), exits 0 within 5 s, and its JSON has the mode,
#     its unit, ops > 0, ops_per_s > 0, one rate per worker and per
#     interval, and no error; the memory modes run with a small --size;
#   - --duration 0 runs until SIGTERM, then reports and exits 0;
#   - no process of it is left behind, nor a file of the open mode;
#   - an unknown mode and a bad --size are refused (status 2).
. "$(dirname "$0")/lib.sh"
RFI=$ROOT/build/rfinterfere
need_helpers "$RFI"
DIR=$T/files
mkdir -p "$DIR"

# run_mode MODE ARGS...: one short run, its JSON checked.
run_mode() {
	local mode=$1 start end out=$T/$1.json
	shift
	start=$(now_ms)
	timeout -k 1 10 "$RFI" "$mode" --duration 0.6 --interval 0.2 --dir "$DIR" --json "$@" \
		>"$out" 2>"$T/err" || fail "rfinterfere $mode $* failed: $(cat "$T/err" "$out")"
	end=$(now_ms)
	[ $((end - start)) -lt 5000 ] || fail "rfinterfere $mode took $((end - start)) ms"
	[ "$(json .mode <"$out")" = "$mode" ] || fail "$mode: mode field: $(cat "$out")"
	[ -n "$(json .unit <"$out")" ] || fail "$mode: no unit"
	json .ops .ops_per_s <"$out" | awk '{ if (!($1 > 0)) bad = 1 } END { exit bad }' ||
		fail "$mode did no work: $(cat "$out")"
	[ "$(json .per_worker_ops_per_s# <"$out")" = 2 ] || fail "$mode: per-worker rates: $(cat "$out")"
	[ "$(json .samples_ops_per_s# <"$out")" -ge 2 ] || fail "$mode: samples: $(cat "$out")"
	! json .error <"$out" >/dev/null || fail "$mode reported an error: $(cat "$out")"
	echo "$mode $*: $(json .ops_per_s <"$out") $(json .unit <"$out")/s"
}

run_mode mmap --threads 2 --size 1M
run_mode pagefault --procs 2 --size 4M
run_mode malloc --threads 2 --size 256K
run_mode open --threads 2
run_mode fork --procs 2
run_mode cache --threads 2 --size 4M
run_mode membw --threads 2 --size 16M
run_mode cpu --threads 2
[ "$(json .processes <"$T/fork.json")" = true ] || fail "fork ran without --procs' processes"

# Until a signal.
"$RFI" cpu --duration 0 --procs 2 --json >"$T/sig.json" 2>&1 &
pid=$!
sleep 0.5
kill -TERM "$pid"
wait "$pid" || fail "rfinterfere stopped by SIGTERM exited $?: $(cat "$T/sig.json")"
json .ops <"$T/sig.json" | awk '{ exit !($1 > 0) }' || fail "no work before SIGTERM: $(cat "$T/sig.json")"

# Nothing left behind.
sleep 0.2
for p in $(pgrep -x rfinterfere); do
	! started_by_test "$p" || fail "an rfinterfere process was left: $(ps -o pid,stat,args -p "$p")"
done
[ -z "$(ls -A "$DIR")" ] || fail "files left by the open mode: $(ls "$DIR")"

# Refusals.
set +e
"$RFI" nosuchmode >/dev/null 2>&1
[ $? -eq 2 ] || fail "an unknown mode was not refused with status 2"
"$RFI" mmap --size 12 >/dev/null 2>&1
[ $? -eq 2 ] || fail "--size 12 was not refused with status 2"
set -e
