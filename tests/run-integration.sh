#!/usr/bin/env bash
# run-integration.sh - run every tests/integration/*.sh (but lib.sh, which
# they source) in name order, each in a fresh temporary directory given as
# $RF_TEST_DIR, with a time limit ($RF_TEST_TIMEOUT seconds, default 300).
#
# Prints PASS or FAIL per script, with the script's output when it failed,
# then exactly one line "N passed, N failed".  Exit status 1 if any failed;
# 0 with "0 passed, 0 failed" when there are no scripts.
set -u

cd "$(dirname "$0")/.." || exit 1
limit=${RF_TEST_TIMEOUT:-300}
passed=0
failed=0

shopt -s nullglob
scripts=()
for s in tests/integration/*.sh; do
	[ "$(basename "$s")" = lib.sh ] || scripts+=("$s")
done

for s in "${scripts[@]}"; do
	name=$(basename "$s" .sh)
	dir=$(mktemp -d "/tmp/rfit.$name.XXXXXX")
	log=$(mktemp "/tmp/rfit.$name.log.XXXXXX")
	start=$(date +%s.%N)
	RF_TEST_DIR=$dir timeout -k 10 "$limit" bash "$s" >"$log" 2>&1
	rc=$?
	secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	if [ "$rc" -eq 0 ]; then
		echo "PASS $name (${secs}s)"
		passed=$((passed + 1))
	else
		[ "$rc" -eq 124 ] && why="timed out after ${limit}s" || why="exit status $rc"
		echo "FAIL $name ($why, ${secs}s)"
		sed 's/^/    /' "$log"
		failed=$((failed + 1))
	fi
	rm -rf "$dir" "$log"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
