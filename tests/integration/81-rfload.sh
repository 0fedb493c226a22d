#!/usr/bin/env bash
# 81-rfload.sh - the load generator (build/rfload) measures what it claims,
# against tests/helpers/rfdelayd, a server that answers every request
# exactly D microseconds after reading it (a delay line: no queueing):
#
#   - accuracy: at a fixed rate (Poisson, fixed seed) the p50 with D = 1 ms
#     is at least D and at most D + 300 us, and exceeds the p50 with D = 0
#     (the loopback's own cost, printed) by D within 150 us; the offered
#     rate is the target within 5 %;
#   - no coordinated omission: with the server stalled once for 200 ms,
#     every request due meanwhile is late, so the p99 is above 100 ms and
#     the max above 200 ms (a closed-loop generator would show a handful of
#     slow samples and an unchanged p99);
#   - schedules: uniform arrivals over two steps (2000/s, then 6000/s) send
#     exactly 2000 and 6000 requests, each step reported with its target;
#   - repeatability: the same seed asks for the same gets and sets, another
#     seed does not;
#   - Debian's memcached: zipf keys, ETC value sizes, gets and sets, two
#     threads: no error, every get a hit after the preload, the JSON's
#     config as given;
#   - RFloop: with --rfloop (LD_PRELOAD) against an rfdelayd under RFloop
#     (registered with this test's rfd), every connection went over RFloop
#     (RF_LOOP_STATS) and the JSON says transport "rfloop".
#
# Server and generator are on different CPUs where there are two, at nice
# -15: the machine may be compiling beside the test, and a latency test
# measures the scheduler's time slices otherwise.
. "$(dirname "$0")/lib.sh"
need_helpers "$ROOT/build/rfload" "$ROOT/build/tests/rfdelayd"
command -v memcached >/dev/null || fail "memcached is missing (mk/deps.sh installs it)"
LOAD=$ROOT/build/rfload
SRV_PID=
trap 'rc=$?; set +e; [ -z "$SRV_PID" ] || kill -KILL "$SRV_PID"; (exit $rc); cleanup' EXIT

cpu_srv=0 cpu_gen=0
[ "$(nproc)" -ge 2 ] && cpu_srv=1

# serve CMD...: start a server on its CPU, in the background (SRV_PID).
serve() {
	taskset -c "$cpu_srv" nice -n -15 "$@" >"$T/srv.out" 2>&1 &
	SRV_PID=$!
}
unserve() {
	kill -KILL "$SRV_PID" 2>/dev/null
	wait "$SRV_PID" 2>/dev/null || true   # killed: status 137
	SRV_PID=
}
# delayd ARGS...: rfdelayd on any port; sets PORT.
delayd() {
	serve "$ROOT/build/tests/rfdelayd" --port 0 "$@"
	wait_until 5 "rfdelayd to listen" grep -q 'port [0-9]' "$T/srv.out"
	PORT=$(sed -n 's/^rfdelayd: port //p' "$T/srv.out")
}
# load NAME ARGS...: rfload on its CPU, JSON into $T/NAME.json.
load() {
	local name=$1
	shift
	taskset -c "$cpu_gen" nice -n -15 "$LOAD" --port "$PORT" --json "$@" >"$T/$name.json" 2>"$T/$name.err" ||
		fail "rfload $* failed: $(cat "$T/$name.err")"
	[ "$(json .errors <"$T/$name.json")" = 0 ] && [ "$(json .unanswered <"$T/$name.json")" = 0 ] ||
		fail "rfload $name: errors or unanswered: $(cat "$T/$name.json")"
}
# check WHAT AWK-CONDITION VALUES...: the condition on $1, $2, ... holds.
check() {
	local what=$1 cond=$2
	shift 2
	echo "$*" | awk "{ exit !($cond) }" || fail "$what: ($cond) is false for: $*"
}

# ---- accuracy ----------------------------------------------------------------
delayd --delay-us 0
load d0 --rate 5000 --seconds 2 --conns 4 --seed 7
unserve
delayd --delay-us 1000
load d1000 --rate 5000 --seconds 2 --conns 4 --seed 7
unserve
p0=$(json .p50_us <"$T/d0.json")
p1=$(json .p50_us <"$T/d1000.json")
echo "p50: $p0 us with D = 0, $p1 us with D = 1000 us"
check "p50 with D = 1 ms" '$1 >= 1000 && $1 <= 1300' "$p1"
check "p50(D = 1 ms) - p50(D = 0)" '$1 - $2 >= 850 && $1 - $2 <= 1150' "$p1" "$p0"
check "offered rate" '$1 >= 4750 && $1 <= 5250' "$(json .offered_rate <"$T/d1000.json")"
[ "$(json .steps# <"$T/d1000.json")" = 1 ] || fail "one step expected: $(cat "$T/d1000.json")"

