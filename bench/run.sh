#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# run.sh - allocscope's overhead benchmark (make bench). One run measures,
# side by side on this machine:
#
#   1. churn (a tight malloc/free loop, 1 and 4 threads) in every
#      configuration: untraced; the physical floor (empty BPF programs on
#      allocscope's own probe points, bench/floor.c); allocscope in its
#      modes; the bpftrace one-liner, and a bpftrace script with frees;
#   1b. a throw-and-catch loop: what the probes on the unwinders cost;
#   2. redis-server under redis-benchmark: throughput loss;
#   3. allocscope's own CPU and memory, at ~1000 samples/s and at one
#      sample per call;
#   4. the estimates' error against the sites workload's truth file;
#   5. how the daemon's export time, CPU and RSS grow with 10, 100 and
#      1,000 traced processes and with 10^3, 10^4 and 10^5 distinct stacks.
#
# Each measurement is repeated N times, the configurations interleaved (one
# round runs every configuration once, each round starting one further down
# the list), and the median is reported: the VM is noisy.
#
# Results: a table on stdout, the same as markdown in $OUTPUT/bench/results.md,
# every single run in $OUTPUT/bench/raw.tsv.
#
# Environment:
#   OUTPUT=build       where allocscope and the workloads were built
#   BENCH_QUICK=1      a short smoke run (a minute or two, fewer repetitions)
#   BENCH_N=7          repetitions of each churn measurement (redis: 5)
#   BENCH_ONLY="churn throw redis cost error scale"   which parts to run
#   BENCH_PORT=16379   loopback port for redis-server
#   BENCH_BASE=FILE    an allocscope built from another commit: churn runs
#                      it too (base-alloc-only, base-full), side by side
#   BENCH_CONFIGS="..."  the churn configurations to run (default: all)
#   BENCH_WAIT=120     seconds to wait for other tracers' uprobes to go
set -u
cd "$(dirname "$0")/.." || exit 1

OUTPUT=${OUTPUT:-build}
QUICK=${BENCH_QUICK:-0}
[ "$QUICK" = 0 ] && QUICK=
ONLY=${BENCH_ONLY:-churn throw redis cost error scale}
PORT=${BENCH_PORT:-16379}
case $OUTPUT in
/*) OUT=$OUTPUT ;;
*) OUT=$PWD/$OUTPUT ;;
esac
AS=$OUT/allocscope
W=$OUT/tests/workloads
FLOOR=$OUT/bench/floor
RESDIR=$OUT/bench
LIBC=/lib/x86_64-linux-gnu/libc.so.6
JEMALLOC=/lib/x86_64-linux-gnu/libjemalloc.so.2

if [ -n "$QUICK" ]; then
	N=${BENCH_N:-3}		# churn repetitions
	RUN_NS=150000000	# target length of one churn run
	N_REDIS=1
	REDIS_N=5000		# requests per redis-benchmark test
	COST_SECS=3
	N_ERR=1
	ERR_SCALE=2
	THROWS=20000
else
	N=${BENCH_N:-7}
	RUN_NS=500000000
	N_REDIS=5
	REDIS_N=50000
	COST_SECS=10
	N_ERR=5
	ERR_SCALE=10
	THROWS=200000
fi

die() {
	echo "bench: $*" >&2
	exit 1
}
note() { printf '[%5ds] %s\n' $((SECONDS - T0)) "$*" >&2; }

[ "$(id -u)" -eq 0 ] || die "needs root (BPF and uprobes): run make bench as root"
for f in "$AS" "$W/churn" "$W/sites" "$W/stacks"; do
	[ -x "$f" ] || die "$f is missing: run make test-bins"
done
for c in bpftrace bpftool redis-server redis-benchmark redis-cli go; do
	command -v $c > /dev/null || die "$c is missing: run scripts/install-deps.sh bench"
done
[ -x /usr/bin/time ] || die "/usr/bin/time is missing: run scripts/install-deps.sh bench"
[ -r "$LIBC" ] || die "no glibc at $LIBC"

if ! make --no-print-directory OUTPUT="$OUTPUT" "$OUTPUT/bench/floor" >&2; then
	[ -x "$FLOOR" ] || die "cannot build the floor loader"
	echo "bench: cannot rebuild the floor loader: using the $FLOOR there is" >&2
fi

T0=$SECONDS
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
TMP=$(mktemp -d /tmp/allocscope-bench.XXXXXX)
# One binary for the whole run, whatever happens to $OUTPUT meanwhile.
cp "$AS" "$TMP/allocscope" && AS=$TMP/allocscope
export TMPROOT=$TMP	# tests/lib/pprof.sh keeps its go home in there
PIDS=()
cleanup() {
	local p
	# only those still our children: a pid reaped long ago may be another's now
	for p in "${PIDS[@]}"; do
		[ "$(ps -o ppid= -p "$p" 2> /dev/null | tr -d ' ')" = $$ ] && kill "$p" 2> /dev/null
	done
	redis-cli -p "$PORT" shutdown nosave > /dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$RESDIR"
RAW=$RESDIR/raw.tsv
ROWS=$TMP/rows
COSTROWS=$TMP/costrows
printf 'part\tworkload\tconfig\trun\tvalue\tunit\n' > "$RAW"

# shellcheck source=tests/lib/lib.sh
SUITE=bench . tests/lib/lib.sh

# Other tracers' uprobes (a system-wide allocscope daemon, another bpftrace)
# would trap in our workloads too: count the uprobe_multi links ("type 12" to
# Debian's bpftool) and perf-event uprobes there are while none of ours is.
foreign_uprobes() {
	echo $(($(bpftool link show 2> /dev/null | grep -cE '^[0-9]+: (type 12|uprobe_multi) ') +
		$(bpftool perf show 2> /dev/null | grep -c ' uprobe ')))
}
FOREIGN=
# Waits (up to BENCH_WAIT s) until no other tracer's uprobes are attached.
wait_quiet() { # WHAT
	local i n
	for ((i = 0; i < ${BENCH_WAIT:-120} * 2; i++)); do
		n=$(foreign_uprobes)
		[ "$n" -eq 0 ] && return 0
		[ "$i" -eq 0 ] && note "$n uprobe links of another tracer are attached: waiting"
		sleep 0.5
	done
	note "$1: $n foreign uprobe links still attached: measuring anyway"
	FOREIGN="$FOREIGN${FOREIGN:+; }$1"
	return 1
}

# guarded WHAT FN ARGS: one measurement, whose rows (FN writes them to $ROWS,
# and to $COSTROWS) are kept only if no other tracer's uprobes are attached
# once ours are gone; else it is repeated, up to 3 times.
guarded() {
	local what=$1 try i
	shift
	for ((try = 1; try <= 3; try++)); do
		wait_quiet "$what" || try=3
		: > "$ROWS"
		: > "$COSTROWS"
		"$@"
		# our own links may take a moment to go
		for ((i = 0; i < 20; i++)); do
			[ "$(foreign_uprobes)" -eq 0 ] && break
			sleep 0.1
		done
		if [ "$i" -lt 20 ] || [ "$try" -eq 3 ]; then
			[ "$i" -lt 20 ] || FOREIGN="$FOREIGN${FOREIGN:+; }$what"
			cat "$ROWS" >> "$RAW"
			cat "$COSTROWS" >> "$TMP/cost.tsv"
			return 0
		fi
		note "$what: another tracer's uprobes appeared meanwhile: measuring again"
	done
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (!NR) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# the values of one (workload, config) from raw.tsv
values() { awk -F'\t' -v p="$1" -v w="$2" -v c="$3" '$1 == p && $2 == w && $3 == c && $5 != "" { print $5 }' "$RAW"; }
med() { values "$@" | median; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }

# ---------------------------------------------------------------------------
# Configurations. Every one runs a command line given after it, with the probes
# in place before the workload's measured part starts.

BT_ONELINER='uprobe:LIB:malloc /pid == TARGET/ { @[ustack] = sum(arg0); }'
# The live set in bpftrace: sizes at entry, pointers at return, deleted at free.
# bpftrace 0.17 cannot probe free+3 ("compiled without (k|u)probe offset
# support"), so free is probed at its entry, as anyone writing this would.
BT_FREES='uprobe:LIB:malloc /pid == TARGET/ { @size[tid] = arg0; }
uretprobe:LIB:malloc /pid == TARGET && @size[tid]/ { @bytes[ustack] = sum(@size[tid]); @live[retval] = @size[tid]; delete(@size[tid]); }
uprobe:LIB:free /pid == TARGET/ { delete(@live[arg0]); }'

bt_script() { # TEMPLATE LIB TARGET
	local s=${1//LIB/$2}
	printf '%s' "${s//TARGET/$3}"
}

CHURN_CONFIGS="untraced floor-a floor-b floor-c floor-d floor-e as-alloc-only as-full as-classic as-rate1 as-rate1-alloc-only bpftrace bpftrace-free"
BASE=${BENCH_BASE:-}
if [ -n "$BASE" ]; then
	[ -x "$BASE" ] || die "BENCH_BASE=$BASE is not an executable"
	cp "$BASE" "$TMP/allocscope-base" && BASE=$TMP/allocscope-base
	BASE_REV=$("$BASE" features | sed -n 's/^allocscope [^ ]* (\([^)]*\)).*/\1/p')
	CHURN_CONFIGS="$CHURN_CONFIGS base-alloc-only base-full"
