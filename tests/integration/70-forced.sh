#!/usr/bin/env bash
# 70-forced.sh - a libos subOS that never answers the handshake
# (tests/helpers/rfhog.c: a fiber spins on every core without ever
# returning to the librf scheduler).  Taking a core from it succeeds anyway
# once the deadline passed: the answer says "forced", the journal has a
# `force` record, and destroy still works (SIGKILL after the deadline).
#
# rfd runs with --host-cores "" so that the subOS can have both cores of a
# 2-core machine (the host shares them, with a busy neighbour), and with a
# 50 ms handshake deadline.
. "$(dirname "$0")/lib.sh"
need_helpers
need_libos || exit 0
HOG=$ROOT/build/tests/rfhog
[ -x "$HOG" ] || fail "$HOG is not built (make all)"

start_rfd --host-cores "" --deadline-ms 50

expect_ok rfm create hog --kind libos --cores 2 --mem 64M -- "$HOG" 2
pid=$(subos hog .pid)
[ "$(subos hog .cores)" = 0-1 ] || fail "hog's cores are $(subos hog .cores)"
wait_until 10 "hog to spin on both cores" grep -q "rfhog: hogging 2 cores" "$STATE/logs/hog.log"

# Take a core: refused by silence, forced after 50 ms.
t0=$(now_ms)
expect_ok rfm --json resize hog --cores -1
took=$(($(now_ms) - t0))
[ "$(json .forced .ncores <"$OUT" | tr '\n' ' ')" = "true 1 " ] || { show_last; fail "the resize was not forced"; }
left=$(json .cores <"$OUT")
waited=$(json .timing_us.cores <"$OUT")
[ "$waited" -ge 50000 ] || { show_last; fail "forced after ${waited}us, before the 50 ms deadline"; }
# "within about the deadline": generous bounds for a noisy VM whose two
# cores are both busy with the hog.
[ "$waited" -lt 1000000 ] || { show_last; fail "the mechanism took ${waited}us for a 50 ms deadline"; }
[ "$took" -lt 3000 ] || fail "rfm resize took ${took} ms for a 50 ms deadline"
[ "$(subos hog .state .cores | tr '\n' ' ')" = "running $left " ] || fail "hog after the forced resize"
[ "$(journal_count force hog)" -eq 1 ] || fail "no force record"
journal hog | grep '"op":"force"' | grep -q '"forced":true' || fail "the force record does not say forced"
journal hog | tail -n 1 | grep '"op":"resize"' | grep -q '"forced":true' || fail "the resize record does not say forced"
cg=$(subos hog .cgroup)
[ -z "$cg" ] || [ "$(cat "$cg/cpuset.cpus")" = "$left" ] || fail "hog's cpuset is $(cat "$cg/cpuset.cpus"), not $left"
expect_ok rfm show hog
expect_output_contains "hog"

# Destroy: the shutdown request goes unanswered, SIGKILL ends it.
t0=$(now_ms)
expect_ok rfm destroy hog
took=$(($(now_ms) - t0))
expect_output_contains "destroyed hog: killed"
[ "$took" -lt 5000 ] || fail "destroy took ${took} ms"
wait_until 5 "hog's program to go" eval "! alive $pid"
[ "$(journal_count destroy hog)" -eq 1 ] || fail "no destroy record"
