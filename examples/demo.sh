#!/usr/bin/env bash
# demo.sh - `make demo`: the RainForest paper's Figure 1 on this machine.
#
# Applies examples/multilibos.yaml under a private rfd: the KV service
# (rfkv, libos subOS), Debian's nginx (linux subOS, RFloop preloaded)
# serving pages it reads from the KV service with its memcached module, and
# a batch job (rfbatch, libos subOS).  It stores the pages in the KV service
# over the memcached protocol, checks that nginx serves one of them byte for
# byte, then drives HTTP load with wrk in three phases (low, peak, low)
# while it samples every subOS's cores (`rfm top --json`, ~every 100 ms)
# and rfd's elastic policy moves the one movable core between batch and kv.
# Then it deletes the deployment and examples/demo_report.py prints the
# summary (requests and p99 per phase, cores over time, the policy's moves,
# batch work, which transport carried nginx -> kv) and draws the plots
# under results/.
#
# Why a script: this is glue around the programs (rfd, rfm, nginx, wrk);
# the numbers are read from what they report, never assumed.  It cleans up
# on exit, failure, Ctrl-C or TERM: the deployment, its rfd, wrk, the
# sampler and its temporary directory.  It fails (nonzero) when a part did
# not run (rfd, apply, nginx serving the KV's page, a phase without
# successful requests); a latency target missed on a noisy machine is
# reported, not a failure.
#
#   DEMO_QUICK=1       phases of 2 s (the integration test)
#   DEMO_KEEP=DIR      also copy the run's raw files to DIR (the test reads them)
#   DEMO_RESULTS=DIR   where the plots and CSVs go (default results/)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
B=$ROOT/build
DIR=$(mktemp -d /tmp/rfdemo.XXXXXX)
SOCK=$DIR/rfd.sock
STATE=$DIR/state
YAML=$DIR/multilibos.yaml
RESULTS=${DEMO_RESULTS:-$ROOT/results}
RFD_PID= SAMPLER_PID= WRK_PID= APPLIED=
if [ -n "${DEMO_QUICK:-}" ]; then
	PHASES=("low 2 1 1 10" "peak 2 2 32 0" "low2 2 1 1 10")
else
	PHASES=("low 6 2 2 10" "peak 10 2 32 0" "low2 10 2 2 10")
fi # name seconds threads connections pause_ms
NPAGES=64 PAGE_KB=${DEMO_PAGE_KB:-32}

rfm() { "$B/rfm" --socket "$SOCK" "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }

cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	for p in "$WRK_PID" "$SAMPLER_PID"; do
		[ -n "$p" ] && kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	if [ -n "$RFD_PID" ] && kill -0 "$RFD_PID" 2>/dev/null; then
		[ -n "$APPLIED" ] && rfm delete "$YAML" >/dev/null 2>&1
		kill -TERM "$RFD_PID" 2>/dev/null
		wait "$RFD_PID" 2>/dev/null
	fi
	[ -n "${DEMO_KEEP:-}" ] && mkdir -p "$DEMO_KEEP" && cp -r "$DIR/." "$DEMO_KEEP/" 2>/dev/null
	rm -rf "$DIR"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A loopback port no socket uses (parallel runs must not collide), below
# the kernel's ephemeral range (32768 up): a client connection, or one in
# TIME_WAIT, on an ephemeral port would make the server's bind fail.
free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 12000))
		ss -Htan "sport = :$p" | grep -q . || { echo "$p"; return; }
	done
	die "no free port"
}

