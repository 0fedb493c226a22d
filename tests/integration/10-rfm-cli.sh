#!/usr/bin/env bash
# 10-rfm-cli.sh - rfm against a private rfd: usage errors, every verb's
# success path with a `linux` subOS (/bin/sleep), and the error codes of
# docs/protocol.md as rfm reports them (stderr "rfm: MESSAGE (CODE)",
# exit status 1).  Works on a 2-core machine: the subOS takes one core.
. "$(dirname "$0")/lib.sh"

# --- usage errors and help need no rfd -------------------------------------
expect_usage rfm
expect_output_contains "rfm: missing verb"
expect_usage rfm bogus
expect_output_contains "Try 'rfm --help'"
expect_usage rfm create kv --kind linux --cores 1 --mem 12Q -- /bin/true
expect_output_contains 'rfm: --mem: "12Q" is not a size'
expect_usage rfm resize kv
expect_usage rfm show
expect_ok rfm --help
expect_output_contains "Usage: rfm"
expect_ok rfm create --help
expect_output_contains "cpu:LIST"
expect_ok rfm version --client
expect_output_contains "rfm "

# --- no rfd yet ------------------------------------------------------------
run rfm list
[ "$STATUS" -eq 1 ] || fail "rfm list without rfd exited with $STATUS"
expect_output_contains "cannot connect to rfd at $SOCK"

start_rfd

# --- the machine -----------------------------------------------------------
expect_ok rfm info
expect_output_contains "Free cpus"
expect_ok rfm --json info
expect_output_contains '"rfd_version"'
expect_ok rfm version
expect_output_contains "rfd "
expect_ok rfm list
expect_output_contains "NAME"

# --- refused requests change nothing ---------------------------------------
expect_ok rfm log
before=$(wc -l <"$OUT")
expect_fail_with spawn_failed rfm create bad --kind linux --cores 1 --mem 64M -- /nonexistent/prog
expect_fail_with mem_unavailable rfm create big --kind linux --cores 1 --mem 1T -- /bin/sleep 1000
expect_fail_with unknown_core rfm create far --kind linux --cpus 1000 --mem 64M -- /bin/sleep 1000
expect_fail_with no_such_subos rfm show nope
expect_fail_with no_such_subos rfm destroy nope
expect_fail_with no_such_subos rfm resize nope --cores 1
expect_ok rfm log
[ "$(wc -l <"$OUT")" -eq "$before" ] || fail "a refused request changed the journal"
expect_ok rfm list
expect_output_not_contains "bad"

# --- a subOS's life ---------------------------------------------------------
expect_ok rfm create web --kind linux --cores 1 --mem 64M --env RF_TEST=1 -- /bin/sleep 1000
expect_output_contains "created web"
expect_fail_with name_exists rfm create web --kind linux --cores 1 --mem 64M -- /bin/sleep 1000
expect_ok rfm list
expect_output_contains "web"
expect_output_contains "/bin/sleep 1000"
expect_ok rfm show web
expect_output_contains "Kind:"
expect_output_contains "linux"
expect_ok rfm show web --json
expect_output_contains '"name": "web"'
expect_ok rfm --json list
expect_output_contains '"subos"'

run rfm --json info
if grep -q '"free_cpus": ""' "$OUT"; then # every managed core is taken now
	expect_fail_with cores_busy rfm create more --kind linux --cores 1 --mem 64M -- /bin/sleep 1
	expect_fail_with cores_busy rfm resize web --cores +1
fi

expect_ok rfm log web
expect_output_contains "create"
expect_ok rfm destroy web
expect_output_contains "destroyed web"
expect_ok rfm list
expect_output_not_contains "web"
expect_ok rfm log
expect_output_contains "destroy"
