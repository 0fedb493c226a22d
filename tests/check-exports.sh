#!/usr/bin/env bash
# check-exports.sh - the libraries export only the documented public API.
#
# librf.a (one relocatable object, see the Makefile) and librfcom.so may
# make global only names that include/rf/ declares: rf_* and rfcom_*.
# Anything else global (an lrf_ internal, a base_ helper, an RFcom
# rfcom__ internal, an undocumented rf_ function) would clash with an
# application's own names or become API by accident, as happened once
# with rf_spawn.  Usage: check-exports.sh BUILD_DIR.  Prints one line per
# offending symbol; exit status 1 if there is any.
set -u
b=${1:-build}
bad=0

# declared NAME: is NAME a word in one of the public headers?
declared() { grep -qw -- "$1" include/rf/*.h; }

# check LABEL SYMBOLS...: every symbol must be public and declared.
check() {
	local label=$1 n=0 s
	shift
	for s in "$@"; do
		n=$((n + 1))
		case $s in
		rf_* | rfcom_[!_]*) declared "$s" && continue ;;
		esac
		echo "  $label exports $s, which include/rf/ does not declare"
		bad=1
	done
	if [ "$n" -eq 0 ]; then
		echo "  $label exports nothing (not built?)"
		bad=1
	fi
}

check librf.a $(nm -g --defined-only "$b/librf.a" | awk 'NF == 3 { print $3 }')
# The shared library's dynamic table (its version script's global list).
check librfcom.so $(nm -D --defined-only "$b/librfcom.so" | awk 'NF == 3 { print $3 }')

if [ "$bad" -ne 0 ]; then
	echo "FAIL check-exports"
	exit 1
fi
echo "PASS check-exports: librf.a and librfcom.so export only include/rf/ names"
