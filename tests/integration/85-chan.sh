#!/usr/bin/env bash
# 85-chan.sh - channels between subOSes: rfd brokers them, `rfm chan`
# manages them, RFcom uses them.
#
#   - a `libos` subOS "a" (tests/helpers/rfcom_fiber, librf: its echo server
#     waits in a fiber) and a `linux` subOS "b" (tests/helpers/rfcom_echo,
#     a plain program using build/librfcom.so through its rpath) exchange
#     300 messages of 0 to 4000 bytes (one slot, and fragmented) over a msg
#     channel, and a's text reaches b through a map channel.  Both programs
#     start before the channels exist and open them by name once created;
#     b closing the channel ends a's loop (EPIPE);
#   - a third subOS "c", not granted the channel, gets permission_denied
#     from chan_open, and so does a host process (not in any subOS);
#   - every error path of rfm chan: a duplicate name, an unknown subOS, a
#     subOS granted twice (A == B), an exited subOS, bad slots, bad kind
#     and size combinations, closing an unknown channel; each leaves the
#     subOS table, the channel table and the journal unchanged;
#   - `rfm chan close` and destroying a subOS close channels, journalled
#     (and `rfm log b` shows b's channel records);
#   - a restarted rfd records the channels it lost as closed.
#
# rfd runs with --host-cores "" so two subOSes fit a 2-core machine: "a" on
# core 0 (shared with the host), "b" on core 1; "c" takes core 1 after b
# has exited.  Without librf's example programs the libos side is played
# by a second rfcom_echo (linux).
. "$(dirname "$0")/lib.sh"
RFCOM_ECHO=$ROOT/build/tests/rfcom_echo
RFCOM_FIBER=$ROOT/build/tests/rfcom_fiber
need_helpers "$RFCOM_ECHO"

start_rfd --host-cores ""

# chan_refused CODE CMD...: expect_refused, and the channel table unchanged.
chan_refused() {
	rfm --json chan list >"$T/chans.before" || fail "chan list failed"
	expect_refused "$@"
	rfm --json chan list >"$T/chans.after" || fail "chan list failed"
	cmp -s "$T/chans.before" "$T/chans.after" || fail "'${*:2}' changed the channel table"
}

# --- the CLI alone ---------------------------------------------------------------
expect_ok rfm chan --help
expect_output_contains "rfm chan create NAME --between A,B"
expect_ok rfm help chan create
expect_output_contains "--slots N"
expect_usage rfm chan
expect_usage rfm chan frobnicate
expect_usage rfm chan create x
expect_output_contains "--between A,B is required"
expect_usage rfm chan create x --between a
expect_usage rfm chan create x --between a,b --kind pipe
expect_usage rfm chan create x --between a,b --slots many
expect_usage rfm chan create x --between a,b --kind map --size 0
expect_usage rfm chan close
expect_ok rfm chan list
[ "$(wc -l <"$OUT")" -eq 1 ] || { show_last; fail "a new rfd lists channels"; }

# --- two subOSes that talk -------------------------------------------------------
if need_libos 2>/dev/null && [ -x "$RFCOM_FIBER" ]; then
	expect_ok rfm create a --kind libos --cpus 0 --mem 64M -- "$RFCOM_FIBER" serve ch shm
	served="rfcom_fiber: served ch: 300 messages"
else
	echo "note: librf programs not built: the server side is a linux subOS" >&2
	expect_ok rfm create a --kind linux --cpus 0 --mem 64M -- "$RFCOM_ECHO" serve ch shm
	served="rfcom_echo: served ch: 300 messages"
fi
expect_ok rfm create b --kind linux --cpus 1 --mem 64M -- "$RFCOM_ECHO" client ch 300 shm

expect_ok rfm chan create ch --between a,b --slots 64
expect_output_contains "created channel ch: msg between a,b, 64 slots"
expect_ok rfm --json chan create shm --between a,b --kind map --size 10000
[ "$(json .kind .size .between <"$OUT" | tr '\n' ' ')" = 'map 12288 ["a","b"] ' ] ||
	{ show_last; fail "the map channel is not as asked"; }
[ "$(journal_count chan_create)" -eq 2 ] || fail "expected 2 chan_create records"

wait_until 20 "b's exchange" grep -q "rfcom_echo: client ch ok: 300 messages" "$STATE/logs/b.log"
wait_until 5 "b's map check" grep -q "rfcom_echo: map shm ok: 12288 bytes" "$STATE/logs/b.log"
wait_until 5 "a's end of the conversation" grep -q "$served" "$STATE/logs/a.log"
wait_eq 10 "a and b to exit" "0 0" eval 'subos a .exit_code; subos b .exit_code'
expect_ok rfm chan list
expect_output_contains "a,b"
grep -E '^ch +msg +a,b +64 +a,b$' "$OUT" >/dev/null || { show_last; fail "chan list: ch"; }
rfm --json chan list | json '.channels[].opens' | grep -qx 2 || fail "opens not counted"

