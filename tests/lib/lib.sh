# SPDX-License-Identifier: GPL-2.0-only
#
# lib.sh - helpers for integration tests (bash). Source it after setting
# SUITE. Each case ends in exactly one PASS/FAIL/SKIP line via pass, fail
# or skip; tests/run.sh counts them.
#
# Sourcing it also makes the script hermetic: it moves into a cgroup of its
# own ($OWN_CG, see procs.sh), and when it exits, however (an error, ^C,
# tests/run.sh's timeout), everything it started is killed and the at_exit
# commands run. No test waits a fixed time for something to happen: it waits
# for the thing (wait_until), with a bound that only stops a hung test.

: "${SUITE:=integration}"
: "${ALLOCSCOPE:=$PWD/build/allocscope}"
: "${WORKLOADS:=$PWD/build/tests/workloads}"
LIB_TMPROOT=
[ -n "${TMPROOT:-}" ] || { TMPROOT=$(mktemp -d /tmp/allocscope-test.XXXXXX); LIB_TMPROOT=$TMPROOT; }
LIBDIR=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=tests/lib/procs.sh
. "$LIBDIR/procs.sh"
# shellcheck source=tests/lib/pprof.sh
. "$LIBDIR/pprof.sh"

# at_exit CMD: CMD (a string, eval'ed) runs when the script exits, after
# every process it started was killed.
AT_EXIT=()
at_exit() { AT_EXIT+=("$1"); }

_lib_exit() {
	local rc=$? h left
	trap - EXIT INT TERM HUP
	disown -a	# no "Killed" notices for the jobs killed below
	if [ -n "$OWN_CG" ]; then
		cg_enter "$PARENT_CG"
		cg_kill "$OWN_CG"
	else
		left=$(descendants $$)
		# shellcheck disable=SC2086
		[ -z "$left" ] || kill -KILL $left 2> /dev/null
	fi
	for h in "${AT_EXIT[@]}"; do
		eval "$h"
	done
	[ -z "$LIB_TMPROOT" ] || rm -rf "$LIB_TMPROOT"
	exit $rc
}

# An EXIT trap set before (bench/run.sh's) still runs, as an at_exit command.
_lib_prev=$(trap -p EXIT)
if [ -n "$_lib_prev" ]; then
	eval "_lib_prev=($_lib_prev)"
	at_exit "${_lib_prev[2]}"
fi
trap _lib_exit EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

PARENT_CG='' OWN_CG=''
if [ -n "$CG2_ROOT" ]; then
	PARENT_CG=$(cg_self)
	if OWN_CG=$(cg_new "allocscope-$SUITE.$$") && ! cg_enter "$OWN_CG"; then
		rmdir "$CG2_ROOT$OWN_CG"
		OWN_CG=
	fi
fi

# need_own_cgroup CASE...: fails the cases, and says why, when the script
# has no cgroup of its own.
need_own_cgroup() {
	local c
	[ -n "$OWN_CG" ] && return 0
	for c in "$@"; do
		fail "$c" "no cgroup of its own: needs a writable cgroup v2 hierarchy" \
			"(mount -t cgroup2 none /sys/fs/cgroup/unified)"
	done
	return 1
}

# wait_until SECONDS CMD...: until CMD succeeds; fails after SECONDS. The
# bound only ends a hung test: make it generous, a busy machine is slow.
wait_until() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.1
	done
}

# unique_copy PROGRAM NAME: a copy of PROGRAM in TMPROOT whose name (and so
# comm) no other process on the host has: NAME and this script's pid, cut
# to comm's 15 characters. Prints its path.
unique_copy() {
	local name=$2$$
	name=${name:0:15}
	mkdir -p "$TMPROOT/bin.$$" && cp "$1" "$TMPROOT/bin.$$/$name" && echo "$TMPROOT/bin.$$/$name"
}

# wait_probed LOG PID [SECONDS]: until `record -v` logged the probes of
# PID's allocator (printed once both entry and free probes are attached).
wait_probed() {
	wait_until "${3:-120}" grep -q "^allocscope: probing .* in process $2 " "$1"
}