fi
CHURN_CONFIGS=${BENCH_CONFIGS:-$CHURN_CONFIGS}

describe() {
	case $1 in
	untraced) echo "no probes" ;;
	floor-a) echo "floor (a): empty session program on allocscope's allocation probes (malloc entry)" ;;
	floor-b) echo "floor (b): (a) + empty program at free's entry (single-stepped)" ;;
	floor-c) echo "floor (c): (a) + empty program at allocscope's free placement (free+3)" ;;
	floor-d) echo "floor (d): empty uprobe + uretprobe on the allocation probes, free as (c)" ;;
	floor-e) echo "floor (e): as (a) through a plain uprobe_multi link, not a session" ;;
	as-alloc-only) echo "allocscope record --alloc-only" ;;
	as-full) echo "allocscope record (alloc + free, live set)" ;;
	as-classic) echo "allocscope record --probes classic" ;;
	as-rate1) echo "allocscope record --sample-rate 1 (every call sampled, its return probed)" ;;
	as-rate1-alloc-only) echo "allocscope record --sample-rate 1 --alloc-only (every call sampled at its entry, no return probe)" ;;
	bpftrace) echo "bpftrace: @[ustack] = sum(arg0) on malloc" ;;
	bpftrace-free) echo "bpftrace: malloc entry+return, free at entry, live map" ;;
	base-alloc-only) echo "allocscope ${BASE_REV:-base} record --alloc-only (BENCH_BASE)" ;;
	base-full) echo "allocscope ${BASE_REV:-base} record (BENCH_BASE)" ;;
	esac
}

# Rough ns per pair, to size each run to about RUN_NS.
estimate() {
	case $1 in
	untraced) echo 25 ;;
	floor-a | floor-e | as-alloc-only | base-alloc-only) echo 450 ;;
	floor-b) echo 15000 ;;
	floor-c | as-full | base-full | bpftrace) echo 900 ;;
	floor-d | as-classic) echo 1150 ;;
	as-rate1) echo 1900 ;;
	as-rate1-alloc-only) echo 1000 ;;
	bpftrace-free) echo 17000 ;;
	esac
}

# run_config CONFIG LOG CMD [ARGS]: CMD's stdout on stdout. AS_OPTS: more
# options for allocscope.
AS_OPTS=()
run_config() {
	local cfg=$1 log=$2
	shift 2
	case $cfg in
	untraced) "$@" 2> "$log" ;;
	floor-a) "$FLOOR" alloc -- "$@" 2> "$log" ;;
	floor-b) "$FLOOR" free-entry -- "$@" 2> "$log" ;;
	floor-c) "$FLOOR" free-placed -- "$@" 2> "$log" ;;
	floor-d) "$FLOOR" classic -- "$@" 2> "$log" ;;
	floor-e) "$FLOOR" alloc-multi -- "$@" 2> "$log" ;;
	as-alloc-only) "$AS" record "${AS_OPTS[@]}" --alloc-only -o "$TMP/p.pb.gz" -- "$@" 2> "$log" ;;
	as-full) "$AS" record "${AS_OPTS[@]}" -o "$TMP/p.pb.gz" -- "$@" 2> "$log" ;;
	as-classic) "$AS" record "${AS_OPTS[@]}" --probes classic -o "$TMP/p.pb.gz" -- "$@" 2> "$log" ;;
	as-rate1) "$AS" record "${AS_OPTS[@]}" --sample-rate 1 -o "$TMP/p.pb.gz" -- "$@" 2> "$log" ;;
	as-rate1-alloc-only) "$AS" record "${AS_OPTS[@]}" --sample-rate 1 --alloc-only -o "$TMP/p.pb.gz" -- "$@" 2> "$log" ;;
	base-alloc-only) "$BASE" record "${AS_OPTS[@]}" --alloc-only -o "$TMP/p.pb.gz" -- "$@" 2> "$log" ;;
	base-full) "$BASE" record "${AS_OPTS[@]}" -o "$TMP/p.pb.gz" -- "$@" 2> "$log" ;;
	# bpftrace -c starts the command only once every probe is attached, so
	# neither its start-up nor its attaching is in what the workload times.
	bpftrace) bpftrace -c "$*" -e "$(bt_script "$BT_ONELINER" "$LIBC" cpid)" 2> "$log" ;;
	bpftrace-free) bpftrace -c "$*" -e "$(bt_script "$BT_FREES" "$LIBC" cpid)" 2> "$log" ;;
	*) die "unknown configuration $cfg" ;;
	esac
}

