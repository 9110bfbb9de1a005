#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The daemon under load keeps its deadlines and bounds its memory. Only
# the test's own processes are traced: uniquely named copies of the pace
# workload, as comm: targets.
#
#  - saturating load: two copies allocate as fast as they can at
#    --sample-rate 4096 (more samples than the daemon can read). Meanwhile
#    /metrics is timed twice a second, exports are timestamped, and
#    short-lived targets start every second: each must be in a profile,
#    named. Then SIGTERM, with the load still on, must exit soon, with a
#    final export written.
#  - memory at --sample-rate 1: a target allocating a million distinct
#    sizes (a million sites) must leave the daemon's RSS within a bound set
#    by max_sites, and RSS must come back near its start once the target
#    has exited and been evicted.
#
# The bounds are about starvation (seconds), not speed: they hold on a
# slow shared machine. The figures measured are printed.
SUITE=load
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/daemon.sh"

INTERVAL=2
LOAD_SECS=16
MAX_LATENCY=1.0		# s, any /metrics answer (the goal: p99 under 0.1 s)
MAX_EXPORT_GAP=3.5	# s, between two interval exports (INTERVAL + 1.5)
MAX_STOP=5		# s, SIGTERM to exit
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}" ${DPID:-} ${NPID:-}; do
		kill -9 "$p" 2> /dev/null
	done
	wait 2> /dev/null
}
trap cleanup EXIT

now() { date +%s.%N; }

# rss_kb PID
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2> /dev/null || echo 0; }

# metric NAME: its value on /metrics (labels included in NAME), or 0.
metric() {
	curl -s -m 10 "$(url /metrics)" | awk -v n="$1" '$1 == n { v = $2 } END { print v + 0 }'
}

# --- saturating load ------------------------------------------------------

D=$(case_dir saturate)
HOG=aslh$$
SHORT=asls$$
cp "$WORKLOADS/pace" "$D/$HOG"
cp "$WORKLOADS/pace" "$D/$SHORT"
cat > "$D/conf" <<EOF
listen = 127.0.0.1:0
export_dir = $D/export
export_interval = $INTERVAL
retention_count = 10000
sample_rate = 4096
targets = comm:$HOG,comm:$SHORT
EOF

start_daemon "$D"
if [ -z "$PORT" ] || ! kill -0 $DPID 2> /dev/null; then
	fail saturate "daemon did not start:" "$(tail -5 "$D/log")"
	exit 0
fi

"$D/$HOG" 0 0 > /dev/null &
PIDS+=($!)
"$D/$HOG" 0 0 > /dev/null &
PIDS+=($!)
SHORTS=()
load_start=$(now)
for ((i = 0; i < LOAD_SECS; i++)); do
	# lives 1 s: waits 0.2 s, allocates 4 MB/s for 0.5 s, lingers 0.3 s
	"$D/$SHORT" 4 0.5 --delay 200 --linger 300 > /dev/null &
	SHORTS+=($!)
	for j in 1 2; do
		curl -s -o /dev/null -m 5 -w '%{http_code} %{time_total}\n' \
			"$(url /metrics)" >> "$D/latency"
		sleep 0.5
	done
done
wait "${SHORTS[@]}"
shed_up=$(metric 'allocscope_shed_rate_changes_total{direction="up"}')
shed_samples=$(metric allocscope_shed_samples_total)
stop_start=$(now)
kill -TERM $DPID
wait $DPID
rc=$?
stop_end=$(now)
kill $NPID 2> /dev/null
kill "${PIDS[@]}" 2> /dev/null
wait "${PIDS[@]}" 2> /dev/null
PIDS=()

