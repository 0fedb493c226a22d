#!/usr/bin/env bash
# 48-probe.sh - rfd's probe of a linux subOS's service as its latency
# signal (rfm policy --probe, src/rfd/probe.c).
#
# rfd runs with --host-cores "": Debian's memcached in a linux subOS "mc"
# on cpu 1, cpu 0 free for the policy to give.
#
#   - bad URLs: rfm refuses them (usage, naming what is wrong), and so does
#     rfd when sent raw; latency for a linux subOS without a probe, and a
#     ut the probe's timeout (1 s) could never show, are refused;
#   - memcached://: mc gets latency priority with a probe; its windows show
#     the probe's samples (signal "probe"), rfm top and /metrics its
#     latency, about 200 probe requests a second, no failure;
#   - memcached stopped (SIGSTOP): it reads as slow at once (the oldest
#     unanswered request's age), the policy gives mc the free core, and
#     after the timeout the unanswered requests count as failures;
#   - a port nobody serves: every request fails (counted at the timeout,
#     p99 ~1 s), the error says the connection was refused, and rfd stays
#     responsive (another client's requests answered within 20 ms);
#   - services that misbehave: memcached hanging up on HTTP, a reply to no
#     request, a memcached line to HTTP, a connect never answered (a full
#     accept queue): each named in the probe's last error;
#   - the probe survives an rfd restart (journal); --probe off;
#   - http://: Python's http.server (HTTP/1.0, closing after each reply)
#     in a linux subOS: replies counted; a 404 path counts as failures.
. "$(dirname "$0")/lib.sh"
need_helpers "$ROOT/build/tests/rfclients"
[ -x /usr/bin/memcached ] || fail "no /usr/bin/memcached (mk/deps.sh installs it)"
trap stop_bg EXIT

PORT=$(free_port)
DEAD=$(free_port)
MPORT=$(free_port)
HPORT=$(free_port)
start_rfd --host-cores "" --deadline-ms 2000 --metrics "$MPORT"

# --- bad URLs and refusals ------------------------------------------------------------
expect_usage rfm policy x --probe https://127.0.0.1/
expect_output_contains 'not memcached://ADDR:PORT or http://ADDR:PORT/PATH'
expect_usage rfm policy x --probe memcached://cache.local:11211
expect_output_contains 'rfd does not resolve names'
expect_usage rfm policy x --probe memcached://127.0.0.1:70000
expect_output_contains 'port is not a number from 1 to 65535'

expect_ok rfm create mc --kind linux --cpus 1 --mem 64M -- \
	/usr/bin/memcached -p "$PORT" -U 0 -t 1 -u root -l 127.0.0.1
wait_until 5 "memcached to listen" bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT"
run rfraw "$SOCK" '{"version":1,"verb":"policy","name":"mc","probe":"memcached://127.0.0.1:0"}'
grep -q '"error":"bad_request".*port is not a number' "$OUT" || { show_last; fail "rfd took port 0"; }
expect_refused bad_request rfm policy mc --priority latency
expect_output_contains 'its latency signal is a probe of its service (--probe'
expect_refused bad_request rfm policy mc --priority latency --ut 1000 \
	--probe "memcached://127.0.0.1:$PORT"
expect_output_contains "must be below the probe's timeout"

# --- memcached, probed ------------------------------------------------------------------
expect_ok rfm policy mc --priority latency --lt 100 --ut 200 --window 50 \
	--probe "memcached://127.0.0.1:$PORT"
grep -Eq "^Probe: +memcached://127.0.0.1:$PORT \\(" "$OUT" || { show_last; fail "rfm policy: no Probe line"; }
[ "$(subos mc .probe)" = "memcached://127.0.0.1:$PORT" ] || fail "show mc: its probe"
journal mc | python3 -c '
import json, sys
recs = [json.loads(l) for l in sys.stdin if "policy_set" in l]
assert [r.get("probe") for r in recs] == ["memcached://127.0.0.1:" + sys.argv[1]], recs' "$PORT" ||
	fail "the probe is not journalled with the policy"
pol() { rfm --json policy mc | json "$@"; }
# at_least NAME FIELD N: NAME's `rfm --json policy` FIELD is N or more (a
# command for wait_until, which runs it anew each time)
at_least() { [ "$(rfm --json policy "$1" | json "$2")" -ge "$3" ]; }
wait_eq 3 "a window of probe samples" "probe" pol .last_window.signal
wait_until 3 "samples in a window" at_least mc .last_window.samples 5
[ "$(pol .probe.state .probe.failures | tr '\n' ' ')" = "up 0 " ] || { rfm --json policy mc >&2; fail "the probe of memcached"; }
[ "$(pol .last_window.p99_ns)" -lt 200000000 ] || fail "memcached's probe p99 is over 200 ms"

expect_ok rfm top --once --json --interval 0.5
rate=$(json '.subos[0].requests_per_s' <"$OUT")
python3 -c "import sys; r=float(sys.argv[1]); assert 100 <= r <= 260, r" "$rate" ||
	{ show_last; fail "top: mc's probe rate $rate/s, expected ~200"; }
[ "$(json '.subos[0].p99_ns' <"$OUT")" != null ] || { show_last; fail "top: no p99 for mc"; }
curl -sf "http://127.0.0.1:$MPORT/metrics" >"$T/metrics" || fail "GET /metrics"
grep -q '^rainforest_subos_requests_total{subos="mc",kind="linux"} [1-9]' "$T/metrics" ||
	fail "no probe request counter for mc"
grep -q '^rainforest_subos_latency_seconds_bucket{subos="mc",kind="linux",le="0.001"} ' "$T/metrics" ||
	fail "no probe latency histogram for mc"