# ---------------------------------------------------------------------------
# 1. churn

churn_once() { # CONFIG THREADS PAIRS REP
	local out ns
	out=$(run_config "$1" "$TMP/log.$1" "$W/churn" "$3" "$2" | grep 'ns/pair')
	ns=${out%% ns/pair*}
	if [ -z "$ns" ]; then
		note "churn $1 $2 threads: no result (see below)"
		tail -5 "$TMP/log.$1" >&2
	fi
	printf 'churn\tchurn-%dt\t%s\t%d\t%s\tns/pair\n' "$2" "$1" "$4" "$ns" >> "$ROWS"
}

syscall_once() { # REP
	local ns
	ns=$("$FLOOR" getppid 2000000 | sed -n 's/ ns\/syscall//p')
	printf 'churn\tsyscall\tgetppid\t%d\t%s\tns/call\n' "$1" "$ns" >> "$ROWS"
}

churn_part() {
	local threads rep i k cfg pairs cfgs
	read -ra cfgs <<< "$CHURN_CONFIGS"
	k=${#cfgs[@]}
	note "churn: ${#cfgs[@]} configurations x 1 and 4 threads x $N runs"
	for ((rep = 0; rep < N; rep++)); do
		for threads in 1 4; do
			for ((i = 0; i < k; i++)); do
				cfg=${cfgs[$(((i + rep) % k))]}
				pairs=$((RUN_NS / $(estimate "$cfg")))
				# 4 threads share 2 cores: each takes about twice as long per pair
				[ "$threads" -gt 1 ] && pairs=$((pairs * 2 / threads))
				[ "$pairs" -lt 5000 ] && pairs=5000
				guarded "churn $cfg" churn_once "$cfg" "$threads" "$pairs" "$rep"
			done
		done
		guarded "getppid" syscall_once "$rep"
		note "churn: round $((rep + 1))/$N done"
	done
}

# Differences of 1-thread medians: what each part of the path costs.
where_table() {
	local u a b c d e ao f r1a
	u=$(med churn churn-1t untraced); a=$(med churn churn-1t floor-a)
	b=$(med churn churn-1t floor-b); c=$(med churn churn-1t floor-c)
	d=$(med churn churn-1t floor-d); e=$(med churn churn-1t floor-e)
	ao=$(med churn churn-1t as-alloc-only); f=$(med churn churn-1t as-full)
	echo "Where the time goes (differences of the 1-thread medians, ns per call):"
	echo
	echo "| component | ns | from |"
	echo "|---|---:|---|"
	printf '| a plain system call (getppid), for scale | %.0f | floor getppid |\n' "$(med churn syscall getppid)"
	printf '| malloc entry trap, emulated, empty session program | %.0f | floor (a) - untraced |\n' "$(calc '%f' "$a - $u")"
	printf '| the same through plain uprobe_multi | %.0f | floor (e) - untraced |\n' "$(calc '%f' "$e - $u")"
	printf '| free trap at free+3 (emulated jcc) | %.0f | floor (c) - floor (a) |\n' "$(calc '%f' "$c - $a")"
	printf '| free trap at free+0 (single-stepped test) | %.0f | floor (b) - floor (a) |\n' "$(calc '%f' "$b - $a")"
	printf '| return probe on every malloc (uretprobe) | %.0f | floor (d) - floor (c) |\n' "$(calc '%f' "$d - $c")"
	printf '| allocscope BPF work per malloc (countdown) | %.0f | --alloc-only - floor (a) |\n' "$(calc '%f' "$ao - $a")"
	printf '| allocscope BPF work per free (live-map miss) | %.0f | (full - floor (c)) - (--alloc-only - floor (a)) |\n' \
		"$(calc '%f' "($f - $c) - ($ao - $a)")"
	r1a=$(med churn churn-1t as-rate1-alloc-only)
	printf '| a sampled call taken at its entry (no return probe), stack included | %.0f | --sample-rate 1 --alloc-only - floor (a) |\n' \
		"$(calc '%f' "$r1a - $a")"
	printf '| what a probed return adds to a sampled call (the session hijack; before this mechanism, every sampled call) | %.0f | floor (d) - floor (c) |\n' \
		"$(calc '%f' "$d - $c")"
	echo
}

# has_configs CONFIG...: all of them are in this run.
has_configs() {
	local c
	for c in "$@"; do
		[[ " $CHURN_CONFIGS " == *" $c "* ]] || return 1
	done
}

# With BENCH_BASE: this build against the other one, per call.
base_table() {
	local cfg b1 a1 b4 a4 calls
	echo "Against BENCH_BASE (allocscope $BASE_REV), in the same run (medians, ns per pair; per traced call: the difference divided by the calls each pair traces):"
	echo
	echo "| configuration | base 1 thread | this 1 thread | ratio | ns per traced call | base 4 threads | this 4 threads | ratio |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|"
	for cfg in alloc-only full; do
		b1=$(med churn churn-1t "base-$cfg"); a1=$(med churn churn-1t "as-$cfg")
		b4=$(med churn churn-4t "base-$cfg"); a4=$(med churn churn-4t "as-$cfg")
		calls=2
		[ "$cfg" = alloc-only ] && calls=1
		printf '| %s | %.1f | %.1f | %.3f | %+.1f | %.1f | %.1f | %.3f |\n' "$cfg" "$b1" "$a1" \
			"$(calc '%f' "$a1 / $b1")" "$(calc '%f' "($a1 - $b1) / $calls")" "$b4" "$a4" \
			"$(calc '%f' "$a4 / $b4")"
	done
	echo
}

churn_table() {
	local u1 u4 cfg m1 m4 thr
	u1=$(med churn churn-1t untraced)
	u4=$(med churn churn-4t untraced)
	echo "### churn: ns per malloc+free pair (median of $N interleaved runs)"
	echo
	echo "1 thread: ns/pair and slowdown against untraced. 4 threads (on $(nproc) cores): wall-clock ns per pair of one thread, and total throughput of the 4 threads."
	echo
	echo "| configuration | 1 thread ns/pair | x untraced | 4 threads ns/pair/thread | total M pairs/s | x untraced | what it is |"
	echo "|---|---:|---:|---:|---:|---:|---|"
	for cfg in $CHURN_CONFIGS; do
		m1=$(med churn churn-1t "$cfg")
		m4=$(med churn churn-4t "$cfg")
		thr=$(calc '%.2f' "4 * 1000 / $m4")
		printf '| %s | %.1f | %.1f | %.1f | %s | %.1f | %s |\n' "$cfg" "$m1" \
			"$(calc '%f' "$m1 / $u1")" "$m4" "$thr" "$(calc '%f' "$m4 / $u4")" "$(describe "$cfg")"
	done
	echo
	has_configs untraced floor-a floor-b floor-c floor-d floor-e as-alloc-only as-full && where_table
	has_configs as-alloc-only as-full base-alloc-only base-full && base_table
	echo "Spread (min..max of the $N runs, 1 thread):"
	for cfg in $CHURN_CONFIGS; do
		printf '%s %s..%s; ' "$cfg" "$(values churn churn-1t "$cfg" | sort -g | head -1)" \
			"$(values churn churn-1t "$cfg" | sort -g | tail -1)"
	done
	echo
	echo
}

# ---------------------------------------------------------------------------
# 1b. exceptions: the probes on the unwinders trap once per throw

THROW_CONFIGS="untraced as-full"

throw_once() { # CONFIG REP
	local out ns
	out=$(run_config "$1" "$TMP/log.throw.$1" "$W/throw_new" --throws "$THROWS" | grep 'ns/throw')
	ns=${out%% ns/throw*}
	[ -n "$ns" ] || { note "throw $1: no result"; tail -5 "$TMP/log.throw.$1" >&2; }
	printf 'throw\tthrow\t%s\t%d\t%s\tns/throw\n' "$1" "$2" "$ns" >> "$ROWS"
}

throw_part() {
	local rep cfg
	note "throw: $THROW_CONFIGS x $N runs"
	for ((rep = 0; rep < N; rep++)); do
		for cfg in $THROW_CONFIGS; do
			guarded "throw $cfg" throw_once "$cfg" "$rep"
		done
	done
}

throw_table() {
	local u f
	u=$(med throw throw untraced); f=$(med throw throw as-full)
	echo "### exceptions: ns per throw and catch through 3 frames (median of $N runs)"
	echo
	echo "| configuration | ns/throw | x untraced |"
	echo "|---|---:|---:|"
	printf '| untraced | %.0f | 1.00 |\n' "$u"
	printf '| allocscope record (unwinder entry points probed) | %.0f | %.2f |\n' "$f" "$(calc '%f' "$f / $u")"
	echo
}

# ---------------------------------------------------------------------------
# 2. redis-server under redis-benchmark

REDIS_CONFIGS="untraced floor-a floor-c as-alloc-only as-full bpftrace"

redis_up() { # wait until the server answers
	local i
	for ((i = 0; i < 200; i++)); do
		redis-cli -p "$PORT" ping 2> /dev/null | grep -q PONG && return 0
		sleep 0.05
	done
	return 1
}

# bpftrace has attached once bpftool lists its N uprobes.
bt_attached() { # BPFTRACE_PID N
	local i
	for ((i = 0; i < 300; i++)); do
		[ "$(bpftool perf show 2> /dev/null | grep -c "^pid $1 .*uprobe")" -ge "$2" ] && return 0
		kill -0 "$1" 2> /dev/null || return 1
		sleep 0.1
	done
	return 1
}

redis_run() { # CONFIG REP
	local cfg=$1 rep=$2 log=$TMP/redis.$1.log pid bt="" t rps spid c0 c1
	local srv=(redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no
		--daemonize no --protected-mode yes)

	if redis-cli -p "$PORT" ping > /dev/null 2>&1; then
		note "redis: something already answers on port $PORT: set BENCH_PORT"
		return 1
	fi
	case $cfg in
	bpftrace)
		"${srv[@]}" > "$log.srv" 2>&1 &
		pid=$!
		PIDS+=("$pid")
		redis_up || { note "redis: server did not start"; return 1; }
		bpftrace -p "$pid" -e "$(bt_script "$BT_ONELINER" "$JEMALLOC" "$pid")" > "$log" 2>&1 &
		bt=$!
		PIDS+=("$bt")
		bt_attached "$bt" 1 || { note "redis: bpftrace did not attach"; tail -5 "$log" >&2; }
		;;
	as-*)
		AS_OPTS=(-v)
		run_config "$cfg" "$log" "${srv[@]}" > "$log.srv" &
		pid=$!
		AS_OPTS=()
		;;
	*)
		run_config "$cfg" "$log" "${srv[@]}" > "$log.srv" &
		pid=$!
		;;
	esac
	PIDS+=("$pid")
	redis_up || { note "redis: server did not start under $cfg"; tail -5 "$log" >&2; return 1; }
	# the server's own CPU, traps and BPF programs included: they run in its context
	spid=$(redis-cli -p "$PORT" info server | tr -d '\r' | sed -n 's/^process_id://p')
	c0=$(cpu_ms "$spid")
	redis-benchmark -p "$PORT" -t set,get,lpush,lpop -n "$REDIS_N" --csv 2> /dev/null |
		tr -d '"' | awk -F, 'NR > 1 && $2 > 0 { print $1 "\t" $2 }' > "$TMP/rb.out"
	c1=$(cpu_ms "$spid")
	printf 'redis\tcpu\t%s\t%d\t%s\tus/request\n' "$cfg" "$rep" \
		"$(calc '%.3f' "($c1 - $c0) * 1000 / (4 * $REDIS_N)")" >> "$ROWS"
	redis-cli -p "$PORT" shutdown nosave > /dev/null 2>&1
	wait "$pid" 2> /dev/null
	[ -n "$bt" ] && wait "$bt" 2> /dev/null
	while IFS=$'\t' read -r t rps; do
		printf 'redis\t%s\t%s\t%d\t%s\trequests/s\n' "$t" "$cfg" "$rep" "$rps" >> "$ROWS"
	done < "$TMP/rb.out"
	# all four tests: requests over the time they took together
	awk -F'\t' -v n="$REDIS_N" -v c="$cfg" -v r="$rep" '{ t += n / $2; k++ }
		END { if (k) printf "redis\tall\t%s\t%d\t%.1f\trequests/s\n", c, r, k * n / t }' \
		"$TMP/rb.out" >> "$ROWS"
}

