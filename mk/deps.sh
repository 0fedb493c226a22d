#!/usr/bin/env bash
# Installs the Debian packages RainForest builds and tests with, only those
# missing, so that `make demo`, `make test` and `make fuzz` work on a fresh
# Debian 12.
set -euo pipefail
pkgs=(build-essential pkg-config libhwloc-dev liburing-dev libjson-c-dev
      libcmocka-dev libseccomp-dev libyaml-dev gnuplot-nox
      linux-perf strace                       # rfbench syscalls: perf, else strace
      memcached libmemcached-tools python3    # unmodified programs for the RFloop test
      prometheus curl                         # 45-monitor: Prometheus scrapes rfd --metrics
      nginx wrk)   # make demo: Debian's nginx (its memcached module is built in; the
                   # nginx-light flavour lacks it) serves pages from rfkv; wrk loads it
# `mk/deps.sh fuzz` (make fuzz): also clang and its libFuzzer runtime.
[ "${1:-}" = fuzz ] && pkgs+=(clang libclang-rt-14-dev)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]} (run as root to install them)" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
