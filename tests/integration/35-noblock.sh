#!/usr/bin/env bash
# 35-noblock.sh - rfd never blocks (issue 9, item 5): its one event loop
# answers every client, in order per connection, whatever another client
# or a subOS does.
#
#  - a client that sends a flood of requests and never reads, and one that
#    sends half a line and stalls: another client's requests are still
#    answered within 50 ms each, and the flooder is dropped once its
#    answers exceed its queue's cap (1 MiB), which rfd logs;
#  - 200 clients at once, 20 requests each, all answered in order;
#  - while a libos subOS's program delays its librf attach (create in
#    flight), 200 clients are answered, and the create still succeeds;
#  - while a libos subOS that never acknowledges is resized (forced at the
#    deadline) and destroyed (deadline, then SIGKILL), other clients are
#    answered at once.
. "$(dirname "$0")/lib.sh"
CLIENTS=$ROOT/build/tests/rfclients   # tests/helpers/rfclients.c
need_helpers "$CLIENTS"

trap stop_bg EXIT # background clients (BG, lib.sh)
# say what a client run measured (shown when the test fails, or run by hand)
said() {
	echo "35-noblock: $1: $(cat "$OUT")"
}

start_rfd

# A flood that never reads, and half a line that never ends.
"$CLIENTS" "$SOCK" flood 200000 >"$T/flood.out" 2>&1 &
BG+=($!)
"$CLIENTS" "$SOCK" half >"$T/half.out" 2>&1 &
BG+=($!)
wait_until 10 "the stalled clients to send" grep -q ready "$T/half.out"
wait_until 10 "the flood to be sent" grep -q ready "$T/flood.out"
run "$CLIENTS" "$SOCK" latency 50 50
said "latency while two clients stall"
[ "$STATUS" -eq 0 ] || { show_last; fail "a client waited behind the stalled ones"; }
wait_until 10 "rfd to drop the flooder" grep -q "does not read its answers" "$T/rfd.log"

run "$CLIENTS" "$SOCK" many 200 20 20000
said "200 clients x 20 requests"
[ "$STATUS" -eq 0 ] || { show_last; fail "200 clients were not all answered in order"; }
expect_ok rfm info

# The rest needs librf's programs.
need_libos || exit 0
SLOW=$ROOT/build/tests/rfslow   # tests/helpers/rfslow.c: attaches after a delay
HOG=$ROOT/build/tests/rfhog     # tests/helpers/rfhog.c: never answers a shutdown
[ -x "$SLOW" ] && [ -x "$HOG" ] || fail "rfslow or rfhog is not built (make all)"
stop_rfd
RFD_PID=
# A long handshake deadline, so that the destroy below stays in flight a while.
start_rfd --deadline-ms 2000

# A create in flight (librf attaches after 3 s): 200 clients are answered
# meanwhile, in order, and the create still succeeds.
t0=$(now_ms)
rfm create slow --kind libos --cores 1 --mem 64M -- "$SLOW" 3000 >"$T/create.out" 2>&1 &
create_pid=$!
BG+=($create_pid)
wait_eq 5 "slow to be starting" starting subos slow .state
run "$CLIENTS" "$SOCK" many 200 10 2500
said "200 clients x 10 requests while a create is in flight"
[ "$STATUS" -eq 0 ] || { show_last; fail "clients waited behind a create in flight"; }
kill -0 "$create_pid" 2>/dev/null || fail "the create ended before the clients were served"
run "$CLIENTS" "$SOCK" latency 20 50
said "latency while a create is in flight"
[ "$STATUS" -eq 0 ] || { show_last; fail "a client waited behind a create in flight"; }
# Its core is taken from the first step on; a create of its name waits for
# it (ops on one name run in order), then finds the name taken.
expect_fail_with name_exists rfm create slow --kind libos --cores 1 --mem 64M -- "$SLOW" 0
expect_fail_with cores_busy rfm create other --kind linux --cpus 1 --mem 64M -- /bin/sleep 60
# A destroy of it waits for the create to end, then destroys what it made.
rfm destroy slow >"$T/destroy-slow.out" 2>&1 &
destroy_pid=$!
BG+=($destroy_pid)
wait "$create_pid" || { cat "$T/create.out"; fail "the slow create failed"; }
[ $(($(now_ms) - t0)) -ge 3000 ] || fail "the create answered before librf attached"
wait "$destroy_pid" || { cat "$T/destroy-slow.out"; fail "the queued destroy failed"; }
expect_fail_with no_such_subos rfm show slow
[ "$(journal_count create slow) $(journal_count destroy slow)" = "1 1" ] ||
	fail "the journal does not have one create and one destroy of slow"

# A destroy in flight (the hog ignores the shutdown: 2 s deadline, then
# SIGKILL): other clients are answered at once meanwhile.
expect_ok rfm create hog --kind libos --cores 1 --mem 64M -- "$HOG" 1
wait_until 10 "hog to spin" grep -q "rfhog: hogging" "$STATE/logs/hog.log"

# A resize in flight (the hog never acknowledges: forced after 2 s): other
# clients are answered meanwhile.
in_flight resize "$T/resize.out" 2000 --json resize hog --mem 128M
[ "$(json .forced .mem <"$T/resize.out" | tr '\n' ' ')" = "true $((128 << 20)) " ] ||
	{ cat "$T/resize.out"; fail "the resize was not forced to 128M"; }
in_flight destroy "$T/destroy.out" 2000 destroy hog
grep -q "destroyed hog: killed" "$T/destroy.out" || { cat "$T/destroy.out"; fail "hog was not killed"; }
[ "$(journal_count destroy hog)" -eq 1 ] || fail "no destroy record"
