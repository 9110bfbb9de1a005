# SPDX-License-Identifier: GPL-2.0-only
#
# pprof.sh - read pprof profiles in integration tests, through `go tool pprof -raw`.
# Source it; needs bash, awk (mawk is enough), GNU date and go.
#
#   pprof_samples FILE      one line per sample:
#                             VALUES<TAB>LABELS<TAB>STACK
#                           VALUES space-separated, in sample-type order; LABELS key=value,...
#                           sorted by key (numeric ones too, with their unit if any: "size=16
#                           bytes"); STACK function names leaf first, joined by ';', inlined
#                           frames expanded innermost first, a location without lines as its
#                           address (0x...), a function without a name as '?'.
#   pprof_header FILE       key=value lines: samples, sample_types, default_sample_type,
#                           period_type, period, time_nanos, time, duration_set, duration, one
#                           comment= per comment, one mapping= per mapping.
#   pprof_check_clean FILE  fails, printing why, if go tool pprof fails or says anything on stderr.
#   pprof_raw FILE          the -raw text itself.
#
# What -raw shows is the profile after pprof has loaded it, not the bytes of the file:
#   - samples with the same stack and labels are merged (values summed), all-zero samples and
#     samples without locations are dropped, locations and ids are renumbered;
#   - a string label "" and a numeric label 0 without a unit are dropped;
#   - default_sample_type is only visible as a "[dflt]" mark on the sample types line (none when
#     unset: pprof then uses the last type);
#   - duration is printed with %.4v, cut to 4 characters ("10s", "1.50" for 1.5s, "201." for
#     201.23ms), so only whether it is set is exact;
#   - a profile without mappings gets an empty fake one ("0x0/0x0/0x0").
# Names are parsed as "NAME FILE:LINE s=START[(SYSTEM_NAME)]": NAME may contain spaces (C++),
# FILE may not.

# go wants a home and a build cache: a directory of ours, made when the library is sourced
# (made on first use, it would be made again and lost by every call in a $(...) subshell).
# Under tests/run.sh it is inside TMPROOT, which the runner removes.
_pprof_init() {
	[ -n "${PPROF_LIB_HOME:-}" ] && [ -d "$PPROF_LIB_HOME" ] && return 0
	PPROF_LIB_HOME=$(mktemp -d "${TMPROOT:-${TMPDIR:-/tmp}}/pprof-lib.XXXXXX")
}
_pprof_init

# Removes that directory: call it from the sourcing script's EXIT trap.
pprof_cleanup() {
	[ -n "${PPROF_LIB_HOME:-}" ] && rm -rf "$PPROF_LIB_HOME"
	PPROF_LIB_HOME=
}

# TZ=UTC: Time: is printed in UTC. Our own HOME: no user pprof settings.
pprof_raw() {
	_pprof_init || return 1
	HOME=$PPROF_LIB_HOME GOCACHE=$PPROF_LIB_HOME/gocache PPROF_TMPDIR=$PPROF_LIB_HOME \
		GOTOOLCHAIN=local GOFLAGS= TZ=UTC go tool pprof -raw "$1"
}

pprof_check_clean() {
	local err rc
	_pprof_init || return 1
	err=$PPROF_LIB_HOME/check.err
	pprof_raw "$1" > /dev/null 2> "$err"
	rc=$?
	if [ $rc -ne 0 ] || [ -s "$err" ]; then
		echo "go tool pprof -raw $1: status $rc, stderr:" >&2
		sed 's/^/  /' "$err" >&2
		[ $rc -ne 0 ] && return $rc
		return 1
	fi
	return 0
}

