#!/usr/bin/env bash
# 36-noblock-pool.sh - rfd never blocks on its memory pool (issue 9, item
# 5): a request that needs a pool chunk the worker is still refilling
# waits as an op on the pool's eventfd, and every other client is
# answered meanwhile.
#
# The crash-test build of rfd (build/tests/rfd-faults) runs with
# RFD_FAULT=pool_slow:MS, which makes every chunk fill take MS longer
# (src/rfd/fault.h), so the pool stays short long enough to look:
#  - a chan_create whose chunk is being refilled waits for it, succeeds,
#    and other clients' requests take < 50 ms each meanwhile;
#  - the same for a libos subOS's memory growth (resize --mem);
#  - a create waiting for the pool likewise.
. "$(dirname "$0")/lib.sh"
CLIENTS=$ROOT/build/tests/rfclients   # tests/helpers/rfclients.c
HELLO=$ROOT/build/rfhello
RFD_BIN=$ROOT/build/tests/rfd-faults
need_helpers "$CLIENTS"
[ -x "$RFD_BIN" ] || fail "build/tests/rfd-faults is not built (make all)"
SLOW_MS=1500

trap stop_bg EXIT # background clients (BG, lib.sh)

pool() {
	rfm --json info | json "$@"
}

# Three chunks, each ready SLOW_MS after the worker starts on it.
RFD_FAULT=pool_slow:$SLOW_MS start_rfd --host-cores "" --mem 192M --chunk 64M

# A create that needs a chunk before the first is ready waits for it.
need_libos || exit 0
in_flight create "$T/create.out" $((SLOW_MS / 2)) create a --kind libos --cpus 1 --mem 64M -- "$HELLO"
wait_eq 15 "the pool to fill" 2 pool .pool.ready
expect_ok rfm create b --kind libos --cpus 0 --mem 64M -- "$HELLO"

# A channel's chunk is dropped when it closes and refilled slowly: the
# next channel waits for it.
expect_ok rfm chan create c1 --between a,b --slots 64
[ "$(pool .pool.ready)" = 0 ] || fail "the pool still has a chunk ready: $(rfm --json info)"
expect_ok rfm chan close c1
in_flight chan_create "$T/chan.out" $((SLOW_MS / 2)) chan create c2 --between a,b --slots 64
expect_ok rfm chan list
expect_output_contains c2

# A libos subOS's growth likewise.
expect_ok rfm chan close c2
in_flight "memory growth" "$T/grow.out" $((SLOW_MS / 2)) --json resize a --mem 128M
[ "$(json .mem .regions <"$T/grow.out" | tr '\n' ' ')" = "134217728 2 " ] ||
	{ cat "$T/grow.out"; fail "a did not grow to 128M"; }
expect_ok rfm destroy a
expect_ok rfm destroy b
