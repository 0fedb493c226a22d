#!/usr/bin/env bash
# 30-libos.sh - a `libos` subOS (build/rfhello, linked with librf) through
# its life: create (the answer comes once librf runs the application; its
# core reports "running"), memory resized up and down (regions handed over
# and returned, journalled), cores resized +1 and -1 (the handshake, not
# forced), destroy (asked to exit, it exits by itself); a program that
# exits by itself (exit code and an `exit` record); and the libos programs
# that cannot start: one not linked with librf and one that does not exist,
# each refused with spawn_failed and leaving table and journal unchanged.
#
# rfd runs with --host-cores "": the host shares core 0 with the subOS when
# it grows to two cores (a 2-core machine has no other way to show it).
# The subOS starts on core 1 only.  A long handshake deadline makes the
# graceful paths deterministic on a noisy VM (70-forced.sh tests forcing).
. "$(dirname "$0")/lib.sh"
need_helpers
need_libos || exit 0
HELLO=$ROOT/build/rfhello

start_rfd --host-cores "" --deadline-ms 2000

free_state() {
	rfm --json info | json .free_cpus .mem_free .pool.owned | tr '\n' ' '
}
free0=$(free_state)

# --- programs that cannot start ------------------------------------------------
expect_refused spawn_failed rfm create bad --kind libos --cpus 1 --mem 64M -- /bin/true
expect_output_contains "exited before librf attached"
expect_refused spawn_failed rfm create bad --kind libos --cpus 1 --mem 64M -- /nonexistent/rfhello
expect_output_contains "/nonexistent/rfhello"
expect_refused mem_unavailable rfm create bad --kind libos --cpus 1 --mem 2G -- "$HELLO"
[ "$(free_state)" = "$free0" ] || fail "refused creates kept cores or memory: $(free_state) vs $free0"
! ls -d /sys/fs/cgroup/*/rf.*/bad 2>/dev/null || fail "a refused create left a cgroup"

# --- create --------------------------------------------------------------------
expect_ok rfm create hello --kind libos --cpus 1 --mem 64M -- "$HELLO"
expect_output_contains "created hello: libos"
pid=$(subos hello .pid)
[ "$(subos hello .state .kind .cores .mem .regions | tr '\n' ' ')" = "running libos 1 67108864 1 " ] ||
	fail "hello is not as created: $(rfm --json show hello)"
wait_eq 5 "hello's core 1 to run" "1 running" subos hello '.cores_detail[0].cpu' '.cores_detail[0].state'
wait_until 5 "hello's first line" grep -q "rfhello: name=hello" "$STATE/logs/hello.log"
grep -q "cpus=1 " "$STATE/logs/hello.log" || fail "hello does not run on cpu 1: $(cat "$STATE/logs/hello.log")"
expect_ok rfm show hello
expect_output_contains "running"
[ "$(journal_count create hello)" -eq 1 ] || fail "no create record"

# --- memory --------------------------------------------------------------------
expect_ok rfm --json resize hello --mem 192M
[ "$(json .mem .regions .forced <"$OUT" | tr '\n' ' ')" = "201326592 3 false " ] ||
	{ show_last; fail "growing to 192M"; }
[ "$(subos hello .mem .regions | tr '\n' ' ')" = "201326592 3 " ] || fail "show after growing"
journal hello | tail -n 1 | grep '"op":"resize"' | grep -q '"mem":201326592' ||
	fail "no resize record for 192M"
expect_refused mem_unavailable rfm resize hello --mem 2G
expect_ok rfm --json resize hello --mem 64M
[ "$(json .mem .regions <"$OUT" | tr '\n' ' ')" = "67108864 1 " ] || { show_last; fail "shrinking to 64M"; }
[ "$(subos hello .mem .regions | tr '\n' ' ')" = "67108864 1 " ] || fail "show after shrinking"
journal hello | tail -n 1 | grep '"op":"resize"' | grep -q '"mem":67108864' ||
	fail "no resize record for 64M"
[ "$(journal_count resize hello)" -eq 2 ] || fail "expected 2 resize records"
[ "$(rfm --json info | json .mem_free)" = $(($(echo "$free0" | awk '{print $2}') - (64 << 20))) ] ||
	fail "memory not back in the pool after shrinking: $(rfm --json info | json .mem_free)"
alive "$pid" || fail "hello died resizing its memory"

# --- cores (core 0 is rfd's to give: --host-cores "") --------------------------
expect_ok rfm --json resize hello --cores +1
[ "$(json .cores .ncores .forced <"$OUT" | tr '\n' ' ')" = "0-1 2 false " ] ||
	{ show_last; fail "growing to 2 cores"; }
wait_eq 5 "both of hello's cores to run" "running running" subos hello '.cores_detail[].state'
journal hello | tail -n 1 | grep '"op":"resize"' | grep -q '"cores":"0-1"' || fail "no resize record for 0-1"
expect_ok rfm --json resize hello --cores -1
left=$(json .cores <"$OUT")
[ "$left" = 0 ] || [ "$left" = 1 ] || { show_last; fail "hello kept $left after --cores -1"; }
[ "$(json .ncores .forced <"$OUT" | tr '\n' ' ')" = "1 false " ] || { show_last; fail "shrinking to 1 core"; }
[ "$(subos hello '.cores_detail#' '.cores_detail[0].state' | tr '\n' ' ')" = "1 running " ] ||
	fail "cores_detail after shrinking: $(rfm --json show hello)"
journal hello | tail -n 1 | grep -q "\"cores\":\"$left\"" || fail "no resize record for $left"
[ "$(journal_count force hello)" -eq 0 ] || fail "a core was forced"
expect_refused bad_request rfm resize hello --cores -1
alive "$pid" || fail "hello died resizing its cores"

# --- destroy: asked to exit, it does -------------------------------------------
expect_ok rfm destroy hello
expect_output_contains "destroyed hello: exited"
wait_until 5 "hello's program to go" eval "! alive $pid"
grep -q "rfhello: shutting down" "$STATE/logs/hello.log" || fail "hello's shutdown hook did not run"
[ "$(journal_count destroy hello)" -eq 1 ] || fail "no destroy record"
[ "$(free_state)" = "$free0" ] || fail "cores or memory not returned: $(free_state) vs $free0"

# --- a program that exits by itself ----------------------------------------------
expect_ok rfm create quick --kind libos --cpus 1 --mem 64M -- "$HELLO" --exit-after 100 --exit-code 3
wait_eq 10 "quick to exit" exited subos quick .state
[ "$(subos quick .exit_code .pid | tr '\n' ' ')" = "3 0 " ] || fail "quick: $(rfm --json show quick)"
[ "$(journal_count exit quick)" -eq 1 ] || fail "no exit record for quick"
journal quick | grep '"op":"exit"' | grep -q '"exit_code":3' || fail "quick's exit record lacks the code"
expect_ok rfm list
expect_output_contains "exited(3)"
[ "$(free_state)" = "$free0" ] || fail "quick's cores or memory not freed: $(free_state) vs $free0"
expect_refused not_running rfm resize quick --mem 128M
expect_ok rfm destroy quick
expect_output_contains "destroyed quick"
