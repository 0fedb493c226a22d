#!/usr/bin/env bash
# 20-protocol-errors.sh - every way a request can be wrong, and proof that a
# refused request changes nothing.
#
#   - raw protocol errors through tests/helpers/rfraw (requests rfm never
#     sends): not JSON, not an object, trailing garbage, missing, mistyped
#     or unknown version (bad_version), unknown verb, mistyped fields,
#     oversized lines (request_too_large, connection closed), NUL bytes;
#     the connection survives every error but the oversized line;
#   - the partition errors through rfm: overlapping cores, unknown cores,
#     more memory than is free, a duplicate name, an unknown name, a
#     program that cannot start, resizes that cannot be done;
#   - SO_PEERCRED: an unprivileged uid may look but not change anything
#     (rfd runs with --group nogroup so that nobody, whose group that is,
#     may connect at all; 42-escape-authority.sh tests the socket's mode).
#
# After each refused request the table (`rfm --json list`) and the journal
# (`rfm --json log` and the file) are exactly as before.  The host keeps
# core 0; the subOSes here are `linux` ones on core 1.
. "$(dirname "$0")/lib.sh"
need_helpers

start_rfd --group nogroup

# --- the partition, while core 1 is free -----------------------------------
expect_refused mem_unavailable rfm create other --kind linux --cores 1 --mem 2G -- /bin/sleep 1000
expect_output_contains "free"
expect_refused spawn_failed rfm create other --kind linux --cores 1 --mem 64M -- /nonexistent/prog
expect_refused spawn_failed rfm create other --kind linux --cores 1 --mem 64M -- no-such-program-anywhere
printf '#!/bin/sh\nexit 0\n' >"$T/notexec"
chmod 0644 "$T/notexec"
expect_refused spawn_failed rfm create other --kind linux --cores 1 --mem 64M -- "$T/notexec"
expect_output_contains "notexec"
expect_refused spawn_failed rfm create other --kind linux --cores 1 --mem 64M -- /etc
expect_refused cores_busy rfm create other --kind linux --cores 2 --mem 64M -- /bin/sleep 1000
expect_output_contains "2 cores asked, 1 free"
! ls -d /sys/fs/cgroup/*/rf.*/other 2>/dev/null || fail "a refused create left a cgroup"

# A subOS to collide with.
expect_ok rfm create web --kind linux --cpus 1 --mem 64M -- /bin/sleep 1000
pid=$(subos web .pid)

# raw REQUEST CODE: send one line; the answer is that error, carries the
# protocol version, and nothing changed.
raw() {
	local req=$1 code=$2
	snapshot
	run rfraw "$SOCK" "$req"
	[ "$STATUS" -eq 0 ] || { show_last; fail "no answer to: $req"; }
	[ "$(wc -l <"$OUT")" -eq 1 ] || { show_last; fail "expected one answer line to: $req"; }
	[ "$(json .ok <"$OUT")" = false ] || { show_last; fail "not refused: $req"; }
	[ "$(json .error <"$OUT")" = "$code" ] || { show_last; fail "expected $code for: $req"; }
	[ "$(json .version <"$OUT")" = 1 ] || { show_last; fail "answer without version 1"; }
	[ -n "$(json .message <"$OUT")" ] || { show_last; fail "answer without a message"; }
	expect_unchanged "request $req"
}

C='"version":1,"verb":"create","kind":"linux","cores":1,"mem":67108864'

# --- not a request ----------------------------------------------------------
raw 'this is not json' bad_request
expect_output_contains "not valid JSON"
raw '{"version":1,"verb":"list"' bad_request
raw '[1,2,3]' bad_request
expect_output_contains "must be a JSON object"
raw '"list"' bad_request
raw '{"version":1,"verb":"list"} {"x":1}' bad_request
expect_output_contains "trailing bytes"
raw '{"version":1,"verb":"list"}garbage' bad_request
raw "$(printf '{"version":1,"verb":"list"}\x01')" bad_request
raw '' bad_request

# --- versions ---------------------------------------------------------------
raw '{"verb":"list"}' bad_version
expect_output_contains '"version'
raw '{"version":2,"verb":"list"}' bad_version
expect_output_contains "version 2 is not supported"
raw '{"version":0,"verb":"create","name":"x"}' bad_version
raw '{"version":"1","verb":"list"}' bad_version
raw '{"version":1.5,"verb":"list"}' bad_version
raw '{"version":null,"verb":"list"}' bad_version

