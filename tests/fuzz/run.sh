#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Runs one libFuzzer target on its corpus (tests/fuzz/corpus/NAME/) and
# prints PASS fuzz/NAME or FAIL fuzz/NAME, as the other tests do.
#   run.sh BIN                 check: every corpus input, then FUZZ_CHECK_RUNS
#                              (default 20000) mutations from seed 1, in a
#                              scratch directory: the same on every machine
#   FUZZ_MODE=long run.sh BIN  a campaign: FUZZ_SECONDS (or FUZZ_RUNS
#                              executions), nice 19, one job, new inputs kept
#                              in $OUTPUT/fuzz/work/NAME
# A crash leaves its input in $OUTPUT/fuzz/artifacts/; replay it with
# BIN FILE. Inputs worth keeping go to the corpus by hand (see
# docs/RELIABILITY.md), so that the tree only holds small, chosen files.
set -u
cd "$(dirname "$0")/../.."
bin=$1
name=$(basename "$bin")
corpus=tests/fuzz/corpus/$name
out=$(dirname "$bin")
mode=${FUZZ_MODE:-check}
mkdir -p "$out/artifacts"

if [ ! -x "$bin" ]; then
	echo "FAIL fuzz/$name: $bin is not built (make fuzz-bins)"
	exit 1
fi
if [ ! -d "$corpus" ]; then
	echo "FAIL fuzz/$name: no corpus at $corpus"
	exit 1
fi

opts=(-rss_limit_mb=2048 -timeout=60 -print_final_stats=1 -artifact_prefix="$out/artifacts/$name-")
if [ "$mode" = long ]; then
	work=$out/work/$name
	mkdir -p "$work"
	if [ -n "${FUZZ_RUNS:-}" ]; then
		opts+=(-runs="$FUZZ_RUNS")
	else
		opts+=(-max_total_time="${FUZZ_SECONDS:-60}")
	fi
	nice=(nice -n 19)
else
	work=$(mktemp -d /tmp/allocscope-fuzz.XXXXXX)
	trap 'rm -rf "$work"' EXIT
	# a fixed seed and count: make check gives the same result on any machine, at any speed
	opts+=(-seed=1 -runs="${FUZZ_CHECK_RUNS:-20000}")
	nice=()
fi
log=$out/$name.$mode.log
# New inputs go to the first directory only: the tree's corpus is read, never written.
"${nice[@]}" "$bin" "${opts[@]}" "$work" "$corpus" > "$log" 2>&1
rc=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
if [ $rc -ne 0 ] || grep -q '^==[0-9]*==ERROR\|runtime error:\|oracle failed' "$log"; then
	echo "FAIL fuzz/$name: status $rc after ${runs:-?} executions (log $log)"
	grep -m1 -A12 'ERROR\|runtime error:\|oracle failed' "$log" | sed 's/^/    /'
	grep 'Test unit written to' "$log" | sed 's/^/    /'
	exit 1
fi
echo "PASS fuzz/$name: ${runs:-?} executions, corpus of $(ls "$corpus" | wc -l) inputs replayed"
