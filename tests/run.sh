#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Runs every test: the unit test binaries, the fuzz targets (tests/fuzz),
# then the integration scripts.
# Each prints PASS/FAIL/SKIP lines; this counts them and ends with
# "N passed, N failed, N skipped". Arguments filter tests by substring.
#
# Each test runs in a process group and a cgroup of its own: when its time
# is up (TEST_TIMEOUT seconds), or this runner is interrupted, the whole
# group is killed; a test that exits leaving a process behind fails, and
# what it left is killed.
set -u
cd "$(dirname "$0")/.."
export OUTPUT=${OUTPUT:-build}
export ALLOCSCOPE=$PWD/$OUTPUT/allocscope
export TESTS_DIR=$PWD/tests
export WORKLOADS=$PWD/$OUTPUT/tests/workloads
export TMPROOT=$(mktemp -d /tmp/allocscope-test.XXXXXX)
# shellcheck source=tests/lib/procs.sh
. tests/lib/procs.sh

passed=0 failed=0 skipped=0
RUN_CG='' CUR_PID='' CUR_CG=''

want() {
	[ ${#FILTERS[@]} -eq 0 ] && return 0
	local f
	for f in "${FILTERS[@]}"; do [[ $1 == *"$f"* ]] && return 0; done
	return 1
}

# The processes of the running test: its process group and its cgroup
# (zombies aside: they have exited, and their new parent reaps them).
current_procs() {
	# shellcheck disable=SC2046
	running $({
		[ -z "$CUR_PID" ] || pgrep -g "$CUR_PID"
		cg_procs "$CUR_CG"
	} | sort -un)
}

# Ends the running test: TERM to its group (its scripts' traps kill what they
# started), KILL to whatever is left after a few seconds.
stop_current() {
	local i
	[ -n "$CUR_PID" ] || return 0
	kill -TERM -- "-$CUR_PID" 2> /dev/null || kill -TERM "$CUR_PID" 2> /dev/null
	for ((i = 0; i < 100; i++)); do
		[ -n "$(current_procs)" ] || break
		sleep 0.1
	done
	kill_current
}

kill_current() {
	local left
	left=$(current_procs)
	# shellcheck disable=SC2086
	[ -z "$left" ] || kill -KILL $left 2> /dev/null
	[ -z "$CUR_CG" ] || cg_kill "$CUR_CG"
	CUR_PID='' CUR_CG=''
}

on_exit() {
	stop_current
	[ -z "$RUN_CG" ] || cg_kill "$RUN_CG"
	rm -rf "$TMPROOT"
}
trap on_exit EXIT
trap 'echo "tests/run.sh: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

run_one() {
	local name=$1; shift
	local out=$TMPROOT/out.$$ rc start=$SECONDS left
	[ -z "$RUN_CG" ] || CUR_CG=$RUN_CG/$name
	[ -z "$CUR_CG" ] || mkdir "$CG2_ROOT$CUR_CG" || CUR_CG=
	# timeout puts itself and the test in a new process group (setpgid), the
	# test's; on time-out it signals the whole group, KILL 10 s later.
	(
		[ -z "$CUR_CG" ] || cg_enter "$CUR_CG"
		exec timeout -k 10 "${TEST_TIMEOUT:-1800}" "$@"
	) > "$out" 2>&1 &
	CUR_PID=$!
	wait $CUR_PID
	rc=$?
	cat "$out"
	local p f s
	p=$(grep -c '^PASS ' "$out"); f=$(grep -c '^FAIL ' "$out"); s=$(grep -c '^SKIP ' "$out")
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
	grep '^FAIL ' "$out" | while read -r _ n; do echo "$n"; done >> "$TMPROOT/failures"
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		echo "FAIL $name: timed out after ${TEST_TIMEOUT:-1800} s"
		failed=$((failed + 1))
		echo "$name (timed out)" >> "$TMPROOT/failures"
	elif [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL $name: exited with status $rc"
		failed=$((failed + 1))
		echo "$name (status $rc)" >> "$TMPROOT/failures"
	fi
	left=$(current_procs)
	if [ -n "$left" ]; then
		# shellcheck disable=SC2086
		echo "FAIL $name: left processes behind:" && describe $left | sed 's/^/    /'
		failed=$((failed + 1))
		echo "$name (left processes behind)" >> "$TMPROOT/failures"
	fi
	kill_current
	echo "  ($name: $((SECONDS - start)) s)"
}

FILTERS=("$@")
if [ "$(id -u)" -ne 0 ]; then
	echo "tests need root (BPF and uprobes): run make check as root" >&2
	exit 1
fi
RUN_CG=$(cg_new "allocscope-run.$$") || RUN_CG=
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
