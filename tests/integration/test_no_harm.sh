#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A traced program behaves as untraced. The kernel's return probe replaces a
# sampled call's return address with its trampoline until the call returns,
# and an unwinder that walks through that frame finds no unwind info there:
# C++ exceptions end in std::terminate, backtrace(3) and jemalloc's
# profiler stop. allocscope never hijacks the returns of functions that can
# throw or unwind inside; these cases would fail if it did.
SUITE=no_harm
. "$(dirname "$0")/../lib/lib.sh"

LIBDIR=/usr/lib/x86_64-linux-gnu
ALLOCATORS="glibc: jemalloc:$LIBDIR/libjemalloc.so.2 tcmalloc:$LIBDIR/libtcmalloc_minimal.so.4
	mimalloc:$LIBDIR/libmimalloc.so.2"
RATES="1 4096 524288"

# untraced DIR CMD...: the command's output and exit status, as the truth.
untraced() {
	local dir=$1
	shift
	"$@" > "$dir/want.out" 2> /dev/null
	echo $? > "$dir/want.rc"
}

# same NAME DIR: what the traced run printed and returned is the truth.
same() {
	local got want
	got="$(cat "$2/got.out") (exit $(cat "$2/got.rc"))"
	want="$(cat "$2/want.out") (exit $(cat "$2/want.rc"))"
	if [ "$got" = "$want" ]; then
		pass "$1"
	else
		fail "$1" "untraced: $want" "traced:   $got" "$(grep -v '^ ' "$2/log" | tail -3)"
	fi
}

# by_command DIR RATE CMD...: records CMD from its start.
by_command() {
	local dir=$1 rate=$2
	shift 2
	run_allocscope record -v -r "$rate" -o "$dir/p.pb.gz" -- "$@" > "$dir/got.out" 2> "$dir/log"
	echo $? > "$dir/got.rc"
}

# by_pid DIR RATE CMD...: CMD waits on fd 3 until record -p has probed it.
by_pid() {
	local dir=$1 rate=$2 pid rpid
	shift 2
	rm -f "$dir/go"
	mkfifo "$dir/go"
	"$@" --wait-fd 3 3< "$dir/go" > "$dir/got.out" 2> /dev/null &
	pid=$!
	exec 4> "$dir/go"
	run_allocscope record -v -r "$rate" -p "$pid" -o "$dir/p.pb.gz" > /dev/null 2> "$dir/log" &
	rpid=$!
	wait_probed "$dir/log" "$pid"
	echo go >&4
	exec 4>&-
	wait "$pid"
	echo $? > "$dir/got.rc"
	wait "$rpid"
}

# alloc_bytes PROFILE: alloc_space of the whole profile.
alloc_bytes() {
	pprof_samples "$1" | awk -F'\t' '{ split($1, v, " "); s += v[2] } END { printf "%.0f\n", s }'
}

