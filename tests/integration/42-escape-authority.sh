#!/usr/bin/env bash
# 42-escape-authority.sh - root inside a subOS is not root to rfd (issue 9,
# "Authority"; docs/rfm.md, "Who may do what").
#
# A `linux` subOS "evil" runs a shell script as root, with RF_SOCKET and
# rfm, and from inside tries everything a hostile program would through
# rfd: destroy the other subOS "victim" and itself, resize itself onto both
# cores, resize the other, create a subOS, create a channel, close its own
# channel and one it is not part of, show and log the other (and a name
# that does not exist: no probing), connect as another uid, send a forged
# SCM_CREDENTIALS, and signal rfd and the victim by their host pids.  Each
# must be refused; afterwards rfd and victim are alive and the table, the
# channels and the journal are as the host left them.  Also from inside: a
# nested PID namespace, and leaving its cgroups first (confinement should
# forbid both; either way rfd still knows the caller is evil).  A host
# process in another PID namespace counts as unknown, not as the host.  What it may do works
# and shows it alone: show, list, chan list, log, info without rfd's paths
# and pid.  A `libos` subOS (tests/helpers/rfattack) tries the same through
# raw requests when librf's programs are built.
#
# The socket: 0600 owned by rfd's user, so a host user that is not root
# cannot connect; with `--group nogroup` it is 0660 of that group, and
# nobody (whose group it is) connects and may read but not change; an
# unknown group stops rfd at start with a message.  The subOSes' socket
# (door/subos.sock in the state directory, 0666, bound at RF_SOCKET inside
# every subOS so that a program there reaches rfd whatever its uid): nobody
# inside evil reaches rfd through it and is refused as evil; a host user
# that is neither root nor rfd's user is turned away by rfd even when the
# state directory lets it reach the socket.
#
# rfd runs with --host-cores "" so two subOSes fit a 2-core machine: evil
# on core 0 (shared with the host), victim on core 1.  A third subOS "w"
# on core 0 exists first, long enough to be granted channel "vw" with
# victim, then its program is killed: vw stays (exited, not destroyed), a
# channel evil is not part of.
. "$(dirname "$0")/lib.sh"
need_helpers
RFATTACK=$ROOT/build/tests/rfattack

# nobody must reach rfm and the socket: $T is made traversable, and rfm is
# copied there if build/ is not reachable for nobody (as in 20-protocol-errors).
chmod o+x "$T"
nobody_rfm=$RFM_BIN
if ! setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$RFM_BIN" 2>/dev/null; then
	cp "$RFM_BIN" "$T/rfm-nobody"
	chmod 0755 "$T/rfm-nobody"
	nobody_rfm=$T/rfm-nobody
fi
as_nobody() { # as_nobody GID RFM-ARGS...
	local gid=$1
	shift
	setpriv --reuid=65534 --regid="$gid" --clear-groups "$nobody_rfm" --socket "$SOCK" "$@"
}

# The attack, run by bash as the subOS's program (pid 1 of its namespace).
# Each attempt prints "attack WHAT: rc=N <last line of stderr>".
ATTACK='
rfm=$1 me=$2 other=$3 rfd_pid=$4 other_pid=$5 nobody_rfm=$6
try() {
	local what=$1 err rc
	shift
	err=$("$@" 2>&1 >/dev/null) && rc=0 || rc=$?
	echo "attack $what: rc=$rc ${err##*$'"'"'\n'"'"'}"
}
for i in $(seq 200); do
	"$rfm" chan list 2>/dev/null | grep -q "^ours " && break
	sleep 0.05
done
try destroy-other "$rfm" destroy "$other"
try destroy-self "$rfm" destroy "$me"
try resize-self-cores "$rfm" resize "$me" --cpus 0-1
try resize-self-mem "$rfm" resize "$me" --mem 128M
try resize-other "$rfm" resize "$other" --cores 2
try create "$rfm" create new --kind linux --cpus 1 --mem 64M -- /bin/sleep 100
try chan-create "$rfm" chan create x --between "$me,$other"
try chan-close-own "$rfm" chan close ours
try chan-close-other "$rfm" chan close vw
try show-other "$rfm" show "$other"
try log-other "$rfm" log "$other"
try show-nope "$rfm" show nope
try nested-pidns unshare --pid --fork "$rfm" destroy "$other"
try cgroup-escape bash -c "for h in cpuset memory; do echo \$\$ >/sys/fs/cgroup/\$h/tasks; done \
	2>/dev/null; exec \"\$0\" destroy \"\$1\"" "$rfm" "$other"
