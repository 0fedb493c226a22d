#!/usr/bin/env bash
# 95-soak-quick.sh - the short soak (`rfbench soak --quick`, bench/soak.c):
# 100 create/destroy cycles, 1,000 resizes and 3 crashes of rfd at random
# journal points, after which rfd's descriptors and cgroups have not grown,
# its RSS grew less than 1 MiB, the journal stays compacted, a restart's
# replay costs at most twice a fresh start (the quickest of three each),
# and every crash was survived with a consistent table.  The long run is `make soak`.
. "$(dirname "$0")/lib.sh"
[ -x "$ROOT/build/tests/rfd-faults" ] || fail "build/tests/rfd-faults is not built (make all)"
need_libos || exit 0
run "$ROOT/build/rfbench" soak --quick --json --results "$T/results"
[ "$STATUS" -eq 0 ] || { show_last; fail "rfbench soak --quick failed"; }
cat "$OUT"
[ "$(json .targets_met <"$OUT")" = true ] || { show_last; fail "soak targets not met"; }
[ "$(json .faults_injected <"$OUT")" -eq 3 ] || fail "not 3 faults injected"
[ -s "$T/results/soak.csv" ] || fail "no raw samples in soak.csv"
echo "PASS"
