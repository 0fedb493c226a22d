#!/usr/bin/env bash
# 43-escape-memory.sh - memory has one owner, tried from inside a libos
# subOS (tests/helpers/rfescape.c) as root:
#
#   - subOS a keeps dup()s and mappings of its region fds and of its
#     description and status pages, tries to map the description page
#     writable (mmap shared, mprotect of its own and of librf's mapping, a
#     read-write reopen through /proc/self/fd, pwrite, ftruncate, a seal),
#     to grow, shrink or write-seal its region fds (each must be refused),
#     and writes lies into its status page: every region "returned", absurd
#     counters.  rfd's accounting is its own: `rfm show`/`info` unchanged.
#   - a is shrunk from the host (192M -> 64M); the shrink completes; then b
#     is created on the same chunk ids and fills its memory with a pattern.
#     a reads what it kept of the two returned regions: the memfds hold no
#     memory (rfd punched them out) and read zeros (or SIGBUS), never b's
#     pattern; b's region memfds are new ones.
#   - the pool refills in the background: `rfm info` shows every chunk not
#     owned ready again, the refill count and a refill rate.
#   - a channel between a and b takes a pool chunk and charges half of it to
#     each (`chan_mem` in `rfm show`, less `mem_free`); one that either side
#     has no room for is refused with mem_unavailable; closing it gives the
#     charge back.
#   - rfd killed and restarted adopts the chunks each subOS holds after the
#     resizes (not those it was created with), takes their memfds back from
#     the subOSes (a chunk b returns then is punched out and dropped as
#     before) and can still write a's sealed description page (a hears the
#     shutdown request).
#
# All of it twice: with the pool in huge pages where the host can reserve
# them (--hugepages auto), then in plain pages, where a also writes into
# what it kept and its own memory cgroup pays for the fresh pages.
#
# rfd runs with --host-cores "": the two subOSes need both cores of a
# 2-core machine (a on 1, b on 0); --mem 384M (six 64M chunks) so that the
# channels run out of room.
. "$(dirname "$0")/lib.sh"
need_helpers
need_libos || exit 0
ESC=$ROOT/build/tests/rfescape
need_helpers "$ESC"

pool() {
	rfm --json info | json "$@"
}
# every chunk that is not owned is ready again (the worker refilled it)
pool_settled() {
	local p
	p=$(pool .pool.chunks .pool.owned .pool.ready | tr '\n' ' ')
	set -- $p
	[ $(($1 - $2)) -eq "$3" ]
}

# One round with rfd's pool in huge pages where the host has them (auto),
# one with plain pages (off), where a's refault is charged to its cgroup.
# spare_hugepages N: N huge pages reserved for this test beyond what rfd
# reserves (0: give back what this test added).
SPARE=0
spare_hugepages() {
	local nr=/proc/sys/vm/nr_hugepages
	echo $(($(cat $nr) - SPARE + $1)) >$nr
	SPARE=$1
}
trap 'spare_hugepages 0; cleanup' EXIT