redis_part() {
	local rep i k cfg cfgs
	read -ra cfgs <<< "$REDIS_CONFIGS"
	k=${#cfgs[@]}
	note "redis: ${#cfgs[@]} configurations x $N_REDIS runs, redis-benchmark -n $REDIS_N"
	for ((rep = 0; rep < N_REDIS; rep++)); do
		for ((i = 0; i < k; i++)); do
			cfg=${cfgs[$(((i + rep) % k))]}
			guarded "redis $cfg" redis_run "$cfg" "$rep"
		done
		note "redis: round $((rep + 1))/$N_REDIS done"
	done
	REDIS_PROBED=$(grep -h 'probing' "$TMP/redis.as-full.log" 2> /dev/null | head -1 | sed 's/^allocscope: //')
}

redis_table() {
	local u cfg t m
	u=$(med redis all untraced)
	echo "### redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*malloc=\([^ ]*\).*/\1, malloc=\2/p') under redis-benchmark (median of $N_REDIS runs)"
	echo
	echo "\`redis-benchmark -p $PORT -t set,get,lpush,lpop -n $REDIS_N\` (50 clients, loopback). allocscope says: ${REDIS_PROBED:-?}."
	echo "The clients run on the same $(nproc) cores: where the server's extra CPU fits in what the clients leave, requests/s hardly move."
	echo "The bpftrace one-liner probes that allocator's malloc (\`$JEMALLOC\`), not glibc's, which redis does not call."
	echo
	echo "Requests/s, and redis-server's own CPU time per request (all its threads; the traps and BPF programs run in its context, so they are in it)."
	echo
	echo "| configuration | SET | GET | LPUSH | LPOP | all, requests/s | throughput loss | server CPU µs/request | x untraced |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	for cfg in $REDIS_CONFIGS; do
		printf '| %s ' "$cfg"
		for t in SET GET LPUSH LPOP; do
			printf '| %.0f ' "$(med redis "$t" "$cfg")"
		done
		m=$(med redis all "$cfg")
		printf '| %.0f | %.1f%% | %.2f | %.1f |\n' "$m" "$(calc '%f' "100 * (1 - $m / $u)")" \
			"$(med redis cpu "$cfg")" "$(calc '%f' "$(med redis cpu "$cfg") / $(med redis cpu untraced)")"
	done
	echo
}

# ---------------------------------------------------------------------------
# 3. allocscope's own cost: CPU (user+sys) and peak RSS of its process

# CPU time of a process in ms, all its threads (the scheduler's own count, to
# the microsecond: utime/stime in /proc/PID/stat are clock ticks)
cpu_ms() { cat /proc/"$1"/task/*/sched 2> /dev/null | awk '/^se.sum_exec_runtime/ { t += $3 } END { printf "%.3f", t }'; }

# own_cost NAME PAIRS ALLOCSCOPE-OPTIONS...: churn PAIRS under allocscope -p.
own_cost() {
	local name=$1 pairs=$2 fifo=$TMP/fifo tp ap c0 c1 t0 t1 log=$TMP/cost.$1.log i
	local u s rss samples cpu wall total
	shift 2
	rm -f "$fifo"
	mkfifo "$fifo"
	"$W/churn" "$pairs" 1 --wait-fd 3 3<> "$fifo" > "$TMP/cost.$name.churn" &
	local cp=$!
	PIDS+=("$cp")
	/usr/bin/time -f '%e %U %S %M' -o "$TMP/cost.$name.time" \
		"$AS" record -v -p "$cp" -o "$TMP/cost.pb.gz" "$@" 2> "$log" &
	tp=$!
	PIDS+=("$tp")
	for ((i = 0; i < 300; i++)); do
		grep -q 'probing' "$log" 2> /dev/null && break
		kill -0 "$tp" 2> /dev/null || break
		sleep 0.05
	done
	grep -q 'probing' "$log" || { note "cost: allocscope did not attach"; tail -5 "$log" >&2; }
	ap=$(awk '{ print $1 }' "/proc/$tp/task/$tp/children" 2> /dev/null)
	c0=$(cpu_ms "$ap")
	t0=$(date +%s.%N)
	printf x > "$fifo"
	wait "$cp"
	t1=$(date +%s.%N)
	c1=$(cpu_ms "$ap")
	wait "$tp"
	samples=$(sed -n 's/^allocscope: kernel: \([0-9]*\) samples.*/\1/p' "$log")
	cpu=$(calc '%.4f' "(${c1:-0} - ${c0:-0}) / 1000")
	wall=$(calc '%.3f' "$t1 - $t0")
	read -r _ u s rss < "$TMP/cost.$name.time"
	total=$(calc '%.3f' "$u + $s")
	# name wall calls samples cpu-recording cpu-total rss-KiB ns/pair cpu-startup
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$wall" "$((2 * pairs))" "${samples:-0}" \
		"$cpu" "$total" "$rss" "$(sed -n 's/ ns\/pair.*//p' "$TMP/cost.$name.churn")" \
		"$(calc '%.4f' "${c0:-0} / 1000")" >> "$COSTROWS"
	{
		printf 'cost\t%s\tcpu_recording\t0\t%s\ts\n' "$name" "$cpu"
		printf 'cost\t%s\tcpu_total\t0\t%s\ts\n' "$name" "$total"
		printf 'cost\t%s\tpeak_rss\t0\t%s\tKiB\n' "$name" "$rss"
	} >> "$ROWS"
}

# bench_daemon DIR: starts the daemon on DIR/conf; sets dp, and port once it is ready.
bench_daemon() {
	local i
	"$AS" daemon -v --config "$1/conf" 2> "$1/log" &
	dp=$!
	PIDS+=("$dp")
	for ((i = 0; i < 300; i++)); do
		grep -q 'ready:' "$1/log" 2> /dev/null && break
		sleep 0.05
	done
	port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$1/log" | head -1)
}

# daemon_cost RATE PAIRS: the daemon's CPU and memory while churn PAIRS runs,
# sampled at RATE (stack copies on: each sample is unwound with DWARF).
daemon_cost() {
	local rate=$1 pairs=$2 dir=$TMP/daemon dp c0 c1 t0 t1 port i
	mkdir -p "$dir"
	printf 'listen = 127.0.0.1:0\nexport_interval = 0\nsample_rate = %s\n' "$rate" > "$dir/conf"
	bench_daemon "$dir"
	[ -n "$port" ] || { note "cost: the daemon did not start"; tail -3 "$dir/log" >&2; return; }
	c0=$(cpu_ms "$dp")
	t0=$(date +%s.%N)
	"$W/churn" "$pairs" 1 > "$dir/churn"
	t1=$(date +%s.%N)
	sleep 0.3	# its ring buffer is polled every 100 ms
	c1=$(cpu_ms "$dp")
	curl -s "http://127.0.0.1:$port/metrics" > "$dir/metrics"
	# name wall samples cpu rss-KiB unwinds unwind-s
	awk -v w="$(calc '%.3f' "$t1 - $t0")" -v c="$(calc '%.4f' "($c1 - $c0) / 1000")" \
		-v rss="$(awk '/^VmHWM/ { print $2 }' "/proc/$dp/status")" '
		$1 == "allocscope_samples_total" { s = $2 }
		$1 == "allocscope_unwinds_total" { u = $2 }
		$1 == "allocscope_unwind_seconds_total" { us = $2 }
		END { printf "daemon-1000-per-s\t%s\t%d\t%s\t%s\t%d\t%s\n", w, s, c, rss, u, us }' \
		"$dir/metrics" >> "$TMP/daemon.tsv"
	kill -TERM "$dp"
	wait "$dp"
}

cost_part() {
	local ns rate pairs
	: > "$TMP/cost.tsv"
	# ~1000 samples/s: churn allocates 2063.5 bytes per pair on average
	# (16..4111); under allocscope it does 1e9/ns pairs per second.
	ns=$(med churn churn-1t as-full)
	[ "$ns" = nan ] && ns=900
	rate=$(calc '%.0f' "2063.5 * 1e9 / $ns / 1000")
	pairs=$(calc '%.0f' "$COST_SECS * 1e9 / $ns")
	COST_RATE=$rate
	note "cost: ~1000 samples/s for ${COST_SECS}s (--sample-rate $rate, $pairs pairs)"
	guarded "cost 1000/s" own_cost 1000-per-s "$pairs" --sample-rate "$rate"
	pairs=$(calc '%.0f' "$COST_SECS * 1e9 / $ns")
	note "cost: default rate, $pairs pairs"
	guarded "cost default" own_cost default-rate "$pairs"
	pairs=$((COST_SECS * 250000))	# ~1900 ns/pair: about half as long
	note "cost: every call sampled, $pairs pairs"
	guarded "cost rate 1" own_cost rate-1 "$pairs" --sample-rate 1
	: > "$TMP/daemon.tsv"
	pairs=$(calc '%.0f' "$COST_SECS * 1e9 / $ns")
	note "cost: the daemon at ~1000 samples/s, $pairs pairs"
	guarded "cost daemon" daemon_cost "$rate" "$pairs"
}

cost_table() {
	echo "### allocscope's own cost (its process: CPU user+sys, peak RSS)"
	echo
	echo "\`allocscope record -p PID\` on \`churn\` (1 thread). Start-up: BPF load and verification, attaching, until the workload is released. Recording: from then until the workload exits (the scheduler's sum_exec_runtime of allocscope's threads, /proc/PID/task/*/sched). Total: the whole process, with the final drain, symbolization and writing the profile (/usr/bin/time). The BPF programs run in the traced threads and are in the workload's ns/pair, not here. --sample-rate for ~1000 samples/s: ${COST_RATE:-?} bytes."
	echo
	echo "| run | recording s | traced calls | samples | samples/s | CPU start-up | CPU recording | % of one core | CPU total | peak RSS | CPU ms per M calls | CPU ms per 1000 samples | workload ns/pair |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	awk -F'\t' '{
		printf "| %s | %.2f | %.2f M | %d | %.0f | %.3f s | %.3f s | %.2f%% | %.2f s | %.1f MiB | %.2f | %.2f | %s |\n",
			$1, $2, $3 / 1e6, $4, $4 / $2, $9, $5, 100 * $5 / $2, $6, $7 / 1024,
			1000 * $5 / ($3 / 1e6), $4 ? 1000 * $5 / ($4 / 1000) : 0, $8
	}' "$TMP/cost.tsv"
	echo
	echo "DWARF unwinding in user space (16 KiB stack copies, the default at a sampled rate), from \`record -v\`:"
	echo
	for f in "$TMP"/cost.*.log; do
		sed -n "s|^allocscope: unwound \(.*\)|- $(basename "$f" .log | sed 's/^cost\.//'): \1|p" "$f"
	done
	echo
	if [ -s "$TMP/daemon.tsv" ]; then
		echo "The daemon (\`allocscope daemon\`, system-wide, same rate, stacks unwound with DWARF) while churn runs: CPU of its process from /proc/PID/task/*/sched, RSS its high-water mark."
		echo
		echo "| run | seconds | samples | samples/s | CPU | % of one core | peak RSS | unwinds | unwind us each |"
		echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
		awk -F'\t' '{ printf "| %s | %.2f | %d | %.0f | %.3f s | %.2f%% | %.1f MiB | %d | %.2f |\n",
			$1, $2, $3, $3 / $2, $4, 100 * $4 / $2, $5 / 1024, $6, $6 ? 1e6 * $7 / $6 : 0 }' "$TMP/daemon.tsv"
		echo
	fi
}

