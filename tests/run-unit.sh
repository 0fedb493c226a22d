#!/usr/bin/env bash
# run-unit.sh - run the unit test binaries given as arguments and count
# their individual cmocka tests.
#
# Each binary runs with cmocka's TAP output (CMOCKA_MESSAGE_OUTPUT=TAP), so
# every test's outcome can be read line by line.  A test the plan announces
# but that never reports (the binary crashed) counts as failed, and so does
# a binary that exits non-zero after all its tests passed (a sanitizer leak
# report at exit, for instance): it is reported as "<binary>: exit status".
# A binary that is not cmocka at all counts as one test.  The output of a
# binary with any failure is printed in full, indented.
#
# Last line: "N passed, N failed".  Exit status 1 if anything failed.
set -u

passed=0
failed=0
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }

# run_one BINARY: run it, report each test, return 1 if anything failed.
run_one() {
	local bin=$1 name plan=0 seen=0 bad=0 rc
	name=$(basename "$bin")
	if [ ! -x "$bin" ]; then
		fail "$name: not built"
		return 1
	fi
	CMOCKA_MESSAGE_OUTPUT=TAP timeout 300 "$bin" >"$tmp" 2>&1
	rc=$?
	while IFS= read -r line; do
		case "$line" in
		1..*) plan=${line#1..} ;;
		"ok "*) pass "$name:${line#* - }"; seen=$((seen + 1)) ;;
		"not ok "*) fail "$name:${line#* - }"; seen=$((seen + 1)); bad=1 ;;
		esac
	done <"$tmp"
	if [ "$seen" -lt "$plan" ]; then
		for ((i = seen; i < plan; i++)); do fail "$name: test $((i + 1)) never reported"; done
		bad=1
	fi
	if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
		if [ "$plan" -eq 0 ] && [ "$seen" -eq 0 ]; then fail "$name"; else fail "$name: exit status $rc"; fi
		bad=1
	elif [ "$rc" -eq 0 ] && [ "$plan" -eq 0 ] && [ "$seen" -eq 0 ]; then
		pass "$name"
	fi
	if [ "$bad" -ne 0 ]; then
		echo "---- output of $name (exit status $rc) ----"
		sed 's/^/    /' "$tmp"
		echo "----"
		return 1
	fi
	return 0
}

for bin in "$@"; do
	run_one "$bin"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