# The deployment and nginx's configuration in $DIR, with our ports and paths.
prepare_files() {
	KV_PORT=$(free_port)
	WEB_PORT=$(free_port)
	[ "$KV_PORT" != "$WEB_PORT" ] || WEB_PORT=$((KV_PORT + 1))
	mkdir -p "$DIR/web/tmp" "$DIR/samples"
	# nginx's workers run as nobody: they must reach and append to the file
	# where each process leaves its RFloop counters (nothing else is theirs).
	chmod 711 "$DIR" && chmod 755 "$DIR/web"
	: >"$DIR/web/rfloop.stats" && chmod 666 "$DIR/web/rfloop.stats"
	sed -e "s/11311/$KV_PORT/g" -e "s/8080/$WEB_PORT/g" examples/nginx.conf >"$DIR/web/nginx.conf"
	sed -e "s/11311/$KV_PORT/g" -e "s/8080/$WEB_PORT/g" -e "s#/tmp/rf-figure1#$DIR/web#g" \
		-e "s#\.\./build/#$B/#g" examples/multilibos.yaml >"$YAML"
}

# A private rfd.  Fewer than 4 cores: it manages them all and the host
# shares them (the YAML's layout needs two managed cores); else the host
# keeps core 0.
start_rfd() {
	local host=0
	[ "$(nproc)" -ge 4 ] || host=
	"$B/rfd" --state-dir "$STATE" --socket "$SOCK" --foreground --cleanup \
		--host-cores "$host" --mem 1G >"$DIR/rfd.out" 2>&1 &
	RFD_PID=$!
	for _ in $(seq 100); do rfm info >/dev/null 2>&1 && return; sleep 0.05; done
	cat "$DIR/rfd.out" >&2
	die "rfd did not start"
}

