#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Complete stacks on programs built as Debian builds them: without frame
# pointers, where only DWARF unwinding (the default when sampling) finds the
# callers. Every workload's allocation sites and their callers are known:
# nearly all the estimated bytes of each site must land on stacks that reach
# main through the right caller chain, and the per-site estimates must stay
# within the sampling bound of the truth the workload writes.
#
# Stacks are read as pprof_samples prints them, cut at main:
# "site_small;run_fixed;workload;main". C++ names lose their parameters.
SUITE=unwind
. "$(dirname "$0")/../lib/lib.sh"

RATE=65536
SITES_SRC=$(dirname "$0")/../workloads/sites.c
HARD=$WORKLOADS/hard
# The signal trampoline is glibc's __restore_rt, named only with libc's
# .symtab (libc6-dbg); without it the frame shows as its address.
TRAMP='(__restore_rt|0x[0-9a-f]+)'

# The caller chains of tests/workloads/sites.c: static drivers are inlined
# into main, and come back as DWARF inline frames.
sites_chains() {
	local s
	for s in site_held site_small site_big site_leak site_calloc site_posix_memalign \
		site_aligned_alloc site_memalign site_valloc site_pvalloc; do
		printf '%s\t^%s;run_fixed;workload;main$\n' "$s" "$s"
	done
	printf 'site_realloc\t^site_realloc;run_realloc;workload;main$\n'
	printf 'site_reallocarray\t^site_reallocarray;run_reallocarray;workload;main$\n'
	printf 'site_malloc0\t^site_malloc0;run_malloc0;workload;main$\n'
	# threads reach their start routine, then libc's thread start
	printf 'site_threaded\t^site_threaded;thread_main;[^;]+.*;<end>$\n'
}

# record_cmd [ALLOCSCOPE OPTIONS] -- CMD...: records into $d/p.pb.gz, summary in $d/log.
record_cmd() {
	run_allocscope record -r $RATE -o "$d/p.pb.gz" "$@" > "$d/log" 2>&1
}

# attach_and_go PID: records -p PID into $d/p.pb.gz and, once the probes
# are in, starts the workload, which waits on fd 4 (its --wait-fd fifo);
# returns when both are done, with allocscope's status.
attach_and_go() {
	local pid=$1 as
	run_allocscope record -v -r $RATE -p "$pid" -o "$d/p.pb.gz" > "$d/log" 2>&1 &
	as=$!
	# logged once the allocator's entry and free probes are all attached
	wait_probed "$d/log" "$pid"
	echo go >&4
	exec 4>&-
	wait "$pid"
	wait "$as"
}

# record_pid CMD...: starts CMD --wait-fd 3 and records it with -p; its
# stdout goes to $d/out.
record_pid() {
	local pid
	rm -f "$d/go"
	mkfifo "$d/go"
	"$@" --wait-fd 3 3< "$d/go" > "$d/out" &
	pid=$!
	exec 4> "$d/go"
	attach_and_go "$pid"
}

# recorded NAME: the recording dropped nothing (the ring buffer kept up, so
# every sampled stack is in the profile); its samples go to $d/samples.
recorded() {
	if ! grep -q ' samples, 0 dropped$' "$d/log"; then
		fail "$1" "samples dropped or no summary:" "$(cat "$d/log")"
		return 1
	fi
	pprof_samples "$d/p.pb.gz" > "$d/samples" ||
		{ fail "$1" "go tool pprof cannot read the profile"; return 1; }
}