test_metrics_latency() {
	local n ok stats
	n=$(wc -l < "$D/latency")
	ok=$(awk '$1 == 200' "$D/latency" | wc -l)
	stats=$(awk '{ print $2 }' "$D/latency" | sort -n | awk '
		{ v[NR] = $1 } END { i = int(NR * 0.99 + 0.999); if (i > NR) i = NR
			printf "p50 %.3f s, p99 %.3f s, max %.3f s", v[int((NR + 1) / 2)], v[i], v[NR] }')
	echo "    /metrics under load: $ok of $n answered, $stats"
	if [ "$n" -lt $((LOAD_SECS * 2)) ] || [ "$ok" -ne "$n" ]; then
		fail metrics_latency "$ok of $n answered with 200"
	elif ! awk -v m=$MAX_LATENCY '$2 > m { exit 1 }' "$D/latency"; then
		fail metrics_latency "an answer took more than $MAX_LATENCY s: $stats"
	else
		pass metrics_latency
	fi
}
test_metrics_latency

# Export times: the files' modification times, in order.
test_exports_on_time() {
	local times n gaps
	times=$(stat -c '%.3Y' "$D"/export/allocs-*.pb.gz 2> /dev/null | sort -n |
		awk -v a="$load_start" -v b="$stop_start" '$1 >= a && $1 <= b')
	n=$(echo "$times" | grep -c .)
	gaps=$(echo "$times" | awk 'NR > 1 { g = $1 - p; if (g > m) m = g } { p = $1 }
		END { printf "%.2f", m }')
	echo "    exports under load: $n in $(awk -v a="$load_start" -v b="$stop_start" \
		'BEGIN { printf "%.1f", b - a }') s, longest gap $gaps s (interval $INTERVAL s)"
	if [ "$n" -lt $((LOAD_SECS / INTERVAL - 1)) ]; then
		fail exports_on_time "$n exports in $LOAD_SECS s at a $INTERVAL s interval"
	elif awk -v g="$gaps" -v m=$MAX_EXPORT_GAP 'BEGIN { exit !(g > m) }'; then
		fail exports_on_time "$gaps s between two exports (at most $MAX_EXPORT_GAP)"
	else
		pass exports_on_time
	fi
}
test_exports_on_time

# Every short-lived target is in a profile, with its name and its function.
test_short_targets_named() {
	local f p missing=() named=0
	for f in "$D"/export/allocs-*.pb.gz; do
		pprof_samples "$f"
	done > "$D/samples"
	for p in "${SHORTS[@]}"; do
		if grep -q "comm=$SHORT,.*pid=$p	pace_site;" "$D/samples"; then
			named=$((named + 1))
		else
			missing+=("$p")
		fi
	done
	echo "    short-lived targets named: $named of ${#SHORTS[@]}"
	if [ ${#missing[@]} -eq 0 ]; then
		pass short_targets_named
	else
		fail short_targets_named "not in any profile, named: ${missing[*]}"
	fi
}
test_short_targets_named

# Load was shed, on purpose and counted: rates went up, samples not taken counted.
test_shed_counted() {
	echo "    shedding: $shed_up rate raises, $shed_samples samples not taken"
	if [ "$shed_up" -ge 1 ] && [ "$shed_samples" -ge 1 ]; then
		pass shed_counted
	else
		fail shed_counted "no load shed under a saturating load"
	fi
}
test_shed_counted

test_sigterm_exit() {
	local secs last
	secs=$(awk -v a="$stop_start" -v b="$stop_end" 'BEGIN { printf "%.2f", b - a }')
	last=$(stat -c '%.3Y' "$D"/export/allocs-*.pb.gz | sort -n | tail -1)
	echo "    SIGTERM to exit under load: $secs s (status $rc)"
	if [ $rc -ne 0 ]; then
		fail sigterm_exit "exit status $rc:" "$(tail -3 "$D/log")"
	elif awk -v s="$secs" -v m=$MAX_STOP 'BEGIN { exit !(s > m) }'; then
		fail sigterm_exit "$secs s from SIGTERM to exit (at most $MAX_STOP)"
	elif awk -v l="$last" -v a="$stop_start" 'BEGIN { exit !(l < a) }'; then
		fail sigterm_exit "no final export after SIGTERM"
	else
		pass sigterm_exit
	fi
}
test_sigterm_exit

# --- memory at --sample-rate 1 ----------------------------------------------

M=$(case_dir memory)
MEM=aslm$$
MAX_SITES=50000
cp "$WORKLOADS/pace" "$M/$MEM"
cat > "$M/conf" <<EOF
listen = 127.0.0.1:0
export_dir = $M/export
export_interval = $INTERVAL
sample_rate = 1
targets = comm:$MEM
max_sites = $MAX_SITES
exited_keep = 1
EOF

start_daemon "$M"
if [ -z "$PORT" ] || ! kill -0 $DPID 2> /dev/null; then
	fail rss_bounded "daemon did not start:" "$(tail -5 "$M/log")"
	fail rss_returns "daemon did not start"
	fail sigterm_exit_memory "daemon did not start"
	exit 0
fi
sleep 1
base=$(rss_kb $DPID)
# a million sizes from one stack: a million sites at R=1, 4,096 blocks held
"$M/$MEM" 0 15 --hold 4096 --sizes 1000003 > /dev/null &
PIDS+=($!)
peak=$base
while kill -0 "${PIDS[0]}" 2> /dev/null; do
	r=$(rss_kb $DPID)
	[ "$r" -gt "$peak" ] && peak=$r
	sleep 0.5
done
wait "${PIDS[@]}"
PIDS=()
sites=$(metric allocscope_sites)
dropped=$(metric 'allocscope_dropped_total{reason="max_sites"}')
# exited_keep 1 s and two intervals: evicted within 2 * INTERVAL + housekeeping
after=$peak
for ((i = 0; i < 40; i++)); do
	sleep 0.5
	after=$(rss_kb $DPID)
	[ "$(metric allocscope_processes)" = 0 ] && [ "$after" -lt $((base + 30 * 1024)) ] && break
done
procs=$(metric allocscope_processes)

test_rss_bounded() {
	echo "    RSS at R=1: $((base / 1024)) MB at start, $((peak / 1024)) MB at most," \
		"$sites sites, $dropped samples dropped at max_sites $MAX_SITES"
	# 50,000 sites of ~10 frames are ~15 MB; the ring and caches come on top
	if [ $((peak - base)) -gt $((150 * 1024)) ]; then
		fail rss_bounded "RSS grew by $(((peak - base) / 1024)) MB with max_sites $MAX_SITES"
	elif [ "$sites" -gt $MAX_SITES ] || [ "$dropped" -lt 1 ]; then
		fail rss_bounded "$sites sites kept, $dropped dropped: max_sites not applied"
	else
		pass rss_bounded
	fi
}
test_rss_bounded

test_rss_returns() {
	echo "    RSS after the target exited: $((after / 1024)) MB, $procs processes kept"
	if [ "$procs" != 0 ]; then
		fail rss_returns "$procs processes still in memory"
	elif [ "$after" -gt $((base + 30 * 1024)) ]; then
		fail rss_returns "RSS $((after / 1024)) MB, at start $((base / 1024)) MB"
	else
		pass rss_returns
	fi
}
test_rss_returns

test_sigterm_exit_memory() {
	local t0 t1 secs rc
	t0=$(now)
	stop_daemon
	rc=$?
	t1=$(now)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	echo "    SIGTERM to exit after the R=1 run: $secs s"
	if [ $rc -ne 0 ] || awk -v s="$secs" -v m=$MAX_STOP 'BEGIN { exit !(s > m) }'; then
		fail sigterm_exit_memory "status $rc, $secs s"
	else
		pass sigterm_exit_memory
	fi
}
test_sigterm_exit_memory