# ---- no coordinated omission ----------------------------------------------------
delayd --delay-us 200 --stall-after-ms 700 --stall-ms 200
load stall --rate 5000 --seconds 2 --conns 4 --seed 7 --no-preload --window 100
unserve
read -r p50 p99 mx <<<"$(json .p50_us .p99_us .max_us <"$T/stall.json" | tr "\n" " ")"
echo "stalled 200 ms: p50 $p50 us, p99 $p99 us, max $mx us"
check "p99 with a 200 ms stall" '$1 >= 100000' "$p99"
check "max with a 200 ms stall" '$1 >= 200000 && $1 <= 400000' "$mx"
check "p50 with a 200 ms stall" '$1 < 5000' "$p50"
# --window: 20 windows of 100 ms by intended send time, the stall (from
# 700 ms of the server's life: the preload is skipped, so about as much of
# the run) in the windows it covers and not in the first ones.
[ "$(json '.windows.p99_us#' <"$T/stall.json")" = 20 ] || fail "not 20 windows: $(cat "$T/stall.json")"
check "window_ms" '$1 == 100' "$(json .windows.window_ms <"$T/stall.json")"
read -r w0 w1 <<<"$(json '.windows.p99_us[1]' '.windows.p99_us[2]' <"$T/stall.json" | tr "\n" " ")"
check "window p99 before the stall" '$1 < 20000 && $2 < 20000' "$w0" "$w1"
stalled=$(json '.windows.p99_us[]' <"$T/stall.json" | awk '$1 >= 100000' | wc -l)
check "windows over 100 ms in the stall" '$1 >= 1 && $1 <= 4' "$stalled"
[ "$(json '.windows.measured[]' <"$T/stall.json" | awk '{s += $1} END {print s}')" = \
	"$(json .measured <"$T/stall.json")" ] || fail "the windows do not hold every measured request"

# ---- schedules, repeatability ----------------------------------------------------
delayd --delay-us 50
load steps --schedule 0s:2000,1s:6k --seconds 2 --arrivals uniform --conns 4 --seed 1
[ "$(json '.steps[].sent' <"$T/steps.json" | tr '\n' ' ')" = "2000 6000 " ] ||
	fail "uniform steps did not send 2000 and 6000: $(cat "$T/steps.json")"
[ "$(json '.steps[].target_rate' <"$T/steps.json" | tr '\n' ' ')" = "2000.0 6000.0 " ] ||
	fail "steps' targets: $(cat "$T/steps.json")"
load seed1 --rate 3000 --seconds 1 --conns 4 --threads 2 --get-ratio 0.5 --seed 11 --no-preload
load seed2 --rate 3000 --seconds 1 --conns 4 --threads 2 --get-ratio 0.5 --seed 11 --no-preload
load seed3 --rate 3000 --seconds 1 --conns 4 --threads 2 --get-ratio 0.5 --seed 12 --no-preload
s1=$(json .sent .sets <"$T/seed1.json" | tr '\n' ' ')
[ "$s1" = "$(json .sent .sets <"$T/seed2.json" | tr '\n' ' ')" ] || fail "seed 11 twice: not the same requests"
[ "$s1" != "$(json .sent .sets <"$T/seed3.json" | tr '\n' ' ')" ] || fail "seeds 11 and 12 made the same requests"
unserve

# ---- Debian's memcached --------------------------------------------------------
PORT=$(free_port)
serve memcached -u nobody -l 127.0.0.1 -p "$PORT" -U 0 -t 1 -m 64
wait_until 5 "memcached to listen" bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT"
load mc --rate 4000 --seconds 1 --conns 8 --threads 2 --keys 5000 --key-dist zipf:1.1 \
	--value-dist etc --value-max 65536 --get-ratio 0.8 --seed 3
unserve
[ "$(json .config.key_dist .config.zipf_s .config.seed .transport <"$T/mc.json" | tr '\n' ' ')" = \
  "zipf 1.1 3 tcp " ] || fail "memcached run's config: $(cat "$T/mc.json")"
check "memcached: hits, sets" '$1 == 1 && $2 > 0 && $3 > 3000' \
	"$(json .hit_ratio <"$T/mc.json")" "$(json .sets <"$T/mc.json")" "$(json .measured <"$T/mc.json")"

# ---- RFloop ------------------------------------------------------------------------
start_rfd --host-cores ""
export RF_SOCKET=$SOCK
serve env LD_PRELOAD="$ROOT/build/librfloop.so" "$ROOT/build/tests/rfdelayd" --port 0 --delay-us 0
wait_until 5 "rfdelayd to listen" grep -q 'port [0-9]' "$T/srv.out"
PORT=$(sed -n 's/^rfdelayd: port //p' "$T/srv.out")
RF_LOOP_STATS=$T/stats load rfloop --rfloop --rate 3000 --seconds 1 --conns 4 --seed 5
unserve
[ "$(json .transport <"$T/rfloop.json")" = rfloop ] || fail "transport: $(cat "$T/rfloop.json")"
rfl=$(grep "comm=rfload " "$T/stats" | grep -o ' connect_rfloop=[0-9]*' | cut -d= -f2 | awk '{ s += $1 } END { print s + 0 }')
tcp=$(grep "comm=rfload " "$T/stats" | grep -o ' connect_tcp=[0-9]*' | cut -d= -f2 | awk '{ s += $1 } END { print s + 0 }')
[ "$rfl" -ge 5 ] && [ "$tcp" = 0 ] ||
	fail "rfload's connections did not all go over RFloop ($rfl rfloop, $tcp tcp): $(cat "$T/stats")"
echo "rfloop: p50 $(json .p50_us <"$T/rfloop.json") us with D = 0"
