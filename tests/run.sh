#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Runs every test: the unit test binaries, the fuzz targets (tests/fuzz),
# then the integration scripts.
# Each prints PASS/FAIL/SKIP lines; this counts them and ends with
# "N passed, N failed, N skipped". Arguments filter tests by substring.
set -u
cd "$(dirname "$0")/.."
export OUTPUT=${OUTPUT:-build}
export ALLOCSCOPE=$PWD/$OUTPUT/allocscope
export TESTS_DIR=$PWD/tests
export WORKLOADS=$PWD/$OUTPUT/tests/workloads
export TMPROOT=$(mktemp -d /tmp/allocscope-test.XXXXXX)
trap 'rm -rf "$TMPROOT"' EXIT

passed=0 failed=0 skipped=0

want() {
	[ ${#FILTERS[@]} -eq 0 ] && return 0
	local f
	for f in "${FILTERS[@]}"; do [[ $1 == *"$f"* ]] && return 0; done
	return 1
}

run_one() {
	local name=$1; shift
	local out=$TMPROOT/out.$$ rc start=$SECONDS
	timeout -k 10 "${TEST_TIMEOUT:-600}" "$@" > "$out" 2>&1
	rc=$?
	cat "$out"
	local p f s
	p=$(grep -c '^PASS ' "$out"); f=$(grep -c '^FAIL ' "$out"); s=$(grep -c '^SKIP ' "$out")
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
	grep '^FAIL ' "$out" | while read -r _ n; do echo "$n"; done >> "$TMPROOT/failures"
	if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL $name: exited with status $rc"
		failed=$((failed + 1))
		echo "$name (status $rc)" >> "$TMPROOT/failures"
	fi
	echo "  ($name: $((SECONDS - start)) s)"
}

FILTERS=("$@")
if [ "$(id -u)" -ne 0 ]; then
	echo "tests need root (BPF and uprobes): run make check as root" >&2
	exit 1
fi
: > "$TMPROOT/failures"
for t in "$OUTPUT"/tests/test_*; do
	[ -x "$t" ] || continue
	want "$(basename "$t")" || continue
	run_one "$(basename "$t")" "$t"
done
# The fuzz targets: their corpus, then a few seconds of fuzzing each.
for t in "$OUTPUT"/fuzz/fuzz_*; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	want "$(basename "$t")" || continue
	run_one "$(basename "$t")" tests/fuzz/run.sh "$t"
done
for t in tests/integration/test_*.sh; do
	[ -f "$t" ] || continue
	want "$(basename "$t")" || continue
	run_one "$(basename "$t" .sh)" bash "$t"
done
if [ -s "$TMPROOT/failures" ]; then
	echo "failed:"
	sed 's/^/  /' "$TMPROOT/failures"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