grep -qx 'rainforest_subos_probe_failures_total{subos="mc",kind="linux"} 0' "$T/metrics" ||
	fail "no probe failure counter of 0 for mc"

# --- memcached stopped: slow at once, failures after the timeout ------------------------
mpid=$(subos mc .pid)
kill -STOP "$mpid"
t0=$(now_ms)
end=$(($(now_ms) + 3000))
until [ "$(journal_count policy)" -ge 1 ]; do
	[ "$(now_ms)" -lt "$end" ] || { rfm --json policy mc >&2; journal >&2; fail "no move for the stopped memcached"; }
	sleep 0.05
done
echo "stopped memcached: a core moved after $(($(now_ms) - t0)) ms"
rec=$(journal | grep '"op":"policy"' | head -n 1)
for want in '"to":"mc"' '"rule":"p99_over_ut"' '"signal":"probe"' '"from":"free"'; do
	grep -qF "$want" <<<"$rec" || fail "the move's record lacks $want: $rec"
done
wait_until 3 "failures at the timeout" at_least mc .probe.failures 1
pol .probe.last_error | grep -q 'no reply within 1000 ms' || { rfm --json policy mc >&2; fail "the stopped service's error"; }
kill -CONT "$mpid"
wait_eq 3 "the probe back up" "up" pol .probe.state

# --- a port nobody serves ------------------------------------------------------------------
expect_ok rfm policy mc --probe "memcached://127.0.0.1:$DEAD"
f0=$(pol .probe.failures)
wait_until 3 "failures on a dead port" at_least mc .probe.failures $((f0 + 100))
pol .probe.last_error | grep -q 'connect: Connection refused' || { rfm --json policy mc >&2; fail "the refused connection's error"; }
wait_until 3 "a window at the timeout" at_least mc .last_window.p99_ns 900000000
run "$ROOT/build/tests/rfclients" "$SOCK" latency 20 20
echo "48-probe: rfd's answers while probing a dead port: $(cat "$OUT")"
[ "$STATUS" -eq 0 ] || { show_last; fail "rfd was slow to answer while probing a dead port"; }

# --- services that misbehave: hang up, a reply to nothing, not a reply, no handshake ----------
last_error_is() { # last_error_is TEXT: mc's probe's last error has TEXT
	rfm --json policy mc | json .probe.last_error | grep -qF "$1"
}
expect_ok rfm policy mc --probe "http://127.0.0.1:$PORT/" # memcached hangs up on HTTP
wait_until 3 "memcached hanging up" last_error_is 'the service closed the connection with'
peer() { # peer MODE PORT: tests/integration/probe_peer.py in the background, once ready
	python3 "$ROOT/tests/integration/probe_peer.py" "$1" "$2" >"$T/peer.$1" 2>&1 &
	BG+=($!)
	wait_until 5 "probe_peer.py $1" grep -q ready "$T/peer.$1"
}
DPORT=$(free_port)
peer double "$DPORT"
expect_ok rfm policy mc --probe "memcached://127.0.0.1:$DPORT"
wait_until 3 "a reply to no request refused" last_error_is 'a reply to no request'
expect_ok rfm policy mc --probe "http://127.0.0.1:$DPORT/"
wait_until 3 "a memcached line to HTTP refused" last_error_is 'not a reply: not an HTTP/1.x status line: "VERSION 1"'
BPORT=$(free_port)
peer backlog "$BPORT"
expect_ok rfm policy mc --probe "memcached://127.0.0.1:$BPORT"
wait_until 4 "a connect that times out" last_error_is 'connect: no answer within 1000 ms'

# --- the probe survives a restart; off ------------------------------------------------------
kill_rfd_hard
start_rfd --host-cores "" --deadline-ms 2000 --metrics "$MPORT"
[ "$(pol .probe.url)" = "memcached://127.0.0.1:$BPORT" ] || fail "the probe after a restart"
wait_until 3 "the restarted rfd probing" at_least mc .probe.requests 50
expect_ok rfm policy mc --probe "memcached://127.0.0.1:$PORT"
n0=$(journal_count policy_set mc)
expect_fail_with bad_request rfm policy mc --probe off # its latency policy needs one
expect_output_contains 'its latency signal is a probe of its service'
[ "$(journal_count policy_set mc)" = "$n0" ] || fail "a refused --probe off was journalled"
[ "$(pol .probe.url)" = "memcached://127.0.0.1:$PORT" ] || fail "a refused --probe off took the probe"
expect_ok rfm policy mc --off --probe off
[ "$(subos mc .probe)" = null ] || fail "mc still has a probe"
[ "$(rfm --json policy mc | json .probe)" = null ] || fail "the policy still shows a probe"

# --- http:// --------------------------------------------------------------------------------
expect_ok rfm resize mc --cpus 1 # it took cpu 0 while its service hung
mkdir -p "$T/www" && echo hello >"$T/www/index.html" && chmod -R a+rX "$T/www"
expect_ok rfm create web --kind linux --cpus 0 --mem 64M -- \
	/usr/bin/python3 -m http.server "$HPORT" --bind 127.0.0.1 --directory "$T/www"
wait_until 5 "http.server to listen" bash -c "exec 3<>/dev/tcp/127.0.0.1/$HPORT"
expect_ok rfm policy web --probe "http://127.0.0.1:$HPORT/index.html"
webp() { rfm --json policy web | json "$@"; }
wait_until 3 "HTTP replies" at_least web .probe.replies 20
[ "$(webp '.probe.failures')" = 0 ] || { rfm --json policy web >&2; fail "HTTP probe failures"; }
expect_ok rfm policy web --probe "http://127.0.0.1:$HPORT/nope"
wait_until 3 "404s as failures" at_least web .probe.errors 10
webp '.probe.last_error' | grep -q 'HTTP 404' || fail "the 404's error"