# ---------------------------------------------------------------------------
# 4. estimate error: sites, exact and sampled, against its truth file

# per site: truth bytes and objects, and the relative sd of the sampled
# alloc_space estimate (Horvitz-Thompson: sum over sizes of N s^2 (1-p)/p)
truth_sites() { # TRUTH RATE
	awk -F'\t' -v R="$2" '{
		s = $2; n = $3; p = 1 - exp(-(s > 0 ? s : 1) / R)
		b[$1] += $4; v[$1] += n * s * s * (1 - p) / p; tb += $4; tv += n * s * s * (1 - p) / p
	} END {
		for (k in b) printf "%s\t%s\t%s\n", k, b[k], b[k] ? sqrt(v[k]) / b[k] : 0
		printf "TOTAL\t%s\t%s\n", tb, sqrt(tv) / tb
	}' "$1" | sort -t$'\t' -k2,2gr
}

profile_sites() { # PROFILE: site<TAB>alloc_space, plus TOTAL
	site_totals "$1" | awk -F'\t' '{ b[$1] += $4; t += $4 } END { for (k in b) print k "\t" b[k]; print "TOTAL\t" t }'
}

error_part() {
	local i rate=524288
	note "error: sites $ERR_SCALE, --sample-rate 1 once and the default rate $N_ERR times"
	"$AS" record --sample-rate 1 -o "$TMP/exact.pb.gz" -- "$W/sites" "$ERR_SCALE" \
		--truth "$TMP/truth.exact" > /dev/null 2> "$TMP/err.exact.log" ||
		note "error: the exact recording failed"
	profile_sites "$TMP/exact.pb.gz" > "$TMP/est.exact"
	for ((i = 0; i < N_ERR; i++)); do
		"$AS" record -o "$TMP/sampled.$i.pb.gz" -- "$W/sites" "$ERR_SCALE" \
			--truth "$TMP/truth.$i" > /dev/null 2> "$TMP/err.$i.log" ||
			note "error: a sampled recording failed"
		profile_sites "$TMP/sampled.$i.pb.gz" > "$TMP/est.$i"
		sed -n 's/^ *\([0-9]*\) samples, .*/\1/p' "$TMP/err.$i.log" >> "$TMP/err.samples"
	done
	truth_sites "$TMP/truth.exact" "$rate" > "$TMP/truth.sites"
}