# Every throwing operator new fails and is caught, every nothrow one
# returns nullptr: at every rate, by command and by pid, with each allocator.
test_bad_alloc() {
	local a name lib rate how d
	for a in $ALLOCATORS; do
		name=${a%%:*}
		lib=${a#*:}
		for how in command pid; do
			for rate in $RATES; do
				d=$(case_dir "bad_alloc_${name}_${how}_$rate")
				untraced "$d" env LD_PRELOAD="$lib" "$WORKLOADS/throw_new"
				"by_$how" "$d" "$rate" env LD_PRELOAD="$lib" "$WORKLOADS/throw_new"
				same "bad_alloc/$name/$how/r$rate" "$d"
			done
		done
	done
}

# A failed allocation counts nothing: at -r 1 the profile holds the 1,000
# operator new calls of 1,000 bytes and what the runtime allocates, not the
# failed requests. Where operator new is probed, each exception that left
# a sampled call of the size it must try (4 throwing variants) cancelled
# its sample; requests beyond the address space are not even sampled.
test_bad_alloc_counts() {
	local a name lib d bytes
	for a in jemalloc:$LIBDIR/libjemalloc.so.2 tcmalloc:$LIBDIR/libtcmalloc_minimal.so.4; do
		name=${a%%:*}
		lib=${a#*:}
		d=$(case_dir "bad_alloc_counts_$name")
		by_command "$d" 1 env LD_PRELOAD="$lib" "$WORKLOADS/throw_new"
		bytes=$(alloc_bytes "$d/p.pb.gz")
		if [ "$(cat "$d/got.rc")" != 7 ]; then
			fail "bad_alloc_counts/$name" "exit status $(cat "$d/got.rc")"
		elif ! grep -q "kernel: [0-9]* samples at the entry .*, 4 cancelled by an exception (4 here, 0 late)" "$d/log"; then
			fail "bad_alloc_counts/$name" "not 4 cancels: $(grep 'cancelled' "$d/log")"
		elif [ "$bytes" -lt 1000000 ] || [ "$bytes" -gt 100000000 ]; then
			fail "bad_alloc_counts/$name" "alloc_space $bytes: want 1e6 plus the runtime's"
		else
			pass "bad_alloc_counts/$name"
		fi
	done
}

# backtrace(3) from inside a malloc the program interposes sees its callers.
test_backtrace_in_malloc() {
	local how rate d
	for how in command pid; do
		for rate in 1 524288; do
			d=$(case_dir "backtrace_${how}_$rate")
			untraced "$d" "$WORKLOADS/interpose_bt"
			"by_$how" "$d" "$rate" "$WORKLOADS/interpose_bt"
			same "backtrace_in_malloc/$how/r$rate" "$d"
		done
	done
}

# depths HEAPFILE: the sorted depths of a jemalloc heap profile's stacks
# sampled 3 times or more (jemalloc samples at random: a rare stack may be
# in one run and not the other), and "uprobes" if any frame lies in the
# kernel's [uprobes] mapping.
depths() {
	awk '
	/^@/ { for (i = 2; i <= NF; i++) pcs[++n] = $i; depth = NF - 1 }
	/^  t\*: / { if (depth && $2 + 0 >= 3) d[depth]++; depth = 0 }
	/\[uprobes\]/ { split($1, r, "-"); lo = r[1]; hi = r[2] }
	END {
		for (k in d) printf "%d ", k
		if (lo != "")
			for (i = 1; i <= n; i++)
				if (pcs[i] >= "0x" lo && pcs[i] < "0x" hi) { printf "uprobes"; break }
		print ""
	}' "$1" | tr ' ' '\n' | sort -n | tr '\n' ' '
}

# jemalloc's heap profiler unwinds inside its own allocations: its stacks
# traced are as deep as untraced, none through the kernel's trampoline.
test_jemalloc_prof() {
	local d conf want got
	d=$(case_dir jemalloc_prof)
	conf=prof:true,lg_prof_sample:12,prof_final:true,prof_prefix:$d/jeprof
	env MALLOC_CONF="$conf" LD_PRELOAD="$LIBDIR/libjemalloc.so.2" "$WORKLOADS/demo" > /dev/null
	want=$(depths "$(ls "$d"/jeprof.*.heap | head -1)")
	rm -f "$d"/jeprof.*
	by_command "$d" 1 env MALLOC_CONF="$conf" LD_PRELOAD="$LIBDIR/libjemalloc.so.2" \
		"$WORKLOADS/demo"
	got=$(depths "$(ls "$d"/jeprof.*.heap 2> /dev/null | head -1)")
	if [ -n "$want" ] && [ "$got" = "$want" ]; then
		pass jemalloc_prof
	else
		fail jemalloc_prof "untraced depths: $want" "traced depths:   $got"
	fi
}

# Under the daemon, as a comm: target, the program behaves as untraced.
test_daemon_bad_alloc() {
	local d pid port
	d=$(case_dir daemon_bad_alloc)
	printf 'listen = 127.0.0.1:0\nexport_interval = 0\nsample_rate = 1\ntargets = comm:throw_new\n' \
		> "$d/conf"
	"$ALLOCSCOPE" daemon -v --config "$d/conf" > "$d/log" 2>&1 &
	pid=$!
	# logged once the probes are attached and the listener bound
	wait_until 120 grep -q '^allocscope: ready:' "$d/log"
	untraced "$d" env LD_PRELOAD="$LIBDIR/libjemalloc.so.2" "$WORKLOADS/throw_new"
	env LD_PRELOAD="$LIBDIR/libjemalloc.so.2" "$WORKLOADS/throw_new" > "$d/got.out" 2> /dev/null
	echo $? > "$d/got.rc"
	kill -TERM $pid
	wait $pid
	same daemon_bad_alloc "$d"
}

test_bad_alloc
test_bad_alloc_counts
test_backtrace_in_malloc
test_jemalloc_prof
test_daemon_bad_alloc