# The awk program that turns -raw into pprof_samples lines.
_PPROF_SAMPLES_AWK='
function norm(s) {
	gsub(/ +/, " ", s)
	sub(/^ /, "", s)
	sub(/ $/, "", s)
	return s
}
# "NAME FILE:LINE s=START[(SYSTEM_NAME)]" -> NAME
function frame(s,    name) {
	if (!match(s, / [^ ]*:-?[0-9]+ s=-?[0-9]+(\(.*\))?$/))
		return s
	name = substr(s, 1, RSTART - 1)
	return name == "" ? "?" : name
}
# "k1:[v1] k2:[v2 v3]" (pprof sorts each line) -> "k1=v1,k2=v2 v3" sorted by key
function labels(s,    n, i, j, k, v, key, val, out) {
	n = 0
	while ((i = index(s, ":[")) > 0) {
		k = substr(s, 1, i - 1)
		s = substr(s, i + 2)
		if (match(s, /\]( |$)/)) {
			v = substr(s, 1, RSTART - 1)
			s = substr(s, RSTART + RLENGTH)
		} else {
			v = s
			s = ""
		}
		n++
		for (j = n; j > 1 && (key[j - 1] > k || (key[j - 1] == k && val[j - 1] > v)); j--) {
			key[j] = key[j - 1]
			val[j] = val[j - 1]
		}
		key[j] = k
		val[j] = v
	}
	out = ""
	for (j = 1; j <= n; j++)
		out = out (j > 1 ? "," : "") key[j] "=" val[j]
	return out
}
/^Samples:$/ { sec = "types"; next }
sec == "types" { sec = "samples"; next }
/^Locations$/ { sec = "locations"; next }
/^Mappings$/ { sec = "mappings"; next }
sec == "samples" {
	# 16 spaces: a label line (string labels, then numeric ones) of the sample above
	if (substr($0, 1, 16) == "                ") {
		lab[ns] = lab[ns] (lab[ns] == "" ? "" : " ") substr($0, 17)
		next
	}
	ns++
	i = index($0, ":")
	vals[ns] = norm(substr($0, 1, i - 1))
	ids[ns] = norm(substr($0, i + 1))
	lab[ns] = ""
	next
}
sec == "locations" {
	# 13 spaces: the next, outer, line of an inlined location
	if (substr($0, 1, 13) == "             ") {
		frames[cur] = frames[cur] ";" frame(substr($0, 14))
		next
	}
	s = $0
	sub(/^ +/, "", s)
	i = index(s, ": ")
	cur = substr(s, 1, i - 1)
	s = substr(s, i + 2)
	i = index(s, " ")
	addr = substr(s, 1, i - 1)
	s = substr(s, i + 1)
	if (s ~ /^M=[0-9]+ /)
		s = substr(s, index(s, " ") + 1)
	if (substr(s, 1, 4) == "[F] ")
		s = substr(s, 5)
	frames[cur] = s == "" ? addr : frame(s)
	next
}
END {
	for (i = 1; i <= ns; i++) {
		n = split(ids[i], id, " ")
		stack = ""
		for (j = 1; j <= n; j++)
			stack = stack (j > 1 ? ";" : "") (id[j] in frames ? frames[id[j]] : "?")
		printf "%s\t%s\t%s\n", vals[i], labels(lab[i]), stack
	}
}'

pprof_samples() {
	local raw
	_pprof_init || return 1
	raw=$(pprof_raw "$1") || return 1
	printf '%s\n' "$raw" | LC_ALL=C awk "$_PPROF_SAMPLES_AWK"
}

_PPROF_HEADER_AWK='
/^Comment: / { print "comment=" substr($0, 10); next }
/^PeriodType: / {
	s = substr($0, 13)
	print "period_type=" (s == " " ? "" : substr(s, 1, index(s, " ") - 1) "/" \
	      substr(s, index(s, " ") + 1))
	next
}
/^Period: / { print "period=" substr($0, 9); next }
/^Time: / { print "time=" substr($0, 7); time = 1; next }
/^Duration: / { print "duration_set=1"; print "duration=" substr($0, 11); dur = 1; next }
/^Samples:$/ { sec = "types"; next }
/^Locations$/ { sec = "locations"; next }
/^Mappings$/ { sec = "mappings"; next }
sec == "types" {
	n = split($0, t, " ")
	types = ""
	dflt = ""
	for (i = 1; i <= n; i++) {
		if (sub(/\[dflt\]$/, "", t[i]))
			dflt = substr(t[i], 1, match(t[i], /\/[^\/]*$/) - 1)
		types = types (i > 1 ? "," : "") t[i]
	}
	print "sample_types=" types
	print "default_sample_type=" dflt
	sec = "samples"
	next
}
sec == "samples" && substr($0, 1, 16) != "                " { samples++; next }
sec == "mappings" { sub(/^[0-9]+: /, ""); print "mapping=" $0; next }
END {
	print "samples=" samples + 0
	if (!time)
		print "time="
	if (!dur) {
		print "duration_set=0"
		print "duration="
	}
}'

# Time: is printed in UTC (TZ=UTC above) with up to 9 fractional digits; 0 is not printed.
_pprof_time_nanos() {
	local s n
	[ -n "$1" ] || { echo 0; return; }
	s=$(date -u -d "${1% UTC}" +%s) && n=$(date -u -d "${1% UTC}" +%N) || return 1
	echo $((s * 1000000000 + 10#$n))
}

pprof_header() {
	local raw hdr t
	_pprof_init || return 1
	raw=$(pprof_raw "$1") || return 1
	hdr=$(printf '%s\n' "$raw" | LC_ALL=C awk "$_PPROF_HEADER_AWK") || return 1
	t=$(printf '%s\n' "$hdr" | sed -n 's/^time=//p')
	printf '%s\n' "$hdr"
	echo "time_nanos=$(_pprof_time_nanos "$t")"
}