error_table() {
	local rate=524288 i files=()
	for ((i = 0; i < N_ERR; i++)); do files+=("$TMP/est.$i"); done
	echo "### Estimate error: \`sites $ERR_SCALE\` against its truth file (alloc_space)"
	echo
	echo "Exact: \`--sample-rate 1\`, one run. Sampled: the default rate ($rate), $N_ERR runs ($(paste -sd/ "$TMP/err.samples" 2> /dev/null) samples); error = estimate / truth - 1; expected sd: the Horvitz-Thompson standard deviation for this truth at this rate."
	echo
	echo "| site | truth | exact: error | sampled: errors of the $N_ERR runs | sampled: median abs error | expected sd |"
	echo "|---|---:|---:|---|---:|---:|"
	# TOTAL first, then the 8 largest sites
	{ grep '^TOTAL' "$TMP/truth.sites"; grep -v '^TOTAL' "$TMP/truth.sites" | head -8; } |
	while IFS=$'\t' read -r site bytes sd; do
		local ex errs meds f e
		ex=$(awk -F'\t' -v s="$site" -v t="$bytes" '$1 == s { e = $2 } END { printf "%+.4f%%", 100 * (e / t - 1) }' "$TMP/est.exact")
		errs=
		: > "$TMP/abs"
		for f in "${files[@]}"; do
			e=$(awk -F'\t' -v s="$site" -v t="$bytes" '$1 == s { e = $2 } END { printf "%.2f", 100 * (e / t - 1) }' "$f")
			errs="$errs${errs:+, }$(calc '%+.1f%%' "$e")"
			calc '%f\n' "($e < 0 ? -1 : 1) * $e" >> "$TMP/abs"
		done
		meds=$(median < "$TMP/abs")
		printf '| %s | %s | %s | %s | %.1f%% | %.1f%% |\n' "$site" "$(calc '%.1f MiB' "$bytes / 1048576")" \
			"$ex" "$errs" "$meds" "$(calc '%f' "100 * $sd")"
	done
	echo
}

