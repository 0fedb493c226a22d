#!/usr/bin/env bash
# 82-kv-protocol.sh - rfkv (apps/rfkv) answers the memcached text protocol
# as Debian's memcached does, byte for byte: tests/helpers/kvproto.py runs
# the same scripts (every command, valid and invalid input, pipelining,
# noreply, expiry, CAS conflicts, limits, stats names) against a reference
# memcached started here and against rfkv in a libos subOS on two cores
# (so keys are served by their owning core through mailboxes), and
# compares the answers.  Then: keys survive the subOS losing and regaining
# a core (their shards move), and the -m limit evicts (LRU) rather than
# refusing, also when the subOS's memory shrinks below it while full.
# rfd runs with --host-cores "" (a 2-core machine has no
# second core otherwise).
. "$(dirname "$0")/lib.sh"
need_helpers
need_libos || exit 0
command -v memcached >/dev/null || fail "memcached is missing (mk/deps.sh installs it)"
DRIVER=$ROOT/tests/helpers/kvproto.py

REF_PID=
# Stop the reference memcached too, keeping the test's exit status.
trap 'rc=$?; set +e; [ -z "$REF_PID" ] || { kill "$REF_PID"; wait "$REF_PID"; }; (exit $rc); cleanup' EXIT

ref=$(free_port)
memcached -p "$ref" -U 0 -l 127.0.0.1 -u root 2>/dev/null &
REF_PID=$!
start_rfd --host-cores "" --deadline-ms 2000
port=$(free_port)
expect_ok rfm create kv --kind libos --cores 2 --mem 256M -- "$ROOT/build/rfkv" -p "$port" \
	-l 127.0.0.1 -U 0
wait_until 5000 "grep -q 'serving on port' '$STATE/logs/kv.log'" ||
	fail "rfkv did not report ready: $(cat "$STATE/logs/kv.log")"
wait_until 5000 "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", $ref))' 2>/dev/null" ||
	fail "memcached did not start"

python3 "$DRIVER" "$ref" "$port" >"$T/cmp.out" || fail "answers differ: $(cat "$T/cmp.out")"
grep "cases answered alike" "$T/cmp.out"

python3 "$DRIVER" --keys "$port" set 2000 >/dev/null
expect_ok rfm resize kv --cores -1
python3 "$DRIVER" --keys "$port" check 2000 || fail "keys lost when a core left"
expect_ok rfm resize kv --cores +1
python3 "$DRIVER" --keys "$port" check 2000 || fail "keys lost when a core came back"

python3 "$DRIVER" --evict "$port" 100 || fail "no LRU eviction at the -m limit"
# The subOS shrinks below -m while full: librf's reclaim hook evicts what
# lies in the leaving memory (the resize would be refused as mem_busy
# otherwise), and stores go on, evicting when librf's allocator is full.
expect_ok rfm resize kv --mem 64M
python3 "$DRIVER" --evict "$port" 30 || fail "stores failed after the memory shrank"
expect_ok rfm destroy kv