# --- who may open it -------------------------------------------------------------
expect_ok rfm create c --kind linux --cpus 1 --mem 64M -- "$RFCOM_ECHO" open ch
wait_eq 10 "c to be refused" "exited 3" subos c .state .exit_code
grep -q "open ch: Permission denied" "$STATE/logs/c.log" || fail "c: $(cat "$STATE/logs/c.log")"
run env RF_SOCKET="$SOCK" "$RFCOM_ECHO" open ch
[ "$STATUS" -eq 3 ] || { show_last; fail "a host process opened ch (status $STATUS)"; }
run rfraw "$SOCK" '{"version":1,"id":5,"verb":"chan_open","name":"ch"}'
grep -q '"error":"permission_denied"' "$OUT" || { show_last; fail "raw chan_open from the host"; }

# --- every refusal leaves everything as it was -------------------------------------
chan_refused name_exists rfm chan create ch --between a,b
chan_refused no_such_subos rfm chan create x --between a,nope
chan_refused no_such_subos rfm chan create x --between nope,a
chan_refused bad_request rfm chan create x --between a,a
expect_output_contains "with itself"
chan_refused not_running rfm chan create x --between a,b
chan_refused bad_request rfm chan create x --between a,b --slots 3
chan_refused bad_request rfm chan create x --between a,b --slots 2097152
chan_refused bad_request rfm chan create x --between a,b --kind map
chan_refused bad_request rfm chan create x --between a,b --kind map --size 8G
chan_refused bad_request rfm chan create x --between a,b --kind map --slots 64
chan_refused bad_request rfm chan create x --between a,b --size 1M
chan_refused no_such_channel rfm chan close nope
snapshot
rfm --json chan list >"$T/chans.before"
run rfraw "$SOCK" '{"version":1,"verb":"chan_create","name":"x","kind":"pipe","between":["a","b"]}' \
	'{"version":1,"verb":"chan_create","name":"x","between":["a"]}' \
	'{"version":1,"verb":"chan_create","name":"x","between":["a","b"],"slots":0}' \
	'{"version":1,"verb":"chan_close"}'
[ "$(grep -c '"error":"bad_request"' "$OUT")" -eq 4 ] || { show_last; fail "raw chan requests"; }
expect_unchanged "raw chan requests"
rfm --json chan list | cmp -s "$T/chans.before" - || fail "raw chan requests changed the channels"

# --- closing ---------------------------------------------------------------------
expect_ok rfm chan close shm
expect_output_contains "closed channel shm (between a,b)"
journal | grep '"op":"chan_close"' | grep '"chan":"shm"' | grep -q '"reason":"closed"' ||
	fail "no chan_close record for shm"
expect_ok rfm destroy b
[ -z "$(rfm --json chan list | json '.channels[].name')" ] ||
	fail "destroying b left its channel: $(rfm chan list)"
journal | grep '"op":"chan_close"' | grep '"chan":"ch"' | grep -q '"reason":"subos_destroyed"' ||
	fail "no chan_close record for ch after destroying b"
journal b | grep -q '"chan":"ch"' || fail "rfm log b does not show b's channel"
[ "$(journal_count chan_close)" -eq 2 ] || fail "expected 2 chan_close records"
expect_ok rfm destroy c
expect_ok rfm destroy a
[ "$(journal_count chan_close)" -eq 2 ] || fail "destroying a closed a channel again"

# --- a restarted rfd no longer holds a channel's memory: recorded closed ----------
expect_ok rfm create x --kind linux --cpus 0 --mem 64M -- /bin/sleep 1000
expect_ok rfm create y --kind linux --cpus 1 --mem 64M -- /bin/sleep 1000
expect_ok rfm chan create r --between x,y --slots 2
stop_rfd
start_rfd --host-cores ""
[ "$(subos x .state)" = running ] || fail "x was not adopted"
expect_ok rfm chan list
[ "$(wc -l <"$OUT")" -eq 1 ] || { show_last; fail "a restarted rfd lists a lost channel"; }
journal | grep '"op":"chan_close"' | grep '"chan":"r"' | grep -q '"reason":"rfd_restarted"' ||
	fail "no chan_close record for r after the restart"
expect_ok rfm chan create r --between x,y   # the name is free again
expect_ok rfm destroy x
expect_ok rfm destroy y