# ---------------------------------------------------------------------------
# Scale: the daemon's export time, CPU and RSS against processes and stacks

# scale_run NAME PROCS STACKS: PROCS copies of the stacks workload, each
# walking its STACKS distinct stacks once at --sample-rate 1 and then
# sleeping, traced by a daemon exporting every 2 s; after 3 exports:
# the last export's time, the daemon's CPU per second and its RSS.
scale_run() {
	local name=$1 procs=$2 stacks=$3 dir=$TMP/scale.$1 dp port i c0 c1 t0 t1 comm pids=()
	mkdir -p "$dir"
	comm=asb$$
	cp "$W/stacks" "$dir/$comm"
	printf 'listen = 127.0.0.1:0\nexport_dir = %s/export\nexport_interval = 2\nsample_rate = 1\ntargets = comm:%s\nmax_processes = 4096\n' \
		"$dir" "$comm" > "$dir/conf"
	bench_daemon "$dir"
	[ -n "$port" ] || { note "scale: the daemon did not start"; tail -3 "$dir/log" >&2; return; }
	for ((i = 0; i < procs; i++)); do
		"$dir/$comm" "$stacks" 60 --once &
		pids+=($!)
	done
	# every process has walked its stacks once the sites stop growing
	for ((i = 0; i < 120; i++)); do
		sleep 1
		curl -s "http://127.0.0.1:$port/metrics" > "$dir/m"
		awk -v n=$((procs * stacks)) '$1 == "allocscope_sites" && $2 >= n { ok = 1 } END { exit !ok }' \
			"$dir/m" && break
	done
	c0=$(cpu_ms "$dp")
	t0=$(date +%s.%N)
	i=$(awk '$1 == "allocscope_exports_total" { print $2 }' "$dir/m")
	while [ "$(curl -s "http://127.0.0.1:$port/metrics" | awk '$1 == "allocscope_exports_total" { print $2 }')" -lt $((i + 3)) ]; do
		sleep 0.2
	done
	t1=$(date +%s.%N)
	c1=$(cpu_ms "$dp")
	curl -s "http://127.0.0.1:$port/metrics" > "$dir/m"
	# name procs stacks sites export-s cpu-per-s rss-KiB turn-max-s
	awk -v n="$name" -v p="$procs" -v st="$stacks" -v c="$(calc '%.4f' "($c1 - $c0) / 1000 / ($t1 - $t0)")" '
		$1 == "allocscope_sites" { s = $2 }
		$1 == "allocscope_export_last_seconds" { e = $2 }
		$1 == "process_resident_memory_bytes" { r = $2 / 1024 }
		$1 == "allocscope_loop_turn_max_seconds" { t = $2 }
		END { printf "%s\t%s\t%s\t%d\t%s\t%s\t%d\t%s\n", n, p, st, s, e, c, r, t }' \
		"$dir/m" >> "$TMP/scale.tsv"
	kill "${pids[@]}" 2> /dev/null
	wait "${pids[@]}" 2> /dev/null
	kill -TERM "$dp"
	wait "$dp"
}

scale_part() {
	: > "$TMP/scale.tsv"
	for p in 10 100 1000; do
		note "scale: $p processes, 10 stacks each"
		scale_run "procs-$p" "$p" 10
	done
	for st in 1000 10000 100000; do
		note "scale: 1 process, $st stacks"
		scale_run "stacks-$st" 1 "$st"
	done
}

scale_table() {
	echo "### The daemon against processes and stacks"
	echo
	echo "Copies of tests/workloads/stacks, each walking its distinct stacks once at --sample-rate 1 and sleeping, traced by the daemon (targets comm:, exports every 2 s). Export: the last interval export, rate and live-set profiles, start to written (built 10 ms per turn of the loop). CPU: the daemon's, per second over 3 exports, with nothing else to read. Turn: the longest turn of the daemon's loop over the whole run (start-up and the first symbolization included)."
	echo
	echo "| run | processes | stacks each | sites | export | daemon CPU | RSS | longest turn |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|"
	awk -F'\t' '{ printf "| %s | %d | %d | %d | %.3f s | %.1f%% of a core | %.1f MiB | %.3f s |\n",
		$1, $2, $3, $4, $5, 100 * $6, $7 / 1024, $8 }' "$TMP/scale.tsv"
	echo
}

