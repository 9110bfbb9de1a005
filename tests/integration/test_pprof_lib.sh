#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# test_pprof_lib.sh - tests/lib/pprof.sh on profiles whose content we know: the unit test's
# heap-shaped sample (build/tests/test_pprof --write) and a small profile encoded by hand.
set -u
cd "$(dirname "$0")/../.."
OUTPUT=${OUTPUT:-build}
SUITE=pprof_lib
. tests/lib/lib.sh

TMP=$(mktemp -d "$TMPROOT/pprof_lib.XXXXXX") || exit 1
at_exit 'pprof_cleanup; rm -rf "$TMP"'
TAB=$'\t'
SP=" "

CASES="samples header clean hand_samples hand_header unclean_warning unclean_corrupt"

skip_all() {
	local c
	for c in $CASES; do echo "SKIP pprof_lib/$c: $1"; done
	exit 0
}

# check CASE EXPECTED ACTUAL
check() {
	if [ "$2" == "$3" ]; then
		echo "PASS pprof_lib/$1"
	else
		echo "    expected:"; printf '%s\n' "$2" | sed 's/^/      /'
		echo "    got:"; printf '%s\n' "$3" | sed 's/^/      /'
		echo "FAIL pprof_lib/$1"
	fi
}

command -v go > /dev/null || skip_all "go is not installed"
[ -x "$OUTPUT/tests/test_pprof" ] || skip_all "$OUTPUT/tests/test_pprof is not built"

heap=$TMP/heap.pb.gz
"$OUTPUT/tests/test_pprof" --write "$heap" || skip_all "test_pprof --write failed"

wrap="malloc;inline_helper;alloc_wrapper;main"
cxx="std::vector<int, std::allocator<int> >::push_back(int const&)"
check samples "\
10 10240 2 2048${TAB}bytes=1024,comm=app${TAB}$wrap
5 2560 5 2560${TAB}bytes=512${TAB}malloc;$cxx;main
1 64 0 0${TAB}${TAB}0x7f0000099999;main
3 3072 3 3072${TAB}alignment=16 bytes,bytes=1024,comm=app,thread=worker 1${TAB}$wrap" \
	"$(pprof_samples "$heap")"

check header "\
comment=allocscope test profile
comment=second comment
period_type=space/bytes
period=524288
time=2023-11-14 22:13:20.123456789 +0000 UTC
sample_types=alloc_objects/count,alloc_space/bytes,inuse_objects/count,inuse_space/bytes
default_sample_type=alloc_space
mapping=0x400000/0x500000/0x0 /usr/bin/app deadbeefcafe [FN][FL][LN][IN]
mapping=0x7f0000000000/0x7f0000200000/0x28000 /usr/lib/x86_64-linux-gnu/libc.so.6 0123abcd [FN]
samples=4
duration_set=0
duration=
time_nanos=1700000000123456789" \
	"$(pprof_header "$heap")"

check clean "0:" "$(pprof_check_clean "$heap" 2>&1; echo "$?:")"

# An uncompressed profile (pprof takes those too): sample type t/u, two identical samples of 5
# at one unsymbolized location in a mapping of a file that does not exist, time_nanos 1.
hand=$TMP/hand.pb
printf '%b' \
	'\x0a\x04\x08\x01\x10\x02' \
	'\x12\x06\x0a\x01\x01\x12\x01\x05' \
	'\x12\x06\x0a\x01\x01\x12\x01\x05' \
	'\x1a\x0a\x08\x01\x10\x80\x20\x18\x80\x40\x28\x03' \
	'\x22\x07\x08\x01\x10\x01\x18\xb4\x24' \
	'\x32\x00' '\x32\x01t' '\x32\x01u' '\x32\x10/nonexistent/bin' \
	'\x48\x01' > "$hand"

# pprof merges samples with the same stack and labels
check hand_samples "10${TAB}${TAB}0x1234" "$(pprof_samples "$hand" 2>/dev/null)"

# no build id and no flags: the mapping line ends in two spaces
check hand_header "\
period_type=
period=0
time=1970-01-01 00:00:00.000000001 +0000 UTC
sample_types=t/u
default_sample_type=
mapping=0x1000/0x2000/0x0 /nonexistent/bin${SP}${SP}
samples=1
duration_set=0
duration=
time_nanos=1" \
	"$(pprof_header "$hand" 2>/dev/null)"

# pprof reads it, but warns that it cannot symbolize from /nonexistent/bin
out=$(pprof_check_clean "$hand" 2>&1)
rc=$?
if [ $rc -ne 0 ] && [[ $out == *"Local symbolization failed"* ]]; then
	echo "PASS pprof_lib/unclean_warning"
else
	echo "    status $rc, output: $out"
	echo "FAIL pprof_lib/unclean_warning"
fi

head -c 100 "$heap" > "$TMP/cut.pb.gz"
out=$(pprof_check_clean "$TMP/cut.pb.gz" 2>&1)
rc=$?
if [ $rc -ne 0 ] && [[ $out == *"status $rc"* ]]; then
	echo "PASS pprof_lib/unclean_corrupt"
else
	echo "    status $rc, output: $out"
	echo "FAIL pprof_lib/unclean_corrupt"
fi