try as-nobody setpriv --reuid=65534 --regid=65534 --clear-groups "$nobody_rfm" destroy "$other"
try forged-creds python3 -c "
import os, socket, struct, sys
s = socket.socket(socket.AF_UNIX)
s.connect(os.environ[\"RF_SOCKET\"])
req = b\"{\\\"version\\\":1,\\\"verb\\\":\\\"destroy\\\",\\\"name\\\":\\\"$other\\\"}\n\"
try:
    s.sendmsg([req], [(socket.SOL_SOCKET, socket.SCM_CREDENTIALS, struct.pack(\"iII\", 1, 0, 0))])
except OSError:
    s.sendall(req)
ans = s.recv(4096).decode()
sys.stderr.write(ans)
sys.exit(0 if \"permission_denied\" in ans else 1)"
try kill-rfd kill -TERM "$rfd_pid"
try kill-other kill -KILL "$other_pid"
try show-self "$rfm" show "$me"
echo "attack list: $("$rfm" list | awk "NR > 1 {print \$1}" | tr "\n" " ")"
echo "attack chan-list: $("$rfm" chan list | awk "NR > 1 {print \$1}" | tr "\n" " ")"
secret="\"\(pid\|state_dir\|socket\|free_cpus\|pool\|mem_free\)\":"
echo "attack info: $("$rfm" --json info | tr -d " " | grep -o "$secret" | tr "\n" " ")."
named="\"\(name\|chan\)\":\"[^\"]*\""
echo "attack log: $("$rfm" --json log | tr -d " " | grep -o "$named" | sort -u | tr "\n" " ")"
echo "attack done"
exec sleep 1000
'

# attacked WHAT PATTERN: evil's line for WHAT matches PATTERN (grep -E).
attacked() {
	local line
	line=$(grep "^attack $1: " "$STATE/logs/evil.log") || fail "no attempt $1 in evil's log"
	echo "$line" | grep -Eq -- "$2" || fail "attempt $1: '$line' does not match '$2'"
}

start_rfd --host-cores ""

# --- the socket is rfd's user's alone --------------------------------------------
[ "$(stat -c '%a %U' "$SOCK")" = "600 root" ] || fail "socket mode $(stat -c '%a %U' "$SOCK")"
run as_nobody 65534 list
[ "$STATUS" -eq 1 ] && grep -q "cannot connect.*Permission denied" "$ERR" ||
	{ show_last; fail "nobody connected to a 0600 socket"; }

# --- the subOSes' socket turns away the host's other users ----------------------------
DOOR=$STATE/door/subos.sock
[ "$(stat -c '%a %U' "$DOOR")" = "666 root" ] || fail "subOS socket mode $(stat -c '%a %U' "$DOOR")"
modes=$(stat -c '%a' "$STATE")
chmod o+x "$STATE"   # as if nobody were in its group (door/ is 0755)
run setpriv --reuid=65534 --regid=65534 --clear-groups "$nobody_rfm" --socket "$DOOR" list
chmod "$modes" "$STATE"
[ "$STATUS" -ne 0 ] && ! grep -q '^NAME' "$OUT" || { show_last; fail "nobody on the host got in"; }
grep -q 'refused uid 65534 on the host (pid [0-9]*) at the subOSes. socket' "$T/rfd.log" ||
	fail "rfd's log does not say it refused nobody at the subOSes' socket"

# A host process in a PID namespace that is no subOS's is not the host.
run unshare --pid --fork "$RFM_BIN" --socket "$SOCK" create x --kind linux --cpus 1 --mem 64M \
	-- /bin/true
[ "$STATUS" -eq 1 ] && grep -q "cannot place (its PID namespace.*(permission_denied)" "$ERR" ||
	{ show_last; fail "a caller in another PID namespace was not refused"; }

# --- victim, and a channel evil is not part of -----------------------------------
expect_ok rfm create victim --kind linux --cpus 1 --mem 64M -- /bin/sleep 1000
expect_ok rfm create w --kind linux --cpus 0 --mem 64M -- /bin/sleep 1000
expect_ok rfm chan create vw --between victim,w --slots 2
kill -KILL "$(subos w .pid)"
wait_eq 10 "w to exit" exited subos w .state
victim_pid=$(subos victim .pid)

# --- evil attacks from inside ------------------------------------------------------
expect_ok rfm create evil --kind linux --cpus 0 --mem 64M -- /bin/bash -c "$ATTACK" attack \
	"$RFM_BIN" evil victim "$RFD_PID" "$victim_pid" "$nobody_rfm"
expect_ok rfm chan create ours --between evil,victim --slots 2
snapshot
wait_until 60 "evil's attack" grep -q "^attack done" "$STATE/logs/evil.log"
sed 's/^/    /' "$STATE/logs/evil.log" >&2

for what in destroy-other destroy-self resize-self-cores resize-self-mem resize-other create \
	chan-create chan-close-own chan-close-other show-other log-other show-nope; do
	attacked "$what" 'rc=1 .*inside subOS "evil" may not .*\(permission_denied\)$'
done
attacked destroy-other 'may not destroy subOS "victim": from inside a subOS only show'
attacked show-nope 'may not show subOS "nope"'
attacked nested-pidns 'rc=1 .*(inside subOS "evil" may not destroy|unshare: )'
attacked cgroup-escape 'rc=1 .*inside subOS "evil" may not destroy'
attacked as-nobody 'rc=1 .*inside subOS "evil" may not destroy'
attacked forged-creds 'rc=0 .*permission_denied'
attacked kill-rfd 'rc=1 .*No such process'
attacked kill-other 'rc=1 .*No such process'
attacked show-self 'rc=0'
grep -qx "attack list: evil " "$STATE/logs/evil.log" || fail "evil's list shows more than evil"
grep -qx "attack chan-list: ours " "$STATE/logs/evil.log" ||
	fail "evil's chan list is not ours alone"
grep -qx "attack info: ." "$STATE/logs/evil.log" ||
	fail "evil's info shows rfd's paths, pid or usage"
grep -qx 'attack log: "chan":"ours" "name":"evil" ' "$STATE/logs/evil.log" ||
	fail "evil's log shows other subOSes' records"
grep -q 'destroy victim from pid [0-9]* inside subOS "evil": permission_denied' "$T/rfd.log" ||
	fail "rfd's log does not record the refusal"

# --- rfd, victim and the table are as the host left them ---------------------------
alive "$RFD_PID" || fail "rfd died"
alive "$victim_pid" || fail "victim's program died"
expect_unchanged "evil's attack"
[ "$(subos victim .state .cores .pid | tr '\n' ' ')" = "running 1 $victim_pid " ] ||
	fail "victim changed: $(rfm show victim)"
[ "$(subos evil .state .cores | tr '\n' ' ')" = "running 0 " ] || fail "evil changed"
[ "$(rfm --json chan list | json '.channels[].name' | sort | tr '\n' ' ')" = "ours vw " ] ||
	fail "the channels changed: $(rfm chan list)"

# --- the same from a libos subOS (raw requests through librf's process) ----------
if need_libos && [ -x "$RFATTACK" ]; then
	expect_ok rfm destroy evil
	create_req='{"version":1,"verb":"create","name":"n","kind":"linux","cores":1,'
	create_req+='"mem":67108864,"argv":["/bin/true"]}'
	expect_ok rfm create lib --kind libos --cpus 0 --mem 64M -- "$RFATTACK" \
		'{"version":1,"verb":"destroy","name":"victim"}' \
		'{"version":1,"verb":"resize","name":"lib","cores":"0-1"}' \
		"$create_req" \
		'{"version":1,"verb":"chan_close","name":"vw"}' \
		'{"version":1,"verb":"show","name":"victim"}' \
		'{"version":1,"verb":"list"}'
	wait_until 30 "lib's attack" grep -q "^rfattack: done" "$STATE/logs/lib.log"
	sed 's/^/    /' "$STATE/logs/lib.log" >&2
	[ "$(grep -c '^rfattack: .*"error":"permission_denied".*inside subOS \\"lib\\"' \
		"$STATE/logs/lib.log")" -eq 5 ] || fail "lib's attacks were not all refused"
	grep '^rfattack: .*"ok":true' "$STATE/logs/lib.log" | grep -q '"subos":\[{"name":"lib"' ||
		fail "lib's list shows more than lib"
	[ "$(subos victim .state .cores .pid | tr '\n' ' ')" = "running 1 $victim_pid " ] ||
		fail "victim changed after lib's attack"
	[ "$(journal_count destroy victim)" -eq 0 ] || fail "victim was destroyed"
else
	echo "note: librf's programs are not built: no libos attack" >&2
fi

# --- a group may connect, to read -------------------------------------------------
destroy_all
stop_rfd
start_rfd --host-cores "" --group nogroup
[ "$(stat -c '%a %U %G' "$SOCK")" = "660 root nogroup" ] ||
	fail "socket with --group: $(stat -c '%a %U %G' "$SOCK")"
expect_ok as_nobody 65534 list
expect_ok as_nobody 65534 info
expect_refused permission_denied as_nobody 65534 create x --kind linux --cpus 1 --mem 64M \
	-- /bin/true
expect_output_contains "uid 65534 on the host"
run as_nobody 1 list   # group daemon: not the socket's
[ "$STATUS" -eq 1 ] && grep -q "Permission denied" "$ERR" ||
	{ show_last; fail "a user outside the group connected"; }

# --- an unknown group is an error at start -----------------------------------------
run "$RFD_BIN" --state-dir "$T/other" --socket "$T/other.sock" --foreground --group no-such-group-rf
[ "$STATUS" -eq 2 ] && grep -q "group no-such-group-rf: no such group" "$ERR" ||
	{ show_last; fail "rfd started with an unknown group"; }
[ ! -e "$T/other.sock" ] || fail "rfd with an unknown group made its socket"