# ---------------------------------------------------------------------------
# Targets (from the issue)

verdict() { awk "BEGIN { exit !($1) }" && echo met || echo "NOT met"; }

targets_table() {
	local a1 a4 c1 c4 ao1 ao4 f1 f4 u1 bt1 bt4 u4 r1 r2 r3 r4 cpu rss
	[[ " $ONLY " == *" churn "* || " $ONLY " == *" cost "* ]] || return 0
	echo "### Targets"
	echo
	echo "| target | measured | |"
	echo "|---|---|---|"
	if [[ " $ONLY " == *" churn "* ]] &&
		has_configs untraced floor-a floor-c as-alloc-only as-full bpftrace; then
		u1=$(med churn churn-1t untraced); u4=$(med churn churn-4t untraced)
		a1=$(med churn churn-1t floor-a); a4=$(med churn churn-4t floor-a)
		c1=$(med churn churn-1t floor-c); c4=$(med churn churn-4t floor-c)
		ao1=$(med churn churn-1t as-alloc-only); ao4=$(med churn churn-4t as-alloc-only)
		f1=$(med churn churn-1t as-full); f4=$(med churn churn-4t as-full)
		bt1=$(med churn churn-1t bpftrace); bt4=$(med churn churn-4t bpftrace)
		r1=$(calc '%.3f' "$ao1 / $a1"); r2=$(calc '%.3f' "$ao4 / $a4")
		printf '| --alloc-only within 1.15x of floor (a) | 1 thread %sx, 4 threads %sx | %s |\n' "$r1" "$r2" \
			"$(verdict "$r1 <= 1.15 && $r2 <= 1.15")"
		r1=$(calc '%.3f' "$f1 / $c1"); r2=$(calc '%.3f' "$f4 / $c4")
		printf '| full mode within 1.15x of floor (c) | 1 thread %sx, 4 threads %sx | %s |\n' "$r1" "$r2" \
			"$(verdict "$r1 <= 1.15 && $r2 <= 1.15")"
		# per traced call, above the untraced loop: the one-liner traces one
		# call per pair (malloc), --alloc-only one, full mode two
		r1=$(calc '%.2f' "($bt1 - $u1) / ($ao1 - $u1)"); r2=$(calc '%.2f' "($bt4 - $u4) / ($ao4 - $u4)")
		r3=$(calc '%.2f' "($bt1 - $u1) / (($f1 - $u1) / 2)"); r4=$(calc '%.2f' "($bt4 - $u4) / (($f4 - $u4) / 2)")
		printf '| >= 1.6x cheaper per call than the bpftrace one-liner | per malloc vs --alloc-only: %sx (1 thread), %sx (4 threads); per traced call vs full mode: %sx, %sx | %s |\n' \
			"$r1" "$r2" "$r3" "$r4" "$(verdict "$r1 >= 1.6 && $r2 >= 1.6 && $r3 >= 1.6 && $r4 >= 1.6")"
	fi
	if [ -s "$TMP/cost.tsv" ]; then
		read -r cpu rss < <(awk -F'\t' '$1 == "1000-per-s" { printf "%.2f %.1f", 100 * $5 / $2, $7 / 1024 }' "$TMP/cost.tsv")
		printf '| allocscope CPU < 2%% of one core at 1000 samples/s | %s%% | %s |\n' "$cpu" "$(verdict "$cpu < 2")"
		rss=$(awk -F'\t' 'BEGIN { m = 0 } $7 > m { m = $7 } END { printf "%.1f", m / 1024 }' "$TMP/cost.tsv")
		printf '| allocscope RSS < 64 MiB | peak %s MiB (largest of the cost runs) | %s |\n' "$rss" "$(verdict "$rss < 64")"
	fi
	if [ -s "$TMP/daemon.tsv" ]; then
		read -r cpu rss < <(awk -F'\t' '{ printf "%.2f %.1f", 100 * $4 / $2, $5 / 1024 }' "$TMP/daemon.tsv")
		printf '| the daemon: CPU < 2%% of one core at 1000 samples/s (DWARF on); RSS < 64 MiB | %s%%, %s MiB | %s |\n' \
			"$cpu" "$rss" "$(verdict "$cpu < 2 && $rss < 64")"
	fi
	echo
}

machine() {
	echo "## allocscope benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "- machine: $(uname -sr), $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1), nproc $(nproc), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "- $("$AS" features | tr '\n' ' ' | sed 's/ $//')"
	echo "- $(ldd --version | head -1), $(bpftrace --version), $(redis-server --version | cut -d' ' -f1-3)"
	echo "- method: median of $N interleaved runs per churn configuration${QUICK:+ (BENCH_QUICK: a smoke run, not for publishing)}"
	echo "- load average (1, 5, 15 min) before: $LOAD0; after: $(cut -d' ' -f1-3 /proc/loadavg)"
	if [ -n "$FOREIGN" ]; then
		echo "- **WARNING: another tracer's uprobes were attached during some measurements ($FOREIGN): they trap in the workloads too; do not publish these numbers**"
	else
		echo "- no other tracer's uprobes were attached before or after any measurement (those that were were repeated)"
	fi
	echo
}

# ---------------------------------------------------------------------------

for part in $ONLY; do
	case $part in
	churn) churn_part ;;
	throw) throw_part ;;
	redis) redis_part ;;
	cost) cost_part ;;
	error) error_part ;;
	scale) scale_part ;;
	*) die "unknown part $part (churn throw redis cost error scale)" ;;
	esac
done

{
	machine
	targets_table
	for part in $ONLY; do
		case $part in
		churn) churn_table ;;
		throw) throw_table ;;
		redis) redis_table ;;
		cost) cost_table ;;
		error) error_table ;;
		scale) scale_table ;;
		esac
	done
	echo "Raw runs: $OUTPUT/bench/raw.tsv. Took $((SECONDS - T0)) s."
} > "$RESDIR/results.md"
cat "$RESDIR/results.md"