round() {
	local huge=$1
	DIR=$T/escape.$huge
	mkdir -p "$DIR"
	LOG_A=$STATE/logs/a.log
	# With huge pages, a's reads of what it kept fault fresh huge pages in
	# from the host's pool, outside rfd's reservation: leave it some spare
	# (given back by spare_hugepages 0 below, or by the cleanup).
	[ "$huge" = off ] || spare_hugepages 128
	start_rfd --host-cores "" --deadline-ms 2000 --mem 384M --hugepages "$huge"

	wait_until 10 "the pool to fill" pool_settled
	expect_ok rfm create a --kind libos --cpus 1 --mem 192M -- "$ESC" keeper "$DIR"
	wait_until 10 "a to attack and lie" test -e "$DIR/lied"

	# --- attacks from inside: every one refused --------------------------------------
	! grep -q "SUCCEEDED" "$LOG_A" || fail "an attack from inside succeeded: $(grep SUCCEEDED "$LOG_A")"
	n=$(grep -c "attack .*: refused" "$LOG_A" || true)
	[ "$n" -eq $((7 + 3 * 5)) ] || fail "expected 22 refused attacks, saw $n"
	for a in desc-mmap-write-shared desc-mprotect-write desc-librf-mapping-mprotect-write \
		desc-reopen-rdwr-mmap-write; do
		grep -q "attack $a: refused (\(Operation not permitted\|Permission denied\))" "$LOG_A" ||
			fail "$a not refused with EPERM/EACCES"
	done
	grep -q "attack region0-write-seal: refused" "$LOG_A" || fail "a could seal its region"

	# --- lies in the status page change nothing rfd reports ---------------------------
	[ "$(subos a .mem .regions | tr '\n' ' ')" = "201326592 3 " ] ||
		fail "rfd believed a's status page: $(rfm --json show a)"
	free_before=$(pool .mem_free)

	# --- shrink: rfd takes the memory back by its own action -------------------------
	expect_ok rfm --json resize a --mem 64M
	[ "$(json .mem .regions <"$OUT" | tr '\n' ' ')" = "67108864 1 " ] ||
		{ show_last; fail "shrinking a"; }
	[ "$(pool .mem_free)" -eq $((free_before + (128 << 20))) ] || fail "mem_free after the shrink"
	a_chunks=$(journal a | grep '"op":"create"' | json .chunks)
	mcg=$(subos a .cgroup)
	mcg=${mcg/\/cpuset\//\/memory\/}
	usage=$mcg/memory.usage_in_bytes
	[ -e "$usage" ] || usage=$mcg/memory.current
	before=$(cat "$usage" 2>/dev/null || echo 0)
	wait_until 10 "the pool to refill after the shrink" pool_settled
	[ "$(pool .pool.retired)" -ge 2 ] || fail "the returned chunks were not retired: $(pool .pool)"

	# --- b takes the same chunk ids and writes its pattern ----------------------------
	expect_ok rfm create b --kind libos --cpus 0 --mem 128M -- "$ESC" victim "$DIR"
	b_chunks=$(journal b | grep '"op":"create"' | json .chunks)
	echo "a's chunks $a_chunks (kept the first), b's chunks $b_chunks" >&2
	# the pool hands out the lowest ready ids: the ones a returned, as
	# fresh memfds
	[ "$a_chunks $b_chunks" = "[0,1,2] [1,2]" ] || fail "b did not get a's returned chunk ids"
	wait_until 20 "b to write its pattern" test -e "$DIR/b-written"
	wait_until 20 "a to read what it kept" test -e "$DIR/a-checked"
	cat "$LOG_A" >&2
	! grep -q "LEAK" "$LOG_A" || fail "a read b's data: $(grep LEAK "$LOG_A")"
	[ "$(grep -c "kept region .*: returned" "$LOG_A")" -eq 2 ] ||
		fail "a did not check 2 returned regions"
	clean="returned, blocks 0, fd reads zeros, mapping reads \(zeros\|sigbus\)"
	[ "$(grep -c "$clean" "$LOG_A")" -eq 2 ] ||
		fail "a returned region still held memory or data: $(grep 'kept region' "$LOG_A")"
	[ "$(subos a .mem .regions | tr '\n' ' ')" = "67108864 1 " ] || fail "a after the attack"
	if [ "$huge" = off ]; then
		# a touches what it kept (its reads above, its writes now): fresh
		# pages, charged to a's memory cgroup since the shrink (with huge
		# pages they come from the host's huge page pool instead)
		touch "$DIR/go-refault"
		wait_until 20 "a to refault what it kept" test -e "$DIR/a-refaulted"
		grep -q "refaulted 128 MiB" "$LOG_A" || fail "a did not refault: $(tail -n 1 "$LOG_A")"
		[ $(($(cat "$usage") - before)) -ge $((120 << 20)) ] ||
			fail "a's cgroup was not charged for the refault: $before -> $(cat "$usage")"
	fi
	alive "$(subos a .pid)" || fail "a died"
	alive "$(subos b .pid)" || fail "b died"

	# --- the pool reports its readiness and refill rate -------------------------------
	expect_ok rfm info
	expect_output_contains "refilling"
	expect_output_contains "MiB/s"
	rate=$(pool .pool.refill_mib_s)
	echo "pool refill rate: $rate MiB/s, $(pool .pool.refills) refills" >&2
	[ "$rate" -gt 0 ] || fail "no refill rate: $(pool .pool)"

	# --- channel memory: from the pool, charged half to each side ---------------------
	free0=$(pool .mem_free)
	owned0=$(pool .pool.owned)
	expect_ok rfm chan create ab --between a,b --kind map --size 10000
	[ "$(subos a .chan_mem)" -eq $((32 << 20)) ] || fail "a's channel charge: $(subos a .chan_mem)"
	[ "$(subos b .chan_mem)" -eq $((32 << 20)) ] || fail "b's channel charge: $(subos b .chan_mem)"
	[ "$(pool .mem_free)" -eq $((free0 - (64 << 20))) ] || fail "mem_free after the channel"
	[ "$(pool .pool.owned)" -eq $((owned0 + 1)) ] || fail "the channel took no pool chunk"
	expect_ok rfm show a
	expect_output_contains "32M of memory charged"
	expect_ok rfm resize b --mem 256M # the rest of the managed memory
	expect_refused mem_unavailable rfm chan create ab2 --between a,b --kind map --size 10000
	expect_output_contains "no room to charge"
	expect_ok rfm chan close ab
	[ "$(subos a .chan_mem) $(subos b .chan_mem)" = "0 0" ] || fail "the channel charge stayed"
	[ "$(pool .mem_free)" -eq $((free0 - (128 << 20))) ] || fail "mem_free after closing the channel"

	# --- rfd dies: the restarted one adopts the chunks the subOSes hold now -------------
	owned=$(pool .pool.owned)
	kill_rfd_hard
	start_rfd --host-cores "" --deadline-ms 2000 --mem 384M --hugepages "$huge"
	[ "$(subos a .mem .regions | tr '\n' ' ')" = "67108864 1 " ] ||
		fail "a adopted as $(rfm --json show a)"
	[ "$(subos b .mem .regions | tr '\n' ' ')" = "268435456 4 " ] ||
		fail "b adopted as $(rfm --json show b)"
	[ "$(pool .pool.owned)" -eq "$owned" ] || fail "adopted chunks: $(pool .pool), $owned owned before"
	# b's region memfds were found again: the chunks it returns are punched
	# out and dropped by this rfd as well
	! grep -q "found again" "$T/rfd.log" ||
		fail "rfd did not find every region: $(grep 'found again' "$T/rfd.log")"
	expect_ok rfm resize b --mem 128M
	wait_until 10 "the pool to refill after b's shrink" pool_settled
	[ "$(pool .pool.retired)" -eq 2 ] || fail "b's returned chunks were not dropped: $(pool .pool)"
	# the description page is still sealed, and the new rfd still writes it
	# (through the shim's mapping): a hears the shutdown request
	expect_ok rfm destroy a
	expect_output_contains "destroyed a: exited"
	expect_ok rfm destroy b
	wait_until 10 "the pool to settle" pool_settled
	[ "$(pool .pool.owned)" -eq 0 ] || fail "chunks still owned: $(pool .pool)"
	stop_rfd
	spare_hugepages 0
	rm -rf "$STATE"
}

round auto
round off