# chains SAMPLES: per sample "site<TAB>alloc_objects<TAB>alloc_space<TAB>chain":
# the first frame named site_* or jit_site and its callers, up to main, or
# to the end of the stack followed by "<end>" when there is no main.
chains() {
	awk -F'\t' '
	function bare(f) { sub(/\(.*/, "", f); return f }
	{
		n = split($3, f, ";")
		for (i = 1; i <= n && bare(f[i]) !~ /^(site_|jit_site$)/; i++)
			;
		if (i > n)
			next
		site = bare(f[i]); chain = site
		for (j = i + 1; j <= n && chain !~ /;main$/; j++)
			chain = chain ";" bare(f[j])
		if (chain !~ /;main$/)
			chain = chain ";<end>"
		split($1, v, " ")
		print site "\t" v[1] "\t" v[2] "\t" chain
	}' "$1"
}

# chain_share CHAINS EXPECT: EXPECT has "site<TAB>regex" lines; prints the
# per-site and total share of alloc_space on a chain its regex matches, as
# "site bytes_ok/bytes pct" lines and a last line "total PCT". Sites not in
# EXPECT count as wrong.
chain_share() {
	awk -F'\t' '
	FNR == NR { want[$1] = $2; next }
	{
		all[$1] += $3; total += $3
		if (($1 in want) && $4 ~ want[$1]) { ok[$1] += $3; good += $3 }
	}
	END {
		for (s in all)
			printf "%s %d/%d %.2f%%\n", s, ok[s], all[s], all[s] ? 100 * ok[s] / all[s] : 100
		printf "total %.3f\n", total ? 100 * good / total : 0
	}' "$2" "$1"
}

# check_chains NAME EXPECT: at least 99% of the bytes on the right chains.
# The shares go to $d/share; the total is printed above the PASS line.
check_chains() {
	local pct
	chains "$d/samples" > "$d/chains"
	chain_share "$d/chains" "$2" > "$d/share"
	pct=$(sed -n 's/^total //p' "$d/share")
	if ! awk -v p="$pct" 'BEGIN { exit !(p >= 99) }'; then
		# fail indents the first line of each argument: indent the rest
		fail "$1" "only $pct% of the bytes on the right caller chains:" \
			"$(grep -v '^total' "$d/share" | sort | sed '2,$s/^/    /')" \
			"wrong chains (bytes, chain):" "$(awk -F'\t' 'FNR == NR { w[$1] = $2; next }
				!($4 ~ w[$1]) { b[$4] += $3 } END { for (c in b) print b[c], c }' \
				"$2" "$d/chains" | sort -rn | head -5 | sed '2,$s/^/    /')"
		return 1
	fi
	echo "    $1: $pct% of the estimated bytes on the right chains"
}

# site_sums SAMPLES: like site_totals, but per first site_ frame (C++
# sites call into libstdc++, which calls the allocator).
site_sums() {
	awk -F'\t' '
	function bare(f) { sub(/\(.*/, "", f); return f }
	{
		n = split($3, f, ";")
		for (i = 1; i <= n && bare(f[i]) !~ /^(site_|jit_site$)/; i++)
			;
		if (i > n)
			next
		size = 0
		m = split($2, l, ",")
		for (j = 1; j <= m; j++)
			if (l[j] ~ /^bytes=/)
				size = substr(l[j], 7)
		split($1, v, " ")
		k = bare(f[i]) "\t" size
		ao[k] += v[1]; as[k] += v[2]; io[k] += v[3]; is[k] += v[4]
	}
	END { for (k in ao) print k "\t" ao[k] "\t" as[k] "\t" io[k] "\t" is[k] }' "$1" | sort
}

# check_estimates NAME TRUTH: per (site, size) within the sampling bound.
check_estimates() {
	local got
	site_sums "$d/samples" > "$d/got"
	if ! got=$(compare_sampled "$2" "$d/got" $RATE); then
		fail "$1" "estimates outside the sampling bound at R=$RATE:" "$got"
		return 1
	fi
}

# frame_lines FILE FUNC: "file:line" of every location line of FUNC.
frame_lines() {
	pprof_raw "$1" | awk -v fn="$2" '
	/^Locations$/ { loc = 1; next }
	/^Mappings$/ { loc = 0 }
	!loc { next }
	{
		s = $0
		sub(/^ +[0-9]+: 0x[0-9a-f]+ (M=[0-9]+ )?/, "", s)
		sub(/^ +/, "", s)
		if (!match(s, / [^ ]*:-?[0-9]+ s=/))
			next
		name = substr(s, 1, RSTART - 1)
		if (name == fn)
			print substr(s, RSTART + 1, RLENGTH - 4)
	}' | sort -u
}

# The chains of the sites workload, and its estimates, for any build of it.
check_sites() {
	local name=$1
	recorded "$name" || return 1
	sites_chains > "$d/expect"
	check_chains "$name" "$d/expect" || return 1
	# the threads' bytes are a small share of the total: they must be right too
	awk '$1 == "site_threaded" { sub(/%/, "", $3); ok = $3 + 0 >= 99 } END { exit !ok }' \
		"$d/share" ||
		{ fail "$name" "thread stacks: $(grep '^site_threaded' "$d/share")"; return 1; }
	# site_totals takes the leaf: the leaf is the site
	site_totals "$d/p.pb.gz" > "$d/leaf"
	if ! compare_sampled "$d/truth" "$d/leaf" $RATE > "$d/cmp"; then
		fail "$name" "leaf estimates outside the sampling bound:" "$(cat "$d/cmp")"
		return 1
	fi
}

test_nofp_cmd() {
	d=$(case_dir nofp_cmd)
	record_cmd -- "$WORKLOADS/sites_nofp" 2 --truth "$d/truth" ||
		{ fail nofp_cmd "record failed: $(tail -3 "$d/log")"; return; }
	check_sites nofp_cmd && pass nofp_cmd
	cp "$d/chains" "$TMPROOT/nofp.chains"
}

test_nofp_pid() {
	d=$(case_dir nofp_pid)
	record_pid "$WORKLOADS/sites_nofp" 2 --truth "$d/truth" ||
		{ fail nofp_pid "record failed: $(tail -3 "$d/log")"; return; }
	check_sites nofp_pid && pass nofp_pid
}

# Symbols and lines from a separate debug file, found by .gnu_debuglink.
test_stripped() {
	local bin want got
	d=$(case_dir stripped)
	bin=$d/sites_nofp
	objcopy --only-keep-debug "$WORKLOADS/sites_nofp" "$bin.debug" &&
		strip --strip-all -o "$bin" "$WORKLOADS/sites_nofp" &&
		objcopy --add-gnu-debuglink="$bin.debug" "$bin" ||
		{ fail stripped "cannot make a stripped copy"; return; }
	if readelf -S "$bin" | grep -qE '\.symtab|\.debug_info'; then
		fail stripped "the copy still has symbols"
		return
	fi
	record_cmd -- "$bin" 2 --truth "$d/truth" ||
		{ fail stripped "record failed: $(tail -3 "$d/log")"; return; }
	check_sites stripped || return
	want=$(grep -n 'void \*p = malloc(24);' "$SITES_SRC" | cut -d: -f1)
	got=$(frame_lines "$d/p.pb.gz" site_small)
	[[ $got == *sites.c:$want ]] ||
		{ fail stripped "site_small at '$got', want sites.c:$want"; return; }
	pass stripped
}

# The frame-pointer build: the same chains as without frame pointers.
test_fp_same() {
	d=$(case_dir fp_same)
	record_cmd -- "$WORKLOADS/sites" 2 --truth "$d/truth" ||
		{ fail fp_same "record failed: $(tail -3 "$d/log")"; return; }
	check_sites fp_same || return
	[ -s "$TMPROOT/nofp.chains" ] || { fail fp_same "no chains of nofp_cmd to compare"; return; }
	# malloc(0) is 0 bytes, rarely sampled: it may be in one profile only
	grep -v '^site_malloc0' "$d/chains" | cut -f1,4 | sort -u > "$d/fp.set"
	grep -v '^site_malloc0' "$TMPROOT/nofp.chains" | cut -f1,4 | sort -u > "$d/nofp.set"
	if ! diff "$d/nofp.set" "$d/fp.set" > "$d/diff"; then
		fail fp_same "chains differ (< without, > with frame pointers):" "$(cat "$d/diff")"
		return
	fi
	pass fp_same
}

check_cxx() {
	local name=$1
	recorded "$name" || return 1
	printf '%s\t^%s;run_%s;main$\n' site_new site_new new site_vector site_vector vector \
		site_string site_string string site_new_array site_new_array new_array > "$d/expect"
	check_chains "$name" "$d/expect" || return 1
	check_estimates "$name" "$d/truth" || return 1
	# operator new is hidden: the leaf is its caller
	if awk -F'\t' '$3 ~ /^(operator new|malloc;)/ { bad = 1 } END { exit !bad }' \
		"$d/samples"; then
		fail "$name" "a leaf is the allocator:" "$(cut -f3 "$d/samples" |
			grep -E '^(operator new|malloc;)' | head -3)"
		return 1
	fi
	grep -qP '\tsite_new\(int\);run_new\(\);main;' "$d/samples" ||
		{ fail "$name" "no site_new(int) leaf"; return 1; }
}

test_cxx() {
	d=$(case_dir cxx)
	record_cmd -- "$WORKLOADS/sites_cxx" --truth "$d/truth" ||
		{ fail cxx "record failed: $(tail -3 "$d/log")"; return; }
	check_cxx cxx && pass cxx
}

test_cxx_pid() {
	d=$(case_dir cxx_pid)
	record_pid "$WORKLOADS/sites_cxx" --truth "$d/truth" ||
		{ fail cxx_pid "record failed: $(tail -3 "$d/log")"; return; }
	check_cxx cxx_pid && pass cxx_pid
}

# hard NAME MODE EXPECT-LINES [ARGS]: records `hard MODE`; chains and estimates.
hard() {
	local name=$1 mode=$2 expect=$3
	shift 3
	d=$(case_dir "$name")
	record_cmd -- "$HARD" "$mode" --truth "$d/truth" "$@" ||
		{ fail "$name" "record failed: $(tail -3 "$d/log")"; return 1; }
	recorded "$name" || return 1
	printf '%s\n' "$expect" > "$d/expect"
	check_chains "$name" "$d/expect" && check_estimates "$name" "$d/truth"
}

test_signal() {
	hard signal signal \
		"$(printf 'site_signal\t^site_signal;on_signal;%s;spin;run_signal;main$' "$TRAMP")" &&
		pass signal
}

# Signals mostly interrupt the vDSO: its frames must be named and unwound.
test_vdso() {
	hard vdso vdso \
		"$(printf 'site_vdso\t^site_vdso;on_signal;%s;([^;]+;)*spin_vdso;run_vdso;main$' "$TRAMP")" ||
		return
	pprof_header "$d/p.pb.gz" | grep -q '^mapping=.* \[vdso\] [0-9a-f]* \[FN\]' ||
		{ fail vdso "no [vdso] mapping with functions"; return; }
	# two clock_gettime frames: the vDSO's (named from its image) and libc's
	grep -qE "^site_vdso[^;]*;.*;$TRAMP;[^;]*clock_gettime[^;]*;[^;]*clock_gettime[^;]*;spin_vdso;run_vdso;main$" \
		"$d/chains" ||
		{ fail vdso "no stack through the vDSO's clock_gettime:" \
			"$(cut -f4 "$d/chains" | sort | uniq -c | sort -rn | head -5)"; return; }
	pass vdso
}

# Code without a file or CFI, named by /tmp/perf-PID.map, unwound by its frame pointer.
test_jit() {
	hard jit jit "$(printf 'jit_site\t^jit_site;run_jit;jit;main$')" || return
	pprof_header "$d/p.pb.gz" | grep -q '^mapping=.* \[jit\] ' ||
		{ fail jit "no [jit] mapping"; return; }
	pass jit
}

# libc's strdup calls malloc through libc's PLT; a library dlopen()ed after
# the first samples needs the mappings read again.
test_plt() {
	local lib=$TMPROOT/libsite.so
	printf '%s\n' '#include <stdlib.h>' \
		'__attribute__((noipa)) void *site_lib(size_t n)' \
		'{ void *p = malloc(n); __asm__ volatile("" : : "r"(p) : "memory"); return p; }' \
		> "$TMPROOT/libsite.c"
	if ! cc -shared -fPIC -g -O2 -fomit-frame-pointer -o "$lib" "$TMPROOT/libsite.c"; then
		skip plt "cannot build a shared library"
		return
	fi
	hard plt plt "$(printf 'site_strdup\t^site_strdup;run_plt;plt;main$\nsite_lib\t^site_lib;run_plt;plt;main$')" \
		--lib "$lib" && pass plt
}

test_threads() {
	hard threads threads \
		"$(printf 'site_thread\t^site_thread;thread_work;thread_fn;[^;]+.*;<end>$')" &&
		pass threads
}

# A binary deleted after it started: only /proc/PID/map_files still has it.
test_deleted() {
	local bin
	d=$(case_dir deleted)
	mkdir "$d/bin"
	bin=$d/bin/sites_nofp
	cp "$WORKLOADS/sites_nofp" "$bin"
	rm -f "$d/go"
	mkfifo "$d/go"
	"$bin" 2 --truth "$d/truth" --wait-fd 3 3< "$d/go" &
	local pid=$!
	exec 4> "$d/go"
	# mapped by the loader, and so kept once removed
	wait_until 120 grep -q " $bin\$" /proc/$pid/maps
	rm -f "$bin"
	grep -q "$bin (deleted)" /proc/$pid/maps ||
		{ fail deleted "the mapping is not marked deleted"; exec 4>&-; wait $pid; return; }
	attach_and_go "$pid" || { fail deleted "record failed: $(tail -3 "$d/log")"; return; }
	check_sites deleted && pass deleted
}

# A process in another mount namespace, whose binary, debug file and perf
# map exist only there (a tmpfs on its /tmp): symbols come through
# /proc/PID/root, the debug file and perf map from inside it.
test_mntns() {
	local dir=/tmp/allocscope-ns.$$ pid
	d=$(case_dir mntns)
	if ! unshare --mount --propagation private true 2> /dev/null; then
		skip mntns "cannot unshare a mount namespace"
		return
	fi
	objcopy --only-keep-debug "$HARD" "$d/hard.debug" &&
		strip --strip-all -o "$d/hard" "$HARD" &&
		objcopy --add-gnu-debuglink="$d/hard.debug" "$d/hard" ||
		{ fail mntns "cannot make a stripped copy"; return; }
	mkfifo "$d/go"
	# the files go in through open fds: the namespace's /tmp hides ours
	unshare --mount --propagation private bash -c '
		mount -t tmpfs allocscope-test /tmp && mkdir "$1" &&
		cat <&5 > "$1/hard" && cat <&6 > "$1/hard.debug" && chmod +x "$1/hard" &&
		exec 5<&- 6<&- && exec "$1/hard" jit --wait-fd 3' _ "$dir" \
		3< "$d/go" 5< "$d/hard" 6< "$d/hard.debug" > "$d/truth" 2> "$d/err" &
	pid=$!
	exec 4> "$d/go"
	# the namespace's binary runs (its debug file was copied before)
	wait_until 120 grep -q " $dir/hard\$" /proc/$pid/maps
	[ ! -e "$dir" ] && [ -e "/proc/$pid/root$dir/hard" ] ||
		{ fail mntns "the binary is not only in the namespace: $(cat "$d/err")"; exec 4>&-;
		  wait $pid; return; }
	attach_and_go "$pid" || { fail mntns "record failed: $(tail -3 "$d/log")"; return; }
	recorded mntns || return
	# the stripped binary's functions, named by the namespace's debug file
	grep -q ';run_jit;jit;main;' "$d/samples" ||
		{ fail mntns "the binary's frames are not named:" \
			"$(cut -f3 "$d/samples" | sort | uniq -c | sort -rn | head -3)"; return; }
	printf 'jit_site\t^jit_site;run_jit;jit;main$\n' > "$d/expect"
	check_chains mntns "$d/expect" || return
	check_estimates mntns "$d/truth" || return
	# lines too: the debug file was read inside the namespace
	[[ $(frame_lines "$d/p.pb.gz" run_jit) == *hard.c:* ]] ||
		{ fail mntns "run_jit has no line: $(frame_lines "$d/p.pb.gz" run_jit)"; return; }
	pass mntns
}

test_nofp_cmd
test_nofp_pid
test_stripped
test_fp_same
test_cxx
test_cxx_pid
test_signal
test_vdso
test_jit
test_plt
test_threads
test_deleted
test_mntns
