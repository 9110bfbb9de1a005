#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# allocscope diff: per site, two profiles and their change; a CI gate that
# fails on growth beyond PCT and beyond sampling noise, and passes two
# sampled runs of the same workload.
SUITE=diff
. "$(dirname "$0")/../lib/lib.sh"

SITES=$WORKLOADS/sites

rec() { # OUT RATE SCALE
	run_allocscope record -r "$2" -o "$1" -- "$SITES" "$3" --truth /dev/null > /dev/null 2>&1
}

test_gate() {
	local d rc
	d=$(case_dir gate)
	rec "$d/e1.pb.gz" 1 1 && rec "$d/e2.pb.gz" 1 2 && rec "$d/s1.pb.gz" 65536 4 &&
		rec "$d/s2.pb.gz" 65536 4 || { fail gate "record failed"; return; }
	run_allocscope diff --fail-over 5 "$d/e1.pb.gz" "$d/e1.pb.gz" > "$d/same" 2>&1
	rc=$?
	[ $rc -eq 0 ] || { fail gate/identical "exit $rc: $(tail -2 "$d/same")"; return; }
	pass gate/identical
	run_allocscope diff --fail-over 5 "$d/e1.pb.gz" "$d/e2.pb.gz" > "$d/double" 2>&1
	rc=$?
	if [ $rc -eq 1 ] && grep -q '+100.0% ! site_realloc' "$d/double" &&
		grep -q '^ *100000 *4000000 *200000 *8000000 .*! site_threaded' "$d/double"; then
		pass gate/doubled
	else
		fail gate/doubled "exit $rc, want 1 and every site doubled:" "$(head -5 "$d/double")"
	fi
	run_allocscope diff --fail-over 5 "$d/s1.pb.gz" "$d/s2.pb.gz" > "$d/noise" 2>&1
	rc=$?
	[ $rc -eq 0 ] && pass gate/noise_only ||
		fail gate/noise_only "two sampled runs of one workload: exit $rc" "$(head -8 "$d/noise")"
	run_allocscope diff "$d/e1.pb.gz" /etc/passwd > "$d/bad" 2>&1
	rc=$?
	[ $rc -eq 2 ] && [ "$(wc -l < "$d/bad")" -eq 1 ] && pass gate/bad_input ||
		fail gate/bad_input "exit $rc: $(cat "$d/bad")"
}

test_gate