# --- verbs and fields -------------------------------------------------------
raw '{"version":1}' bad_request
expect_output_contains '"verb'
raw '{"version":1,"verb":"frobnicate"}' bad_request
expect_output_contains 'unknown verb'
raw '{"version":1,"verb":7}' bad_request
raw '{"version":1,"verb":"LIST"}' bad_request
raw "{$C,\"name\":\"x\",\"argv\":\"/bin/true\"}" bad_request
expect_output_contains 'argv'
raw "{$C,\"name\":\"x\",\"argv\":[]}" bad_request
raw "{$C,\"name\":\"x\",\"argv\":[\"/bin/sleep\",5]}" bad_request
raw "{$C,\"name\":\"x\",\"argv\":[\"/bin/true\"],\"restart\":\"sometimes\"}" bad_request
expect_output_contains "is not no, on-failure or always"
raw "{$C,\"name\":\"x\",\"argv\":[\"/bin/true\"],\"max_restarts\":2}" bad_request
expect_output_contains "only with restart on-failure or always"
raw "{$C,\"name\":\"x\",\"argv\":[\"/bin/true\"],\"restart\":\"always\",\"max_restarts\":-1}" \
	bad_request
raw "{$C,\"name\":7,\"argv\":[\"/bin/true\"]}" bad_request
raw "{$C,\"argv\":[\"/bin/true\"]}" bad_request
expect_output_contains '"name'
raw "{$C,\"name\":\"a b\",\"argv\":[\"/bin/true\"]}" bad_request
expect_output_contains 'bad name'
raw "{$C,\"name\":\"-x\",\"argv\":[\"/bin/true\"]}" bad_request
raw "{$C,\"name\":\"$(printf 'n%.0s' {1..48})\",\"argv\":[\"/bin/true\"]}" bad_request
raw "{$C,\"name\":\"x\",\"argv\":[\"/bin/true\"],\"env\":[\"NOEQUALS\"]}" bad_request
raw '{"version":1,"verb":"create","name":"x","kind":"vm","cores":1,"mem":67108864,"argv":["/bin/true"]}' bad_request
expect_output_contains 'kind'
raw '{"version":1,"verb":"create","name":"x","kind":"linux","cores":"1","mem":"64M","argv":["/bin/true"]}' bad_request
expect_output_contains 'mem'
raw '{"version":1,"verb":"create","name":"x","kind":"linux","cores":1,"mem":-1,"argv":["/bin/true"]}' bad_request
raw '{"version":1,"verb":"create","name":"x","kind":"linux","cores":[1],"mem":67108864,"argv":["/bin/true"]}' bad_request
expect_output_contains 'cores'
# 0 cores: only a linux subOS may have none of its own (docs/rfm.md, "Cores")
raw '{"version":1,"verb":"create","name":"x","kind":"libos","cores":0,"mem":67108864,"argv":["/bin/true"]}' bad_request
raw '{"version":1,"verb":"resize","name":"x","cores":0}' bad_request
raw '{"version":1,"verb":"create","name":"x","kind":"linux","cores":-1,"mem":67108864,"argv":["/bin/true"]}' bad_request
raw '{"version":1,"verb":"create","name":"x","kind":"linux","cores":"1-","mem":67108864,"argv":["/bin/true"]}' bad_request
raw '{"version":1,"verb":"create","name":"x","kind":"linux","cores":"+1","mem":67108864,"argv":["/bin/true"]}' bad_request
raw '{"version":1,"verb":"create","name":"x","kind":"linux","mem":67108864,"argv":["/bin/true"]}' bad_request
raw '{"version":1,"verb":"resize","name":"web"}' bad_request
raw '{"version":1,"verb":"resize","name":"web","cores":"+x"}' bad_request
raw '{"version":1,"verb":"resize","name":"web","mem":true}' bad_request
raw '{"version":1,"verb":"destroy"}' bad_request
raw '{"version":1,"verb":"show","name":["web"]}' bad_request

# An id is echoed, also in an error.
run rfraw "$SOCK" '{"version":1,"id":42,"verb":"frobnicate"}'
[ "$(json .id <"$OUT")" = 42 ] || { show_last; fail "id not echoed in an error"; }

# One connection carries many requests, and survives errors.
run rfraw "$SOCK" '{"version":1,"id":1,"verb":"list"}' 'junk' '{"version":1,"id":3,"verb":"info"}'
[ "$STATUS" -eq 0 ] && [ "$(wc -l <"$OUT")" -eq 3 ] || { show_last; fail "3 answers expected"; }
[ "$(sed -n 2p "$OUT" | json .error)" = bad_request ] || { show_last; fail "junk not refused"; }
[ "$(sed -n 3p "$OUT" | json .ok .id | tr '\n' ' ')" = "true 3 " ] || { show_last; fail "info after junk"; }

