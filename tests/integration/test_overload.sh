#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# No sample's weight is lost when the ring buffer is full: what does not
# fit goes as a smaller record (frame-pointer stack instead of a stack
# copy), or stays in the kernel per (process, stack, size, rate) until
# user space takes it into the same sites. With a 1 MiB ring at a rate of
# 4096 bytes, the sites workload overflows it whatever the machine's speed
# (a stack-copy record is 17 KiB); every site must still be within the
# bound the Horvitz-Thompson variance gives, and the degradation counted.
SUITE=overload
. "$(dirname "$0")/../lib/lib.sh"

test_ring_full() {
	local name=$1 cols=$2
	shift 2
	d=$(case_dir "$name")
	run_allocscope record -v -r 4096 --ringbuf-mb 1 "$@" -o "$d/p.pb.gz" -- \
		"$WORKLOADS/sites" 2 --truth "$d/truth" > "$d/log" 2>&1 ||
		{ fail "$name" "record failed: $(tail -3 "$d/log")"; return; }
	grep -q 'degraded, not lost (ring buffer full)' "$d/log" ||
		{ fail "$name" "the ring never overflowed: $(grep -E 'degraded|dropped' "$d/log")"; return; }
	grep -q '^  [0-9]* samples, 0 dropped' "$d/log" ||
		{ fail "$name" "weight lost: $(grep dropped "$d/log")"; return; }
	site_totals "$d/p.pb.gz" > "$d/got"
	if compare_sampled "$d/truth" "$d/got" 4096 "$cols" > "$d/diff"; then
		pass "$name"
	else
		fail "$name" "sites off the truth:" "$(cat "$d/diff")"
	fi
}

test_ring_full ring_full all
test_ring_full ring_full_alloc_only alloc --alloc-only
