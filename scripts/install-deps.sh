#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Installs the Debian 12 packages allocscope needs and does not have yet.
#   install-deps.sh build   compiler, BPF toolchain, libraries
#   install-deps.sh test    build + the reference pprof reader and test allocators
#   install-deps.sh bench   test + the peer tracer and a real workload
# Does nothing (and needs no network) when everything is present.
set -e
what=${1:-build}

build="clang llvm libbpf-dev bpftool libelf-dev libdw-dev zlib1g-dev make gcc g++ libmicrohttpd-dev"
test="$build libclang-rt-14-dev golang-go libjemalloc2 libtcmalloc-minimal4 libmimalloc2.0 libunwind8 binutils systemd curl util-linux openssl procps"
bench="$test bpftrace redis-server redis-tools sqlite3 time"

case $what in
build) pkgs=$build ;;
test) pkgs=$test ;;
bench) pkgs=$bench ;;
*) echo "usage: $0 build|test|bench" >&2; exit 2 ;;
esac

missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
