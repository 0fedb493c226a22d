#!/usr/bin/env bash
# 45-monitor.sh - the latency signal as rfd reports it: `rfm top --once
# --json` and `rfd --metrics`, scraped by Debian's Prometheus server.
#
# Two libos subOSes run tests/helpers/rflat: "lat" records exactly 1000
# requests of 50 us and stops; "steady" records 200 requests of 200 us every
# 50 ms.  rfm top must count lat's 1000 (and no rate), see steady's rate and
# its p50/p99 within the histogram's 12.5 % of 200 us, a queueing-delay p99
# and a busy %.  /metrics must carry the families and values; Prometheus
# (started by pid, its config and storage in $T, scraping every second on a
# free loopback port) must have stored rainforest_subos_cores with the
# subOS and kind labels, and the request counter.  Without the prometheus
# binary that part says SKIP (mk/deps.sh installs it).
#
# Then lat makes way for "burn", a linux subOS whose shell loop burns cpu 1:
# its per-core busy time (rfd reads /proc/stat for a linux subOS) must be
# in rfm top (BUSY% near 100) and /metrics, labelled subos="burn",
# kind="linux", cpu="1", growing at about a second a second, and
# Prometheus must compute that rate.  rfm info names the performance
# counters rfd keeps (and why not the others: no PMU on many VMs), and
# /metrics has burn's series of exactly those.
#
# rfd runs with --host-cores "": the two subOSes take both cores of a
# 2-core machine (the host shares core 0, as in 30-libos.sh).
. "$(dirname "$0")/lib.sh"
need_helpers "$ROOT/build/tests/rflat"
need_libos || exit 0
LAT=$ROOT/build/tests/rflat
PROM_PID=
trap 'rc=$?; set +e; [ -z "$PROM_PID" ] || { kill "$PROM_PID"; wait "$PROM_PID"; }; (exit $rc); cleanup' EXIT

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
MPORT=$(free_port)
start_rfd --host-cores "" --deadline-ms 2000 --metrics "$MPORT"

expect_ok rfm create lat --kind libos --cpus 1 --mem 64M -- "$LAT" 1000 50000
expect_ok rfm create steady --kind libos --cpus 0 --mem 64M -- "$LAT" 200 200000 --every 50
wait_until 5 "lat's requests" grep -q "rflat: recorded 1000" "$STATE/logs/lat.log"
wait_until 5 "steady's requests" grep -q "rflat: recorded 200" "$STATE/logs/steady.log"

# --- rfm top --once --json ------------------------------------------------------
expect_ok rfm top --once --json --interval 0.5
top() { json "$@" <"$OUT"; }
[ "$(top '.subos#')" = 2 ] || { show_last; fail "top does not show two subOSes"; }
row() { # row NAME FIELD...: fields of NAME's row
	local name=$1 i
	shift
	for i in 0 1; do
		[ "$(top ".subos[$i].name")" = "$name" ] && { top "${@/#/.subos[$i]}"; return; }
	done
	fail "no row for $name"
}
[ "$(row lat .kind .ncores .mem .requests .requests_per_s | tr '\n' ' ')" = "libos 1 67108864 1000 0.0 " ] ||
	{ show_last; fail "lat's row: its 1000 requests and no rate"; }
[ "$(row lat .p99_ns)" = null ] || { show_last; fail "lat has a p99 without requests in the interval"; }
rate=$(row steady .requests_per_s)
p50=$(row steady .p50_ns)
p99=$(row steady .p99_ns)
wait99=$(row steady .wait_p99_ns)
busy=$(row steady .busy_pct)
python3 - "$rate" "$p50" "$p99" "$wait99" "$busy" <<'PY' || { show_last; fail "steady's figures"; }
import sys
rate, p50, p99, w99, busy = (float(x) for x in sys.argv[1:])
assert 1000 <= rate <= 8000, f"rate {rate}/s, expected ~4000"
for q in (p50, p99):
    assert 200000 <= q <= 225000, f"quantile {q} ns not within 12.5% of 200 us"
assert w99 >= 0 and 0 <= busy <= 100, (w99, busy)
PY
[ "$(row steady .policy)" = null ] || fail "a policy state before the policy exists"
row steady '.recent[-1].op' | grep -qx create || { show_last; fail "steady's recent records"; }

# rfm top (human): one line per subOS with the same columns
expect_ok rfm top --once --interval 0.2
expect_output_contains "QWAIT-P99"
grep -q '^lat  *libos  *1  *64M' "$OUT" || { show_last; fail "lat's line"; }

# --- /metrics ---------------------------------------------------------------------
curl -sf "http://127.0.0.1:$MPORT/metrics" >"$T/metrics" || fail "GET /metrics"
grep -qx 'rainforest_subos_requests_total{subos="lat",kind="libos"} 1000' "$T/metrics" ||
	fail "no request counter of 1000 for lat: $(grep requests_total "$T/metrics")"
grep -qx 'rainforest_subos_latency_seconds_bucket{subos="lat",kind="libos",le="+Inf"} 1000' \
	"$T/metrics" || fail "lat's histogram has no +Inf bucket of 1000"