# --- size -------------------------------------------------------------------
# A line of exactly 65536 bytes is a request (padded with blanks) ...
req='{"version":1,"id":9,"verb":"list"}'
pad=$(printf '%*s' $((65536 - ${#req})) '')
run rfraw "$SOCK" "$req$pad"
[ "$(json .ok <"$OUT")" = true ] || { show_last; fail "a 65536-byte request was refused"; }
# ... a longer one is refused and the connection closed, newline or not.
for fill in 65537 70000 200000; do
	snapshot
	run rfraw --eof "$SOCK" '{"version":1,"id":1,"verb":"list"}' --fill "$fill" '{"version":1,"verb":"info"}'
	[ "$STATUS" -eq 0 ] || { show_last; fail "rfd did not close the connection after $fill bytes"; }
	expect_output_contains "connection closed by rfd"
	[ "$(wc -l <"$OUT")" -eq 2 ] || { show_last; fail "expected the list answer and one error"; }
	[ "$(sed -n 1p "$OUT" | json .ok)" = true ] || { show_last; fail "the request before was lost"; }
	[ "$(sed -n 2p "$OUT" | json .error)" = request_too_large ] || { show_last; fail "no request_too_large"; }
	expect_unchanged "a request of $fill bytes"
done
# rfm does not even send a request that long, and says so.
big=$(head -c 70000 /dev/zero | tr '\0' x)
expect_refused request_too_large rfm create big --kind linux --cores 1 --mem 64M -- /bin/echo "$big"
expect_output_contains "longer than 65536 bytes"
# rfd is still there for everyone else.
expect_ok rfm list
expect_output_contains web

# --- the partition: through rfm ------------------------------------------------
expect_refused cores_busy rfm create other --kind linux --cpus 1 --mem 64M -- /bin/sleep 1000
expect_output_contains 'core 1 is owned by subOS "web"'
expect_refused cores_busy rfm create other --kind linux --cores 1 --mem 64M -- /bin/sleep 1000
expect_refused unknown_core rfm create other --kind linux --cpus 0 --mem 64M -- /bin/sleep 1000
expect_output_contains "core 0 is not managed"
expect_refused unknown_core rfm create other --kind linux --cpus 1000 --mem 64M -- /bin/sleep 1000
expect_output_contains "core 1000"
expect_refused unknown_core rfm create other --kind linux --cores 0-1 --mem 64M -- /bin/sleep 1000
expect_refused name_exists rfm create web --kind linux --cores 1 --mem 64M -- /bin/sleep 1000
expect_output_contains '"web"'
expect_refused no_such_subos rfm show nope
expect_output_contains '"nope"'
expect_refused no_such_subos rfm destroy nope
expect_refused no_such_subos rfm resize nope --mem 128M
expect_refused mem_unavailable rfm resize web --mem 2G
expect_refused unknown_core rfm resize web --cpus 0-1
expect_refused unknown_core rfm resize web --cpus 7
expect_refused cores_busy rfm resize web --cores +1
expect_refused bad_request rfm resize web --cores -1
expect_output_contains "at least one"

# the refused creates left no cgroup behind and web is untouched
! ls -d /sys/fs/cgroup/*/rf.*/other 2>/dev/null || fail "a refused create left a cgroup"
[ "$(subos web .state .pid .cores | tr '\n' ' ')" = "running $pid 1 " ] || fail "web changed"
alive "$pid" || fail "web's program died"

# --- SO_PEERCRED ------------------------------------------------------------
# nobody (65534) may list, show, info and log, but not create, resize or
# destroy.  It needs to reach rfm and the socket: $T is made traversable,
# and rfm is copied there if build/ is not reachable for nobody.
nobody_rfm=$RFM_BIN
if ! setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$RFM_BIN" 2>/dev/null; then
	cp "$RFM_BIN" "$T/rfm-nobody"
	chmod 0755 "$T/rfm-nobody"
	nobody_rfm=$T/rfm-nobody
fi
chmod o+x "$T"
if ! command -v setpriv >/dev/null; then
	echo "SKIP: setpriv missing: the SO_PEERCRED checks are not run" >&2
elif ! setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$nobody_rfm"; then
	echo "SKIP: uid 65534 cannot reach $nobody_rfm: the SO_PEERCRED checks are not run" >&2
else
	as_nobody() {
		setpriv --reuid=65534 --regid=65534 --clear-groups "$nobody_rfm" --socket "$SOCK" "$@"
	}
	expect_ok as_nobody list
	expect_output_contains web
	expect_ok as_nobody show web
	expect_ok as_nobody info
	expect_ok as_nobody log
	expect_refused permission_denied as_nobody create other --kind linux --cores 1 --mem 64M -- /bin/sleep 1000
	expect_output_contains "uid 65534"
	expect_refused permission_denied as_nobody destroy web
	expect_refused permission_denied as_nobody resize web --mem 128M
	# also for a name that does not exist: no probing before the check
	expect_refused permission_denied as_nobody destroy nope
	expect_refused permission_denied as_nobody create web --kind linux --cores 1 --mem 64M -- /bin/sleep 1000
	alive "$pid" || fail "web's program died"
fi

expect_ok rfm destroy web
expect_output_contains "destroyed web"
