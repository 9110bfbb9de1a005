# SPDX-License-Identifier: GPL-2.0-only
#
# lib.sh - helpers for integration tests (bash). Source it after setting
# SUITE. Each case ends in exactly one PASS/FAIL/SKIP line via pass, fail
# or skip; tests/run.sh counts them.

: "${SUITE:=integration}"
: "${ALLOCSCOPE:=$PWD/build/allocscope}"
: "${WORKLOADS:=$PWD/build/tests/workloads}"
: "${TMPROOT:=$(mktemp -d /tmp/allocscope-test.XXXXXX)}"
LIBDIR=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=tests/lib/pprof.sh
. "$LIBDIR/pprof.sh"

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

# Runs allocscope with a time limit; output in $dir/log.
run_allocscope() {
	timeout -k 5 "${AS_TIMEOUT:-120}" "$ALLOCSCOPE" "$@"
}

# wait_for FILE [SECONDS]: until FILE exists.
wait_for() {
	local i
	for ((i = 0; i < ${2:-10} * 20; i++)); do
		[ -e "$1" ] && return 0
		sleep 0.05
	done
	return 1
}