# The pages, stored with memcached's text protocol ("set KEY 0 0 LEN"):
# PAGE_KB each (a web page's size, so that serving one is work for the KV
# service, not just a round trip).
page() {
	local para i
	para="<p>Page $1, served by nginx (linux subOS) from rfkv (libos subOS): RainForest's"
	para+=" Figure 1, isolate first, then share.</p>"
	printf '<!doctype html><title>page %d</title><h1>page %d</h1>\n' "$1" "$1"
	for ((i = 0; i < PAGE_KB * 1024 / ${#para}; i++)); do printf '%s\n' "$para"; done
}
load_pages() {
	local body stored
	exec 3<>"/dev/tcp/127.0.0.1/$KV_PORT" || die "cannot connect to the KV service"
	for i in $(seq 0 $((NPAGES - 1))); do
		body=$(page "$i")
		printf 'set /page/%d 0 0 %d\r\n%s\r\n' "$i" "${#body}" "$body" >&3
	done
	stored=0
	for _ in $(seq "$NPAGES"); do
		IFS= read -r -t 5 line <&3 || break
		[ "${line%$'\r'}" = STORED ] && stored=$((stored + 1))
	done
	printf 'quit\r\n' >&3
	exec 3<&-
	[ "$stored" = "$NPAGES" ] || die "the KV service stored $stored of $NPAGES pages"
	echo "stored $NPAGES pages in the KV service (port $KV_PORT) with memcached's set"
}

# nginx must answer /page/7 with exactly what the KV service holds.
check_page() {
	printf '%s' "$(page 7)" >"$DIR/page7.want" # as stored: $(...) drops the newline
	curl -fsS --max-time 5 "http://127.0.0.1:$WEB_PORT/page/7" >"$DIR/page7.got" ||
		die "nginx did not answer http://127.0.0.1:$WEB_PORT/page/7"
	cmp -s "$DIR/page7.want" "$DIR/page7.got" || die "nginx's /page/7 is not the KV's value"
	echo "GET /page/7 from nginx (port $WEB_PORT) = the KV's value ($(wc -c <"$DIR/page7.got") bytes)"
}

# Every subOS's cores (and kv's latency) about every 100 ms, until killed.
sampler() {
	while :; do
		local t
		t=$(date +%s%3N)
		rfm --json top --interval 0.1 >"$DIR/samples/$t.json" 2>/dev/null || rm -f "$DIR/samples/$t.json"
	done
}

# The CPUs that are not kv's now: wrk stands in for remote clients, so it
# stays off the KV service's core (nginx cannot: it owns no core).
not_kv_cpus() {
	rfm --json show kv | python3 -c '
import json, os, sys
kv = set()
for part in filter(None, json.load(sys.stdin)["cores"].split(",")):
    a, _, b = part.partition("-")
    kv.update(range(int(a), int(b or a) + 1))
print(",".join(str(c) for c in sorted(os.sched_getaffinity(0) - kv)))'
}

run_phases() {
	local name secs threads conns pause cpus
	cpus=$(not_kv_cpus)
	: >"$DIR/phases.tsv"
	for ph in "${PHASES[@]}"; do
		read -r name secs threads conns pause <<<"$ph"
		echo "phase $name: ${secs}s, $conns connections, ${pause} ms between requests"
		printf '%s\t%s\t%s\t%s\t' "$name" "$(date +%s%3N)" "$conns" "$pause" >>"$DIR/phases.tsv"
		${cpus:+taskset -c "$cpus"} wrk -t "$threads" -c "$conns" -d "${secs}s" --timeout 5s --latency \
			-s examples/wrk-pages.lua "http://127.0.0.1:$WEB_PORT/" -- "$NPAGES" "$pause" \
			>"$DIR/wrk-$name.txt" 2>&1 &
		WRK_PID=$!
		# Mid-peak, the kernel's view: TCP connections from nginx to the KV
		# port (none when RFloop carries them).
		if [ "$name" = peak ]; then
			sleep "$(awk -v s="$secs" 'BEGIN { print s / 2 }')"
			ss -Htn state established "( dport = :$KV_PORT )" >"$DIR/ss-peak.txt"
		fi
		wait "$WRK_PID" || die "wrk failed in phase $name: $(tail -n 3 "$DIR/wrk-$name.txt")"
		WRK_PID=
		printf '%s\n' "$(date +%s%3N)" >>"$DIR/phases.tsv"
	done
}

# rfd ends a linux subOS with SIGKILL; nginx's graceful stop (QUIT) lets
# each of its processes leave its RFloop counters first.
stop_nginx() {
	local pid
	pid=$(rfm --json show web | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
	kill -QUIT "$pid" 2>/dev/null || return 0
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.05
	done
	echo "demo: nginx did not stop within 5 s; rfm delete ends it" >&2
}

main() {
	command -v nginx >/dev/null || command -v /usr/sbin/nginx >/dev/null ||
		die "no nginx (make deps installs Debian's)"
	command -v wrk >/dev/null || die "no wrk (make deps installs Debian's)"
	prepare_files
	start_rfd
	say "the machine, as rfd sees it"
	rfm info
	say "rfm apply: kv (libos), web (nginx, linux, RFloop), batch (libos)"
	APPLIED=1
	rfm apply "$YAML"
	rfm list
	say "the pages go into the KV service; nginx serves them from it"
	load_pages
	check_page
	say "HTTP load in phases; rfd's policy moves the core (sampling cores every ~100 ms)"
	sampler &
	SAMPLER_PID=$!
	run_phases
	kill "$SAMPLER_PID"; wait "$SAMPLER_PID" 2>/dev/null || true
	SAMPLER_PID=
	rfm --json log >"$DIR/journal.json"
	say "the policy's moves, as the journal says them"
	rfm log | grep -i "policy\|moved\|paused\|resumed" | tail -n 20 || echo "(none)"
	say "nginx stops gracefully (its processes write their RFloop counters), then rfm delete"
	stop_nginx
	rfm delete "$YAML"
	APPLIED=
	cp "$STATE/logs/batch.log" "$DIR/batch.log" 2>/dev/null || : >"$DIR/batch.log"
	cp "$STATE/logs/web.log" "$DIR/web.log" 2>/dev/null || : >"$DIR/web.log"
	say "summary"
	python3 examples/demo_report.py "$DIR" "$RESULTS"
}

main "$@"