pass() { echo "PASS $SUITE/$1"; }
skip() { echo "SKIP $SUITE/$1: $2"; }
fail() {
	echo "FAIL $SUITE/$1"
	shift
	[ $# -gt 0 ] && printf '    %s\n' "$@"
	return 0
}

# A fresh directory for one case.
case_dir() {
	local d=$TMPROOT/$SUITE.$1
	rm -rf "$d"
	mkdir -p "$d"
	echo "$d"
}

# site_totals PROFILE [LABEL=VALUE]: per (site, size), summed over stacks,
# "site<TAB>size<TAB>alloc_objects<TAB>alloc_space<TAB>inuse_objects<TAB>inuse_space",
# for samples whose leaf function starts with site_ (and have the label).
# pprof drops a numeric label of 0: no bytes label means size 0.
site_totals() {
	pprof_samples "$1" | awk -F'\t' -v want="${2:-}" '
	{
		n = split($2, l, ",")
		size = 0; ok = (want == "")
		for (i = 1; i <= n; i++) {
			if (l[i] ~ /^bytes=/) size = substr(l[i], 7)
			if (l[i] == want) ok = 1
		}
		split($3, f, ";")
		if (!ok || f[1] !~ /^site_/) next
		split($1, v, " ")
		k = f[1] "\t" size
		ao[k] += v[1]; as[k] += v[2]; io[k] += v[3]; is[k] += v[4]
	}
	END { for (k in ao) print k "\t" ao[k] "\t" as[k] "\t" io[k] "\t" is[k] }' | sort
}

# samples_with LABEL=VALUE FILE: how many samples carry exactly that label.
samples_with() {
	pprof_samples "$2" | awk -F'\t' -v want="$1" '
		{ n = split($2, l, ","); for (i = 1; i <= n; i++) if (l[i] == want) { c++; next } }
		END { print c + 0 }'
}

# compare_exact TRUTH TOTALS: every record equal; prints the differences.
compare_exact() {
	diff <(sort "$1") <(sort "$2") | sed 's/^/    /'
	[ "${PIPESTATUS[0]}" -eq 0 ]
}

# compare_sampled TRUTH TOTALS RATE [COLS]: each estimate within the bound
# derived from the Horvitz-Thompson variance (tests/unit/test_sampling.c,
# as_tolerance: false failures below 1e-4 per record at 5 sd):
#   p = 1 - exp(-max(s,1)/R), sd = sqrt(N u^2 (1-p)/p), w = u/p,
#   tol = 5 sd + min(3 w, 300 sd) + 1, with u = s for bytes, 1 for objects.
# COLS: "alloc" checks alloc_*, "all" alloc_* and inuse_* (default).
compare_sampled() {
	awk -F'\t' -v R="$3" -v cols="${4:-all}" '
	function tol(n, u, s,   p, sd, w, m) {
		p = 1 - exp(-(s > 0 ? s : 1) / R)
		sd = sqrt(n * u * u * (1 - p) / p); w = u / p
		m = 3 * w; if (m > 300 * sd) m = 300 * sd
		return 5 * sd + m + 1
	}
	function check(what, est, want, n, u, s,   t) {
		t = tol(n, u, s)
		if (est - want > t || want - est > t) {
			printf "    %s %s: estimate %d, truth %d, tolerance %.0f\n", key, what, est, want, t
			bad++
		}
	}
	FNR == NR { truth[$1 "\t" $2] = $0; next }
	{ got[$1 "\t" $2] = $0 }
	END {
		for (key in truth) {
			split(truth[key], t, "\t"); s = t[2]
			if (key in got) split(got[key], g, "\t"); else { g[3] = g[4] = g[5] = g[6] = 0 }
			check("alloc_objects", g[3], t[3], t[3], 1, s)
			check("alloc_space", g[4], t[4], t[3], s, s)
			if (cols == "all") {
				check("inuse_objects", g[5], t[5], t[5], 1, s)
				check("inuse_space", g[6], t[6], t[5], s, s)
			}
		}
		for (key in got) if (!(key in truth)) { printf "    unexpected %s\n", key; bad++ }
		exit bad != 0
	}' "$1" "$2"
}

# Runs allocscope with a time limit. --foreground: timeout stays in the
# test's process group (it would make one of its own, which a kill of the
# test's group would miss).
run_allocscope() {
	timeout --foreground -k 5 "${AS_TIMEOUT:-300}" "$ALLOCSCOPE" "$@"
}

# wait_for FILE [SECONDS]: until FILE exists.
wait_for() {
	wait_until "${2:-60}" test -e "$1"
}
