#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# What tracing costs the traced: the daemon counts every probed call per
# process in the kernel (sampled or not) and times one trap at start; both
# are in /metrics and in a line per process in the verbose log. And
# allocscope refuses to run in a PID namespace other than the host's.
#
# churn makes exactly PAIRS malloc+free pairs in its loop, plus a fixed few
# calls of its own (its thread, its output): two runs of different lengths
# differ by exactly the difference in pairs.
SUITE=cost
. "$(dirname "$0")/../lib/lib.sh"

CHURN=$WORKLOADS/churn
N1=20000
N2=70000

# start_daemon DIR [OPTIONS]: sets DPID and PORT once it is ready.
start_daemon() {
	local dir=$1 i
	shift
	"$ALLOCSCOPE" daemon -v --config "$dir/conf" "$@" > "$dir/log" 2>&1 &
	DPID=$!
	for ((i = 0; i < 300; i++)); do
		grep -q 'ready:' "$dir/log" && break
		kill -0 $DPID 2> /dev/null || break
		sleep 0.1
	done
	PORT=$(sed -n 's/.*listening on .* (port \([0-9]*\)).*/\1/p' "$dir/log" | head -1)
}

stop_daemon() {
	kill -TERM $DPID 2> /dev/null
	wait $DPID
}

# metric FILE NAME [LABELS]: the value of the sample NAME{LABELS} (labels in order).
metric() {
	local want=$2
	[ -n "${3:-}" ] && want="$2{$3}"
	awk -v want="$want" '$1 == want { print $2; found = 1 } END { if (!found) print "none" }' "$1"
}

# counted NAME PAIRS: churn PAIRS, blocked until a daemon that targets it by
# pid (at the default, sampled rate) has probed it; sets C (its pid) and
# leaves the daemon's last /metrics and its log in $D/NAME.metrics, .log.
counted() {
	local name=$1 pairs=$2 i
	printf 'listen = 127.0.0.1:0\nexport_interval = 0\ncost_log_interval = 1\n' > "$D/conf"
	rm -f "$D/go"
	mkfifo "$D/go"
	"$CHURN" "$pairs" 1 --wait-fd 3 3<> "$D/go" > "$D/$name.churn" &
	C=$!
	start_daemon "$D" --targets "pid:$C"
	if [ -z "$PORT" ]; then
		kill $C
		mv "$D/log" "$D/$name.log"
		return 1
	fi
	printf x > "$D/go"
	wait $C
	# its exit folds the last calls; the daemon reads them within its poll
	for ((i = 0; i < 50; i++)); do
		curl -s "http://127.0.0.1:$PORT/metrics" > "$D/$name.metrics"
		grep -q "cost: pid $C (churn, exited)" "$D/log" &&
			[ "$(metric "$D/$name.metrics" allocscope_process_traced_calls_total \
				"pid=\"$C\",comm=\"churn\",kind=\"free\"")" != none ] && break
		sleep 0.2
	done
	stop_daemon
	mv "$D/log" "$D/$name.log"
}

# calls FILE PID KIND: the process's count in /metrics
calls() {
	metric "$1" allocscope_process_traced_calls_total "pid=\"$2\",comm=\"churn\",kind=\"$3\""
}

D=$(case_dir counts)
if ! counted one $N1; then
	fail metrics_exact "the daemon did not start:" "$(tail -5 "$D/one.log")"
	exit 0
fi
C1=$C
if ! counted two $N2; then
	fail metrics_exact "the daemon did not start:" "$(tail -5 "$D/two.log")"
	exit 0
fi
C2=$C
a1=$(calls "$D/one.metrics" $C1 alloc)
f1=$(calls "$D/one.metrics" $C1 free)
a2=$(calls "$D/two.metrics" $C2 alloc)
f2=$(calls "$D/two.metrics" $C2 free)
if [[ "$a1$f1$a2$f2" == *none* ]]; then
	fail metrics_exact "no per-process calls in /metrics:" \
		"$(grep -hE 'traced_calls|trap' "$D"/*.metrics)"
elif [ $((a2 - a1)) -ne $((N2 - N1)) ] || [ $((f2 - f1)) -ne $((N2 - N1)) ]; then
	fail metrics_exact "churn $N2 minus churn $N1: $((a2 - a1)) allocations and $((f2 - f1))" \
		"frees counted, $((N2 - N1)) each made (churn $N1: $a1 and $f1, churn $N2: $a2 and $f2)"
elif [ "$a1" -lt $N1 ] || [ $((a1 - N1)) -gt 50 ] || [ "$f1" -lt $N1 ] || [ $((f1 - N1)) -gt 200 ]; then
	fail metrics_exact "churn $N1 counted $a1 allocations and $f1 frees: not its $N1 pairs and a few"
else
	pass metrics_exact
fi

# The totals are the process's: the only target.
ta=$(metric "$D/two.metrics" allocscope_traced_calls_total 'kind="alloc"')
tf=$(metric "$D/two.metrics" allocscope_traced_calls_total 'kind="free"')
if [ "$ta" = "$a2" ] && [ "$tf" = "$f2" ]; then
	pass metrics_totals
else
	fail metrics_totals "totals $ta allocations, $tf frees; the process: $a2, $f2"