grep -qx '# TYPE rainforest_subos_queueing_delay_seconds histogram' "$T/metrics" ||
	fail "no queueing-delay histogram"
grep -q '^rainforest_subos_core_busy_seconds_total{subos="steady",kind="libos",cpu="0"} ' \
	"$T/metrics" || fail "no busy counter for steady's cpu 0"
grep -qx 'rainforest_policy_moves_total 0' "$T/metrics" || fail "no policy moves counter"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/other")" = 404 ] ||
	fail "a path other than /metrics is not 404"

# --- a linux subOS's per-core busy time ---------------------------------------------------
expect_ok rfm destroy lat
expect_ok rfm create burn --kind linux --cpus 1 --mem 64M -- /bin/sh -c 'while :; do :; done'
burn_busy() { # burn's busy seconds on cpu 1, as /metrics says
	curl -sf "http://127.0.0.1:$MPORT/metrics" |
		sed -n 's/^rainforest_subos_core_busy_seconds_total{subos="burn",kind="linux",cpu="1"} //p'
}
b0=$(burn_busy)
[ -n "$b0" ] || fail "no busy counter for burn's cpu 1 in /metrics"
sleep 1
b1=$(burn_busy)
python3 -c "import sys; d=float(sys.argv[2])-float(sys.argv[1]); assert 0.5 <= d <= 1.6, d" "$b0" "$b1" ||
	fail "burn's cpu 1 busy for $b0 -> $b1 s over a second"
expect_ok rfm top --once --json --interval 0.5
busy=$(row burn .busy_pct)
python3 -c "import sys; assert float(sys.argv[1]) >= 50, sys.argv[1]" "$busy" ||
	{ show_last; fail "top: burn is $busy % busy"; }
[ "$(row burn .kind)" = linux ] || { show_last; fail "burn's row"; }

# --- performance counters (src/rfd/hwc.c) ----------------------------------------------
# rfm info says which events rfd counts and why not the others (hardware
# counters are missing on many VMs); a counted event of burn's core grows
# (its shell loop does not switch, but the tick's faults and switches of
# the kernel's own work on the core show; context switches at least one).
expect_ok rfm info
expect_output_contains "Counters"
expect_ok rfm --json info
counted=$(json '.counters.counted[]' <"$OUT")
for ev in cycles instructions llc_misses context_switches page_faults cpu_migrations; do
	grep -qx "$ev" <<<"$counted" || [ -n "$(json ".counters.unavailable.$ev" <"$OUT")" ] ||
		fail "info: $ev neither counted nor said unavailable"
done
curl -sf "http://127.0.0.1:$MPORT/metrics" >"$T/metrics"
for ev in $counted; do
	grep -q "^rainforest_subos_${ev}_total{subos=\"burn\",kind=\"linux\"} " "$T/metrics" ||
		fail "/metrics: no $ev counter of burn though info says it is counted"
done
for ev in cycles instructions llc_misses; do
	grep -qx "$ev" <<<"$counted" || ! grep -q "^rainforest_subos_${ev}_total" "$T/metrics" ||
		fail "/metrics: $ev series though info says it is not counted"
done

# --- Prometheus ---------------------------------------------------------------------
if ! command -v prometheus >/dev/null; then
	echo "SKIP: no prometheus binary (mk/deps.sh installs Debian's): the scrape test did not run" >&2
	exit 0
fi
PPORT=$(free_port)
cat >"$T/prom.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: rfd
    static_configs:
      - targets: ['127.0.0.1:$MPORT']
YML
prometheus --config.file="$T/prom.yml" --storage.tsdb.path="$T/prom-data" \
	--web.listen-address="127.0.0.1:$PPORT" >"$T/prom.log" 2>&1 &
PROM_PID=$!
query() { # query PROMQL: the result vector of an instant query, as JSON
	curl -sf --get "http://127.0.0.1:$PPORT/api/v1/query" --data-urlencode "query=$1"
}
series_ok() {
	query 'rainforest_subos_cores{subos="steady"}' | python3 -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
assert len(r) == 1 and r[0]["metric"]["kind"] == "libos" and r[0]["metric"]["job"] == "rfd", r
assert r[0]["value"][1] == "1", r'
}
wait_until 30 "Prometheus to store rainforest_subos_cores" series_ok ||
	{ tail -n 20 "$T/prom.log" >&2; fail "Prometheus has no rainforest_subos_cores"; }
query 'rainforest_subos_requests_total{subos="steady"}' | grep -q '"value"' ||
	fail "Prometheus has no request counter for steady"
query 'histogram_quantile(0.99, rainforest_subos_latency_seconds_bucket{subos="steady"})' |
	grep -q '"value"' || fail "Prometheus cannot compute steady's p99 from the histogram"
burn_rate_ok() {
	query 'rate(rainforest_subos_core_busy_seconds_total{subos="burn",kind="linux",cpu="1"}[4s])' |
		python3 -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
assert len(r) == 1 and float(r[0]["value"][1]) >= 0.5, r'
}
wait_until 30 "Prometheus to compute burn's busy rate" burn_rate_ok ||
	fail "Prometheus has no busy rate for burn's cpu 1"
