#!/usr/bin/env bash
# 87-apply.sh - `rfm apply|diff|delete FILE`: a deployment declared in YAML.
#
#   - a file with a YAML error, and one with a schema error, are refused
#     naming the file and line, and start nothing;
#   - diff lists what apply would do and changes nothing;
#   - apply starts two linux subOSes in start order: "batch" (after: web,
#     rfloop: true, so LD_PRELOAD of the librfloop.so beside rfm)
#     is created only once "web" (a shell that waits a second, then a
#     Python HTTP server) accepts connections on its ready: port; then the
#     channel between them; then web's policy (batch: web is a linux
#     subOS, which has no latency signal for a latency policy);
#   - the same file again: "unchanged", table and journal untouched;
#   - an edited file (more memory, a channel removed and another added):
#     a resize and the channel changes, the programs keep their pids;
#   - an edited program: refused without --recreate (nothing changes),
#     re-created with it (batch's pid changes, web's does not, batch's
#     channel is made again);
#   - delete stops it all; again it has nothing to delete;
#   - a failure part-way (a program rfd cannot start; a ready: port that
#     never opens) undoes what that apply had created;
#   - a libos subOS (rfhello) grows from one core to two by an edited file,
#     keeping its pid.
#
# rfd runs with --host-cores "" so two subOSes fit a 2-core machine.
. "$(dirname "$0")/lib.sh"
need_helpers

start_rfd --host-cores ""

# expect_fail CMD...: CMD fails (exit status 1), its messages in $ERR.
expect_fail() {
	run "$@"
	[ "$STATUS" -eq 1 ] || { show_last; fail "'$*' exited with $STATUS, expected 1"; }
}
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# deployment FILE BATCH_MEM BATCH_ARG CHANNELS: the test's file, with
# batch's memory and sleep argument and the channels block as given.
deployment() {
	cat >"$1" <<EOF
# the test's deployment
deployment: apply-test
subos:
  batch:
    kind: linux
    cores: 1
    memory: $2
    program: [/bin/sleep, "$3"]
    rfloop: true
    after: [web]
  web:
    kind: linux
    cores: 1
    memory: 64M
    program: [/bin/sh, -c, "sleep 1; exec python3 -m http.server $PORT --bind 127.0.0.1"]
    env: {PYTHONUNBUFFERED: "1"}
    restart: on-failure
    ready: {tcp: $PORT, timeout_ms: 15000}
    policy: {priority: batch, min_cores: 1, max_cores: 2}
$4
EOF
}
CH='channels:
  ch: {kind: msg, between: [web, batch], slots: 64}'
SHM='channels:
  shm: {kind: map, between: [batch, web], size: 1M}'
A=$T/a.yaml B=$T/b.yaml C=$T/c.yaml
deployment "$A" 64M 1000 "$CH"
deployment "$B" 128M 1000 "$SHM"
deployment "$C" 128M 2000 "$SHM"

# --- invalid files start nothing, naming the line --------------------------------
printf 'subos:\n  web:\n    kind: [linux\n' >"$T/bad.yaml"
sed 's/^    memory: 64M$/    memroy: 64M/' "$A" >"$T/schema.yaml"
snapshot
expect_fail rfm apply "$T/bad.yaml"
grep -q "bad.yaml:4: " "$ERR" || { show_last; fail "a YAML error does not name its line"; }
expect_fail rfm apply "$T/schema.yaml"
line=$(grep -n memroy "$T/schema.yaml" | cut -d: -f1)
grep -q "schema.yaml:$line: subOS web: unknown key \"memroy\"" "$ERR" ||
	{ show_last; fail "a schema error does not name its line ($line)"; }
expect_fail rfm diff "$T/schema.yaml"
expect_unchanged "invalid files"

# --- diff, then apply: start order, ready port, channel, policy -----------------------
expect_ok rfm diff "$A"
expect_output_contains "create web: linux, 1 core, memory 64M, ready on tcp $PORT"
expect_output_contains "create batch: linux"
expect_output_contains "chan create ch: msg between web,batch, 64 slots"
expect_output_contains "policy web: priority batch, min_cores 1, max_cores 2"
[ "$(sed -n 1p "$OUT")" = "create web: linux, 1 core, memory 64M, ready on tcp $PORT: /bin/sh" ] ||
	{ show_last; fail "diff does not start web first"; }
expect_unchanged "diff"
expect_ok rfm apply "$A"
[ "$(subos web .policy.priority .policy.min_cores .policy.max_cores | tr '\n' ' ')" = "batch 1 2 " ] ||
	fail "apply did not set web's policy"
[ "$(subos web .state) $(subos batch .state)" = "running running" ] || fail "not both running"
ms() { date -d "$1" +%s%3N; }
gap=$(($(ms "$(subos batch .created)") - $(ms "$(subos web .created)")))
[ "$gap" -ge 900 ] || fail "batch was created ${gap} ms after web, before web's port opened"
[ "$(rfm --json chan list | json '.channels[].name' '.channels[].slots' | tr '\n' ' ')" = "ch 64 " ] ||
	fail "channel ch is not there with 64 slots"