fi

# The log's lines for a process add up to its calls, and split them the same.
log_sums() { # PID LOG: calls allocations frees, over its lines
	sed -n "s/^allocscope: cost: pid $1 ([^)]*): \([0-9]*\) traced calls in the last [0-9]* s (\([0-9]*\) allocations, \([0-9]*\) frees).*/\1 \2 \3/p" \
		"$2" | awk '{ c += $1; a += $2; f += $3 } END { print c + 0, a + 0, f + 0 }'
}
l1=$(log_sums $C1 "$D/one.log")
l2=$(log_sums $C2 "$D/two.log")
if [ "$l1" = "$((a1 + f1)) $a1 $f1" ] && [ "$l2" = "$((a2 + f2)) $a2 $f2" ]; then
	pass log_lines
else
	fail log_lines "log: '$l1' and '$l2'; /metrics: $a1+$f1 and $a2+$f2:" \
		"$(grep -h 'cost:' "$D"/*.log | head -5)"
fi

# A trap is a kernel entry and exit: more than 10 ns, less than a millisecond
# even single-stepped on a slow VM. The process's estimate is its calls times it.
ns=$(metric "$D/two.metrics" allocscope_trap_nanoseconds)
secs=$(metric "$D/two.metrics" allocscope_process_trap_seconds_total "pid=\"$C2\",comm=\"churn\"")
if [ "$ns" = none ] || ! awk -v n="$ns" 'BEGIN { exit !(n > 10 && n < 1e6) }'; then
	fail calibration "allocscope_trap_nanoseconds is $ns:" "$(grep -i 'trap' "$D/two.log" | head -3)"
elif ! grep -q "calibration: a trap costs ~[0-9]* ns on this host" "$D/two.log"; then
	fail calibration "no calibration line in the log:" "$(head -5 "$D/two.log")"
elif ! awk -v s="$secs" -v n="$ns" -v c=$((a2 + f2)) \
	'BEGIN { e = c * n / 1e9; d = s - e; if (d < 0) d = -d; exit !(s > 0 && d <= 1e-9 * e) }'; then
	fail calibration "process trap seconds $secs, not $((a2 + f2)) calls x $ns ns"
else
	pass calibration
fi

# targets = all, briefly and sampled: says what it costs the host, and counts
# a process nobody named.
D=$(case_dir all)
cat > "$D/conf" <<EOF
listen = 127.0.0.1:0
export_interval = 0
cost_top = 1000
cost_log_interval = 0
EOF
start_daemon "$D"
if [ -z "$PORT" ]; then
	fail all_counts "the daemon did not start:" "$(tail -5 "$D/log")"
else
	"$CHURN" $N1 1 > "$D/churn" &
	C=$!
	wait $C
	for ((i = 0; i < 50; i++)); do
		curl -s "http://127.0.0.1:$PORT/metrics" > "$D/metrics"
		a=$(calls "$D/metrics" $C alloc)
		[ "$a" != none ] && break
		sleep 0.2
	done
	stop_daemon
	f=$(calls "$D/metrics" $C free)
	if ! grep -q 'targets = all: every call of malloc, free and the like in every process of the host traps into the kernel (~[0-9]* ns each here)' "$D/log"; then
		fail all_notice "no word of what targets = all costs:" "$(head -5 "$D/log")"
	else
		pass all_notice
	fi
	# libc is probed by inode before churn starts: its pairs, and the calls
	# of its start-up and exit (about a hundred)
	if [ "$a" = none ] || [ "$a" -lt $N1 ] || [ "$a" -gt $((N1 + 500)) ] ||
		[ "$f" -lt $N1 ] || [ "$f" -gt $((N1 + 500)) ]; then
		fail all_counts "churn $N1 under targets = all: $a allocations, $f frees counted"
	else
		pass all_counts
	fi
fi

# In a PID namespace of its own (a container without the host's), both
# commands refuse, in one line, with what to do.
pidns_refused() { # NAME COMMAND...
	local name=$1 d rc
	shift
	d=$(case_dir "$name")
	timeout -k 5 60 unshare --pid --fork --mount-proc "$@" > "$d/out" 2> "$d/err"
	rc=$?
	if [ $rc -ne 1 ]; then
		fail "$name" "exit status $rc, not 1:" "$(head -3 "$d/err")"
	elif [ "$(wc -l < "$d/err")" -ne 1 ] ||
		! grep -q "^allocscope: in a PID namespace other than the host's, whose pids are not the kernel's: no process could be named. Run allocscope in the host's (docker run --pid=host, Kubernetes hostPID: true; see allocscope(8), CONTAINERS)$" "$d/err"; then
		fail "$name" "not the one-line refusal:" "$(head -3 "$d/err")"
	else
		pass "$name"
	fi
}
pidns_refused pidns_record "$ALLOCSCOPE" record -o "$TMPROOT/pidns.pb.gz" -- "$CHURN" 10
pidns_refused pidns_record_pid "$ALLOCSCOPE" record -p 1 -d 1
pidns_refused pidns_daemon "$ALLOCSCOPE" daemon --listen 127.0.0.1:0 --export-interval 0 \
	--targets comm:churn
