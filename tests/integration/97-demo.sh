#!/usr/bin/env bash
# 97-demo.sh - `make demo` (examples/demo.sh) in its short mode
# (DEMO_QUICK=1: phases of 2 s): it finishes, and what it reports has the
# right shape, checked against the run's own raw files (DEMO_KEEP):
#   - nginx's page is the KV service's value, byte for byte;
#   - every phase (low, peak, low2) has successful requests and a p99;
#   - the cores-over-time series exists, names kv, web and batch, and agrees
#     with the journal's policy moves (kv never below 1 core; it held 2 only
#     if a move gave it one); batch reported its work;
#   - nginx (a linux subOS, its workers running as nobody) reaches kv over
#     RFloop: every connection its processes counted, none over kernel TCP
#     (none established to kv's port mid-peak either), and the report says
#     so;
#   - the plots and CSVs are written;
#   - and nothing is left: its rfd, nginx, its cgroups, its temporary
#     directory, the host's huge page reservation; also when it is stopped
#     by SIGTERM in the middle of the peak.
# Only the shape: a shared 2-core machine cannot judge latencies.
. "$(dirname "$0")/lib.sh"
need_helpers
need_libos || exit 0
grep -q ' - cgroup cgroup [^ ]*cpuset' /proc/self/mountinfo ||
	{ echo "SKIP: no v1 cpuset hierarchy: the demo's web subOS (cores: 0) needs cpuset1" >&2; exit 0; }
for p in nginx wrk curl python3 gnuplot; do
	command -v "$p" >/dev/null || [ -x "/usr/sbin/$p" ] || fail "no $p: make deps installs it"
done
HUGE_BEFORE=$(huge_state)
DEMO_PID=
trap 'set +e; [ -n "$DEMO_PID" ] && kill "$DEMO_PID" 2>/dev/null && wait "$DEMO_PID"; rm -rf "$T"' EXIT

# check_left OUT: what the demo said of itself (its directory, its cgroups) is gone.
check_left() {
	local dir inst
	dir=$(sed -n 's/^State dir: *\(.*\)\/state$/\1/p' "$1")
	inst=$(grep -o '/sys/fs/cgroup/cpuset/rf\.[A-Za-z0-9_]*' "$1" | head -n 1 | xargs -r basename)
	[ -n "$dir" ] && [ -n "$inst" ] || fail "the demo did not say its directory and cgroups"
	[ ! -e "$dir" ] || fail "the demo left $dir"
	for h in /sys/fs/cgroup/*/; do
		[ ! -d "$h$inst" ] || fail "the demo left the cgroup $h$inst"
	done
	! pgrep -f "$dir" >/dev/null || fail "processes of the demo are left: $(pgrep -af "$dir")"
	[ "$(huge_state)" = "$HUGE_BEFORE" ] ||
		fail "huge pages (persistent/overcommit) $(huge_state), were $HUGE_BEFORE"
}

# --- a whole run ---------------------------------------------------------------------
DEMO_QUICK=1 DEMO_KEEP=$T/keep DEMO_RESULTS=$T/results timeout 150 \
	bash "$ROOT/examples/demo.sh" >"$T/demo.out" 2>&1 || { cat "$T/demo.out" >&2; fail "the demo failed"; }
check_left "$T/demo.out"
grep -q '^GET /page/7 from nginx .* = the KV.s value' "$T/demo.out" || fail "no page check"
cmp -s "$T/keep/page7.got" "$T/keep/page7.want" || fail "nginx's /page/7 is not the KV's value"
grep -q '<h1>page 7</h1>' "$T/keep/page7.got" || fail "the page served is not page 7"
for f in demo.json demo-cores.csv demo-phases.csv demo-cores.png demo-p99.png; do
	[ -s "$T/results/$f" ] || fail "results/$f is missing or empty"
done
python3 - "$T/results/demo.json" "$T/keep/journal.json" <<'EOF' || fail "the summary's shape (above)"
import json, sys
s = json.load(open(sys.argv[1]))
journal = json.load(open(sys.argv[2]))["entries"]
def need(cond, what):
    if not cond:
        print("FAIL: " + what, file=sys.stderr)
        sys.exit(1)
phases = s["phases"]
need([p["name"] for p in phases] == ["low", "peak", "low2"], "phases: %s" % phases)
for p in phases:
    need(p["requests"] > 0 and p["ok"] > 0, "phase %s: no successful request" % p["name"])
    need(isinstance(p["p99_ms"], float) and p["p99_ms"] > 0, "phase %s: no p99" % p["name"])
    need(set(p["cores"]) == {"kv", "web", "batch"}, "phase %s: cores %s" % (p["name"], p["cores"]))
series = s["series"]
need(len(series) >= 10 and s["samples"] == len(series), "only %d samples" % len(series))
for row in series:
    c = row["cores"]
    need(set(c) == {"kv", "web", "batch"}, "a sample without every subOS: %s" % row)
    need(1 <= c["kv"] <= 2 and c["web"] == 0 and c["kv"] + c["batch"] <= 2,
         "a sample's cores break the layout: %s" % row)
moves = [e for e in journal if e.get("op") == "policy"]
need(s["moves"] == moves, "the summary's moves are not the journal's")
for m in moves:
    need({m["from"], m["to"]} <= {"kv", "batch", "free"} and m["from"] != m["to"], "move %s" % m)
    need(m["rule"] in ("p99_over_ut", "p99_under_lt"), "move %s" % m)
need(not any(r["cores"]["kv"] == 2 for r in series) or
     any(m["to"] == "kv" for m in moves), "kv held 2 cores without a move giving it one")
need(s["batch"]["chunks"] and s["batch"]["chunks"] > 0, "batch reported no work")
t = s["transport"]
need(t["nginx_processes"] > 0, "no nginx process reported its RFloop counters")
need(t["connect_rfloop"] > 0, "nginx made no RFloop connection to kv: %s" % t)
need(t["connect_tcp"] == 0, "nginx connected to kv over kernel TCP too: %s" % t)
need(t["transport"].startswith("RFloop"), "transport %s, not RFloop" % t)
need(t["kernel_tcp_conns_mid_peak"] == 0, "kernel TCP connections to kv mid-peak: %s" % t)
EOF
for w in "phase" "requests" "p99 ms" "cores-over-time samples" "policy moves (journal)" \
	"batch work (rfbatch)" "nginx -> kv transport"; do
	grep -qF "$w" "$T/demo.out" || fail "the summary has no \"$w\""
done

# --- stopped in the middle of the peak -------------------------------------------------
DEMO_QUICK=1 bash "$ROOT/examples/demo.sh" >"$T/term.out" 2>&1 &
DEMO_PID=$!
wait_until 90 "the demo's peak" grep -q '^phase peak' "$T/term.out"
kill -TERM "$DEMO_PID"
rc=0
wait "$DEMO_PID" || rc=$?
DEMO_PID=
[ "$rc" = 143 ] || { cat "$T/term.out" >&2; fail "the demo ended with $rc on SIGTERM, not 143"; }
check_left "$T/term.out"
echo "demo: phases, page, series, moves, transport and cleanup as expected"