[ "$(subos batch '.env[]')" = "LD_PRELOAD=$ROOT/build/librfloop.so" ] ||
	fail "rfloop: true did not preload librfloop.so beside rfm"
web_pid=$(subos web .pid) batch_pid=$(subos batch .pid)

# --- the same file again changes nothing ---------------------------------------------
snapshot
expect_ok rfm apply "$A"
[ "$(cat "$OUT")" = "apply-test: unchanged" ] || { show_last; fail "a second apply was not unchanged"; }
expect_unchanged "a second apply"
expect_ok rfm diff "$A"
expect_output_contains "apply-test: unchanged"

# --- an edit: resize and channels, the programs stay --------------------------------
snapshot
expect_ok rfm diff "$B"
expect_output_contains "resize batch: memory 64M -> 128M"
expect_output_contains "chan close ch (between web,batch; not in the file)"
expect_output_contains "chan create shm: map between batch,web, 1M"
expect_unchanged "diff of an edit"
expect_ok rfm apply "$B"
[ "$(subos batch .mem)" = $((128 << 20)) ] || fail "batch was not resized to 128M"
[ "$(subos web .pid) $(subos batch .pid)" = "$web_pid $batch_pid" ] || fail "an edit restarted a program"
[ "$(rfm --json chan list | json '.channels[].name' | tr '\n' ' ')" = "shm " ] ||
	fail "the channels are not what the edited file says"
[ "$(journal_count resize batch)" = 1 ] || fail "no resize of batch in the journal"

# --- a change rfd cannot make live -------------------------------------------------
snapshot
expect_fail rfm apply "$C"
grep -q "refuse batch: program changed" "$ERR" || { show_last; fail "the refusal does not say why"; }
grep -q "nothing applied" "$ERR" || { show_last; fail "the refusal does not say nothing was applied"; }
expect_unchanged "a refused apply"
expect_ok rfm apply --recreate "$C"
expect_output_contains "destroy batch (program changed)"
[ "$(subos web .pid)" = "$web_pid" ] || fail "re-creating batch restarted web"
[ "$(subos batch .pid)" != "$batch_pid" ] || fail "batch was not re-created"
[ "$(subos batch '.argv[1]')" = 2000 ] || fail "batch does not run the new program"
[ "$(rfm --json chan list | json '.channels[].name' | tr '\n' ' ')" = "shm " ] ||
	fail "batch's channel was not made again"

# --- delete ------------------------------------------------------------------------
expect_ok rfm delete "$C"
expect_output_contains "chan close shm"
[ "$(sed -n 2p "$OUT") $(sed -n 3p "$OUT")" = "destroy batch destroy web" ] ||
	{ show_last; fail "delete did not stop batch before web"; }
[ "$(rfm --json list | json '.subos#')" = 0 ] || fail "delete left subOSes"
[ "$(rfm --json chan list | json '.channels#')" = 0 ] || fail "delete left channels"
expect_ok rfm delete "$C"
expect_output_contains "apply-test: nothing to delete"

# --- a failure part-way is undone ----------------------------------------------------
cat >"$T/fail.yaml" <<EOF
subos:
  a: {kind: linux, cores: 1, memory: 64M, program: [/bin/sleep, "1000"]}
  b: {kind: linux, cores: 1, memory: 64M, program: [rf-no-such-program], after: [a]}
EOF
expect_fail rfm apply "$T/fail.yaml"
grep -q "create b: .* failed: " "$ERR" && grep -q "undone: create a" "$ERR" ||
	{ show_last; fail "a failed apply did not undo what it did"; }
[ "$(rfm --json list | json '.subos#')" = 0 ] || fail "a failed apply left subOSes"
cat >"$T/ready.yaml" <<EOF
subos:
  a: {kind: linux, cores: 1, memory: 64M, program: [/bin/sleep, "1000"], ready: {tcp: $PORT, timeout_ms: 300}}
EOF
expect_fail rfm apply "$T/ready.yaml"
grep -q "did not accept a connection on tcp port $PORT within 300 ms" "$ERR" ||
	{ show_last; fail "a ready: port that never opens is not reported"; }
[ "$(rfm --json list | json '.subos#')" = 0 ] || fail "a ready: timeout left its subOS"

# --- a libos subOS grows by an edited file ---------------------------------------------
if need_libos; then
	hello() {
		printf 'subos:\n  hello:\n    kind: libos\n    cores: %s\n    memory: 64M\n    program: %s\n' \
			"$2" "$ROOT/build/rfhello" >"$1"
	}
	hello "$T/h1.yaml" 1
	hello "$T/h2.yaml" 2
	expect_ok rfm apply "$T/h1.yaml"
	pid=$(subos hello .pid)
	expect_ok rfm apply "$T/h2.yaml"
	expect_output_contains "resize hello: cores 1 (cpus"
	[ "$(subos hello .ncores) $(subos hello .pid)" = "2 $pid" ] || fail "hello did not grow in place"
	expect_ok rfm delete "$T/h2.yaml"
fi
echo OK
