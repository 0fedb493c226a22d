#!/usr/bin/env bash
# 80-service.sh - the example latency-critical service (build/rfkv, a libos
# subOS serving the memcached text protocol through librf's per-core
# io_uring) keeps answering while rfd moves cores in and out of it: an
# open-loop load (build/rfload) runs while the subOS is resized +1/-1
# core and grown/shrunk in memory, and every request must be answered with
# no error.  rfd runs with --host-cores "" (the host shares core 0: a
# 2-core machine has no other second core to add).
. "$(dirname "$0")/lib.sh"
need_helpers
need_libos || exit 0

start_rfd --host-cores "" --deadline-ms 2000
port=$(free_port)
expect_ok rfm create kv --kind libos --cpus 1 --mem 128M -- "$ROOT/build/rfkv" --port "$port"
wait_until 5000 "grep -q 'serving on port' '$STATE/logs/kv.log'" ||
	fail "rfkv did not report ready: $(cat "$STATE/logs/kv.log")"

"$ROOT/build/rfload" --port "$port" --rate 2000 --seconds 3 --conns 4 --json \
	>"$T/load.json" 2>"$T/load.err" &
load=$!
for _ in 1 2 3; do
	expect_ok rfm resize kv --cores +1
	expect_ok rfm resize kv --mem 256M
	expect_ok rfm resize kv --cores -1
	expect_ok rfm resize kv --mem 128M
	sleep 0.3
done
wait "$load" || fail "rfload failed: $(cat "$T/load.err")"
errors=$(json .errors <"$T/load.json")
unanswered=$(json .unanswered <"$T/load.json")
measured=$(json .measured <"$T/load.json")
[ "$errors" = 0 ] && [ "$unanswered" = 0 ] ||
	fail "the service lost requests while resized: $(cat "$T/load.json")"
[ "$measured" -gt 3000 ] || fail "too few requests measured: $(cat "$T/load.json")"
[ "$(journal_count resize)" -ge 12 ] || fail "resizes missing from the journal"
[ "$(journal_count force)" -eq 0 ] || fail "a handshake was forced"
expect_ok rfm destroy kv
expect_output_contains "exited"
