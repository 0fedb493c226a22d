#!/usr/bin/env bash
# demo.sh - `make demo`: RainForest's main job on this machine.
#
# Starts a private rfd with a default partitioning derived from this
# machine, runs a batch job (libos subOS, build/rfbatch) on the managed
# cores, then lets a latency-critical key-value service (libos subOS,
# build/rfkv) arrive: the batch job gives up a core through the hot-remove
# handshake, the service starts on it and serves an open-loop load
# (build/rfload), memory moves between the two, the service leaves and
# the batch job takes its core back.  It prints the subOSes with their
# resources and the journal.  Everything is removed at the end, also on
# Ctrl-C or failure.
set -euo pipefail
cd "$(dirname "$0")/.."
B=build
STATE=$(mktemp -d /tmp/rfdemo.XXXXXX)
SOCK=$STATE/rfd.sock
RFD_PID=

rfm() { "$B/rfm" --socket "$SOCK" "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

cleanup() {
	set +e
	if [ -n "$RFD_PID" ] && kill -0 "$RFD_PID" 2>/dev/null; then
		for n in kv batch; do rfm destroy "$n" >/dev/null 2>&1; done
		kill -TERM "$RFD_PID" 2>/dev/null
		wait "$RFD_PID" 2>/dev/null
	fi
	rm -rf "$STATE"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Default partitioning: the host keeps core 0 and rfd manages the rest.  A
# machine with fewer than 4 cores has too few to split three ways, so there
# the host shares core 0 with the subOSes (rfd --host-cores "").
ncpu=$(nproc)
shield=()
if [ "$ncpu" -ge 4 ]; then
	host=0
	managed=$((ncpu - 1))
	grep -q ' - cgroup cgroup [^ ]*cpuset' /proc/self/mountinfo && shield=(--shield)
else
	host=
	managed=$ncpu
	echo "demo: this machine has $ncpu cores; the host shares core 0 with the subOSes"
fi
"$B/rfd" --state-dir "$STATE" --socket "$SOCK" --foreground --cleanup \
	--host-cores "$host" --mem 1G "${shield[@]}" >"$STATE/rfd.out" 2>&1 &
RFD_PID=$!
for _ in $(seq 100); do rfm info >/dev/null 2>&1 && break; sleep 0.05; done
rfm info >/dev/null || { cat "$STATE/rfd.out"; exit 1; }

say "the machine, as rfd sees it"
rfm info

say "a batch job takes all $managed managed cores"
rfm create batch --kind libos --cores "$managed" --mem 256M -- "$B/rfbatch"
sleep 1
rfm list

say "a latency-critical service arrives: the batch job gives up a core"
rfm resize batch --cores -1
kv_port=$((20000 + RANDOM % 20000))
rfm create kv --kind libos --cores 1 --mem 256M -- "$B/rfkv" --port "$kv_port"
rfm list
batch_cpu=$(rfm --json show batch | sed -n 's/.*"cores": *"\([0-9]*\).*/\1/p' | head -1)

say "open-loop load on the service for 3 s (latency from the intended send time)"
# The generator stands in for remote clients: it stays off the service's
# core (on the batch job's, at a higher priority, so that it measures the
# service and not its own wait for the CPU).
load() { taskset -c "$batch_cpu" nice -n -15 "$B/rfload" "$@"; }
load --port "$kv_port" --rate 20000 --seconds 3 --conns 8

say "memory moves: the service grows, the batch job shrinks"
rfm resize kv --mem 512M
rfm resize batch --mem 128M
load --port "$kv_port" --rate 20000 --seconds 2 --conns 8

say "the service leaves; the batch job takes its core back"
rfm destroy kv
rfm resize batch --cores +1
sleep 1
rfm list
rfm show batch

say "the journal: every adjustment, in order"
rfm log

say "the batch job's own report"
rfm destroy batch
tail -n 5 "$STATE/logs/batch.log" || true
