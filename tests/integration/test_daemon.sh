#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# allocscope daemon: started on a temporary config and port, with workload
# processes whose allocation sites are known exactly (tests/workloads/
# sites.c): one started before the daemon, others after it. Exact mode
# (--sample-rate 1) makes per-site counts exact; a reload to a sampled rate
# checks the estimates' bounds.
#
# The daemons trace only this test's processes: the main one the test's
# cgroup (the script and all it starts: children of a target are targets
# from their fork on), the others a pid, a cgroup below it or the comm of a
# uniquely named copy of a workload; so what else runs on the host neither
# loads them nor shows in their profiles. Only test_targets_all traces the
# whole host, briefly and sampled. Nothing waits a fixed time for the
# daemon: tests wait for what they need (a log line, a metric, a file).
SUITE=daemon
. "$(dirname "$0")/../lib/lib.sh"
# shellcheck source=tests/lib/daemon.sh
. "$(dirname "$0")/../lib/daemon.sh"

SITES=$WORKLOADS/sites
INTERVAL=2
D=$(case_dir main)

# The daemon's alloc columns for a process equal its truth; its inuse is 0
# once it exited (its memory went with it).
exact_alloc() {
	local name=$1 truth=$2 prof=$3 pid=$4 n
	n=$(dropped)
	if [ "$n" != 0 ]; then
		fail "$name" "the daemon dropped $n samples of this test's processes"
		return
	fi
	cut -f1-4 "$truth" | sort > "$D/$name.want"
	site_totals "$prof" "pid=$pid" > "$D/$name.got"
	if ! compare_exact "$D/$name.want" <(cut -f1-4 "$D/$name.got") > "$D/$name.diff"; then
		fail "$name" "alloc columns differ from the truth:" "$(cat "$D/$name.diff")"
	elif awk -F'\t' '$5 != 0 || $6 != 0 { exit 1 }' "$D/$name.got"; then
		pass "$name"
	else
		fail "$name" "an exited process still has inuse:" "$(cat "$D/$name.got")"
	fi
}

need_own_cgroup ready_notify || exit 0
cat > "$D/conf" <<EOF
# test configuration
listen = 127.0.0.1:0
export_dir = $D/export
export_interval = $INTERVAL
retention_count = 10000
retention_bytes = 4G
sample_rate = 1
# exact counts: load shedding must not raise the rate
shed_max_rate = 1
ringbuf_mb = 64
targets = cgroup:$OWN_CG
EOF

# A process already running (blocked) before the daemon starts.
mkfifo "$D/go"
"$SITES" --truth "$D/early.truth" --wait-fd 3 3< "$D/go" &
EARLY=$!
exec 5> "$D/go"
wait_exec $EARLY sites

WATCHDOG_USEC=400000 start_daemon "$D"
if [ -z "$PORT" ] || ! kill -0 $DPID 2> /dev/null; then
	fail ready_notify "daemon did not start:" "$(tail -5 "$D/log")"
	exit 0
fi
# READY=1 promises probes attached and the listener bound
if grep -q '^READY=1' "$D/notify.log" && [ "$(fetch /metrics "$D/m0")" = 200 ]; then
	pass ready_notify
else
	fail ready_notify "no READY=1 or no listener: $(cat "$D/notify.log")"
fi

echo go >&5
exec 5>&-
wait $EARLY
"$SITES" --truth "$D/late.truth" &
LATE=$!
wait $LATE
# One that stays: exited processes are served for a while only (2 minutes),
# and a test must not depend on how long the ones before it take.
"$SITES" --truth "$D/held.truth" --hold 3600 &
HELD=$!
wait_for "$D/held.truth" 120

# sum_totals PID FILES...: site_totals of PID summed over the profiles.
sum_totals() {
	local pid=$1 f
	shift
	for f in "$@"; do
		site_totals "$f" "pid=$pid"
	done | awk -F'\t' -v OFS='\t' '
		{ k = $1 OFS $2; keys[k]; for (i = 3; i <= 6; i++) v[k, i] += $i }
		END { for (k in keys) print k, v[k, 3], v[k, 4], v[k, 5], v[k, 6] }' | sort
}

_exported_since() {
	local n
	n=$(metric allocscope_exports_total)
	[ "${n:-0}" -gt "$1" ]
}

# Both exited before an export: the rate profiles carry them, symbolized,
# each allocation in exactly one of them (an interval may end while a
# process runs: the profiles of consecutive intervals add up to the run).
test_exited_in_export() {
	local n0 pid name
	# /metrics drains what the processes sent: the next export has it all
	n0=$(metric allocscope_exports_total)
	wait_until 120 _exported_since "${n0:-0}" ||
		{ fail exited_in_export "no export in 2 minutes after export $n0"; return; }
	for name in early late; do
		[ $name = early ] && pid=$EARLY || pid=$LATE
		cut -f1-4 "$D/$name.truth" | sort > "$D/exp.$name.want"
		sum_totals $pid "$D"/export/allocs-*.pb.gz | cut -f1-4 > "$D/exp.$name.got"
		if ! compare_exact "$D/exp.$name.want" "$D/exp.$name.got" > "$D/exp.$name.diff"; then
			fail exited_in_export "the $name process's allocations summed over" \
				"$(ls "$D"/export/allocs-*.pb.gz | wc -l) rate profiles differ from its truth:" \
				"$(cat "$D/exp.$name.diff")"
			return
		fi
	done
	pass exited_in_export
}
test_exited_in_export

_exports_at_least() {
	[ "$(ls "$D"/export/allocs-*.pb.gz 2> /dev/null | wc -l)" -ge "$1" ] &&
		[ "$(ls "$D"/export/heap-*.pb.gz 2> /dev/null | wc -l)" -ge "$1" ]
}

test_exports_each_interval() {
	local f err
	wait_until 120 _exports_at_least 2 ||
		{ fail exports_each_interval "$(ls "$D"/export | tr '\n' ' ') after 2 minutes"; return; }
	for f in "$D"/export/*.pb.gz; do
		if ! err=$(pprof_check_clean "$f"); then
			fail exports_each_interval "$f: $err"
			return
		fi
	done
	# names sort by time; the rate profiles cover their interval
	[ "$(cd "$D/export" && ls allocs-* | sort | tr '\n' ' ')" = \
		"$(cd "$D/export" && ls -tr allocs-* | tr '\n' ' ')" ] &&
		pprof_header "$(ls "$D"/export/allocs-*.pb.gz | tail -1)" | grep -q '^duration_set=1' ||
		{ fail exports_each_interval "names or durations wrong"; return; }
	pass exports_each_interval
}
test_exports_each_interval

[ "$(fetch /debug/pprof/allocs "$D/allocs1.pb.gz")" = 200 ] || fail allocs_fetch "status not 200"
exact_alloc late_process_exact "$D/late.truth" "$D/allocs1.pb.gz" $LATE
exact_alloc early_process_exact "$D/early.truth" "$D/allocs1.pb.gz" $EARLY

# An allocator nobody used before: picked up from the process's exec.
test_new_allocator() {
	local lib=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 pid
	[ -r "$lib" ] || { fail new_allocator "$lib not installed (scripts/install-deps.sh test)"; return; }
	mkfifo "$D/go2"
	LD_PRELOAD=$lib "$SITES" --truth "$D/je.truth" --skip site_pvalloc --wait-fd 3 3< "$D/go2" &
	pid=$!
	exec 6> "$D/go2"
	# the daemon reads a new process's mappings 50 ms and 1 s after its exec
	wait_until 120 grep -q "probing $lib" "$D/log"
	echo go >&6
	exec 6>&-
	wait $pid
	grep -q "probing $lib" "$D/log" || { fail new_allocator "$lib not probed"; return; }
	fetch "/debug/pprof/allocs?pid=$pid" "$D/je.pb.gz" > /dev/null
	exact_alloc new_allocator "$D/je.truth" "$D/je.pb.gz" $pid
}
test_new_allocator

test_not_itself() {
	if [ "$(samples_with "pid=$DPID" "$D/allocs1.pb.gz")" -ne 0 ]; then
		fail not_itself "the daemon's own allocations are in its profile"
	else
		pass not_itself
	fi
}
test_not_itself

test_concurrent_scrapes() {
	local i codes pids=()
	for i in 1 2 3; do
		fetch /debug/pprof/allocs "$D/c$i.a" > "$D/c$i.a.code" &
		pids+=($!)
		fetch /debug/pprof/heap "$D/c$i.h" > "$D/c$i.h.code" &
		pids+=($!)
		fetch /metrics "$D/c$i.m" > "$D/c$i.m.code" &
		pids+=($!)
	done
	fetch "/debug/pprof/heap?seconds=2" "$D/c.d" > "$D/c.d.code" &
	pids+=($!)
	wait "${pids[@]}"
	codes=$(cat "$D"/c*.code | grep -o '[0-9][0-9][0-9]' | sort | uniq -c | tr -s ' ')
	if [ "$codes" = " 10 200" ] && pprof_check_clean "$D/c2.a" > /dev/null &&
		pprof_check_clean "$D/c.d" > /dev/null; then
		pass concurrent_scrapes
	else
		fail concurrent_scrapes "status codes: $codes"
	fi
}
test_concurrent_scrapes

test_watchdog() {
	local n
	n=$(grep -c '^WATCHDOG=1' "$D/notify.log")
	if [ "$n" -ge 2 ]; then
		pass watchdog
	else
		fail watchdog "$n WATCHDOG=1 with WATCHDOG_USEC=400000"
	fi
}
test_watchdog

test_labels() {
	local l
	l=$(pprof_samples "$D/allocs1.pb.gz" | awk -F'\t' -v p="pid=$LATE" \
		'index($2, p) && $3 ~ /^site_leak/ { print $2; exit }')
	if [[ $l == *"comm=sites"* && $l == *"exe=$SITES"* ]]; then
		pass labels
	else
		fail labels "labels of the late process: $l"
	fi
}
test_labels

test_pid_filter() {
	local f=$D/pid.pb.gz others
	fetch "/debug/pprof/heap?pid=$HELD" "$f" > /dev/null
	others=$(pprof_samples "$f" | grep -v "pid=$HELD" | wc -l)
	site_totals "$f" | grep -q '^site_leak' && [ "$others" -eq 0 ] ||
		{ fail pid_filter "?pid=$HELD: $others samples of other processes"; return; }
	pass pid_filter
}
test_pid_filter

test_fetch_by_url() {
	local out
	out=$(HOME=$TMPROOT go tool pprof -top -sample_index=alloc_space \
		"$(url "/debug/pprof/allocs?pid=$HELD")" 2>&1)
	if grep -q 'Type: alloc_space' <<< "$out" && grep -q 'site_realloc' <<< "$out"; then
		pass fetch_by_url
	else
		fail fetch_by_url "$out"
	fi
}
test_fetch_by_url

# ?seconds=N: only what happens during the window, with its duration. When
# the window opens is not seen from here: a canary run before the workload,
# and one after it, each whole in the delta, show that the window held the
# workload's whole run; else the window opened late or closed early (a
# busy machine), and it is tried again, later in a longer one.
delta_window() {
	local w=$1 f=$D/delta.pb.gz c code pid c1 c2 dur
	fetch "/debug/pprof/allocs?seconds=$w" "$f" > "$D/delta.code" &
	c=$!
	# the request reaches the daemon, which opens the window: checked below
	sleep $((w / 3))
	"$SITES" 0.05 --truth "$D/canary1.truth" &
	c1=$!
	wait $c1
	"$SITES" --truth "$D/delta.truth" &
	pid=$!
	wait $pid
	"$SITES" 0.05 --truth "$D/canary2.truth" &
	c2=$!
	wait $c2
	wait $c
	code=$(cat "$D/delta.code")
	[ "$code" = 200 ] || { fail delta_seconds "status $code"; return 2; }
	whole "$D/canary1.truth" "$f" $c1 && whole "$D/canary2.truth" "$f" $c2 || return 1
	# %.4v: "3s", "3.00"; answered at the window's end or later
	dur=$(pprof_header "$f" | sed -n 's/^duration=//p')
	awk -v d="${dur%s}" -v w="$w" 'BEGIN { exit !(d + 0 >= w) }' ||
		{ fail delta_seconds "duration $dur, window $w s"; return 2; }
	if site_totals "$f" "pid=$HELD" | grep -q .; then
		fail delta_seconds "the delta holds a process from before its window"
		return 2
	fi
	# alloc columns exact; inuse is a net change: the process freed all but its leak,
	# then exited, so its inuse change is 0
	exact_alloc delta_seconds "$D/delta.truth" "$f" $pid
}

# whole TRUTH PROFILE PID: the profile has all of PID's allocations.
whole() {
	compare_exact <(cut -f1-4 "$1") <(site_totals "$2" "pid=$3" | cut -f1-4) > /dev/null
}

test_delta() {
	local w
	for w in 6 12 24 48 96; do
		delta_window $w
		[ $? -eq 1 ] || return
		echo "    delta_seconds: a window of $w s did not hold the whole run: trying a longer one"
	done
	fail delta_seconds "no window up to 96 s held a run of the workload"
}
test_delta

# alloc values never decrease for a given (labels, stack) while the daemon runs.
# Unnamed frames become "?": pprof's reader merges a file's mappings across
# processes and keeps one process's address for a location.
keyed() {
	pprof_samples "$1" | awk -F'\t' -v OFS='\t' '{ gsub(/0x[0-9a-f]+/, "?", $3); print }'
}

# A process gone for 2 minutes leaves the profiles whole (it is evicted),
# and so does an image a process exec'ed away from (the shell that forked
# a workload, under the workload's pid); a pid may then name another
# process with the same labels. The check holds for this script's
# workloads' sites, of those still in the second profile (the one held
# alive must be).
test_cumulative() {
	local a=$D/cum1.pb.gz b=$D/cum2.pb.gz
	fetch /debug/pprof/allocs "$a" > /dev/null
	"$SITES" 0.1 --truth "$D/cum.truth"
	fetch /debug/pprof/allocs "$b" > /dev/null
	if [ "$(samples_with "pid=$HELD" "$b")" -eq 0 ]; then
		fail cumulative_never_decreases "the live process $HELD is gone from the profile"
		return
	fi
	if awk -F'\t' -v early=$EARLY -v late=$LATE -v held=$HELD '
		function pid(l,   n, i, x) {
			n = split(l, x, ",")
			for (i = 1; i <= n; i++) if (x[i] ~ /^pid=/) return x[i]
		}
		BEGIN { ours["pid=" early]; ours["pid=" late]; ours["pid=" held] }
		FNR == NR { k = $2 "|" $3; split($1, v, " "); ao[k] += v[1]; as[k] += v[2]; ap[k] = pid($2); next }
		{ k = $2 "|" $3; split($1, v, " "); bo[k] += v[1]; bs[k] += v[2]; in_b[pid($2)] = 1 }
		END { for (k in ao) if ((ap[k] in ours) && (ap[k] in in_b) && k ~ /\|site_/ &&
			(!(k in bo) || bo[k] < ao[k] || bs[k] < as[k])) {
			print "decreased: " k; bad = 1 }
			exit bad }' <(keyed "$a") <(keyed "$b") > "$D/cum.diff"; then
		pass cumulative_never_decreases
	else
		fail cumulative_never_decreases "$(head -5 "$D/cum.diff")"
	fi
}
test_cumulative

test_metrics() {
	local m=$D/metrics ct bad
	ct=$(curl -s -o "$m" -w '%{content_type}' "$(url /metrics)")
	[[ $ct == "text/plain; version=0.0.4"* ]] || { fail metrics "content type $ct"; return; }
	# every line: a comment, or name{labels} value
	bad=$(grep -vE '^(# (HELP|TYPE) [a-z_:][a-z0-9_:]* .*|[a-z_:][a-z0-9_:]*(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.e+-]+)$' "$m")
	[ -z "$bad" ] || { fail metrics "unparsable lines:" "$bad"; return; }
	awk '$1 == "allocscope_samples_total" && $2 > 0 { s = 1 }
		/^allocscope_dropped_total\{reason="ringbuf_full"\}/ { d = 1 }
		/^allocscope_probes_info\{mechanism="uprobe-session"\} 1/ { p = 1 }
		/^process_resident_memory_bytes / { r = 1 }
		END { exit !(s && d && p && r) }' "$m" ||
		{ fail metrics "missing metrics in:" "$(head -40 "$m")"; return; }
	pass metrics
}
test_metrics

# Go's handlers' errors: 400 with a text/plain body and X-Go-Pprof: 1
test_bad_requests() {
	local q code hdr
	for q in "seconds=abc" "seconds=-2" "pid=x" "debug=1"; do
		code=$(curl -s -D "$D/h" -o "$D/body" -w '%{http_code}' "$(url "/debug/pprof/allocs?$q")")
		hdr=$(tr -d '\r' < "$D/h")
		if [ "$code" != 400 ] || ! grep -qi '^x-go-pprof: 1' <<< "$hdr" ||
			! grep -qi '^content-type: text/plain' <<< "$hdr"; then
			fail bad_requests "?$q: $code" "$hdr"
			return
		fi
		if [[ $q == seconds=* ]] && ! grep -qx 'invalid value for "seconds" - must be a positive integer' "$D/body"; then
			fail bad_requests "?$q: body $(cat "$D/body")"
			return
		fi
	done
	[ "$(fetch /debug/pprof/nope "$D/x")" = 404 ] &&
		[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$(url /debug/pprof/heap)")" = 405 ] ||
		{ fail bad_requests "unknown path or method not refused"; return; }
	pass bad_requests
}
test_bad_requests

# SIGHUP: a new sample rate, the data collected so far kept.
test_reload() {
	local before after
	site_totals "$D/allocs1.pb.gz" "pid=$HELD" > "$D/before"
	sed -i 's/^sample_rate = 1$/sample_rate = 4096/' "$D/conf"
	kill -HUP $DPID
	wait_until 60 grep -q 'STATUS=reloaded' "$D/notify.log"
	fetch /metrics "$D/m1" > /dev/null
	grep -q '^allocscope_sample_rate_bytes 4096$' "$D/m1" ||
		{ fail reload_keeps_data "sample rate not applied"; return; }
	fetch /debug/pprof/allocs "$D/allocs2.pb.gz" > /dev/null
	site_totals "$D/allocs2.pb.gz" "pid=$HELD" > "$D/after"
	compare_exact "$D/before" "$D/after" > "$D/reload.diff" ||
		{ fail reload_keeps_data "data changed:" "$(cat "$D/reload.diff")"; return; }
	pass reload_keeps_data
}
test_reload

# Each site of pid's run (truth file given) within its sampling bound at 4096.
check_sampled() {
	local name=$1 truth=$2 pid=$3 got
	fetch /debug/pprof/allocs "$D/$name.pb.gz" > /dev/null
	cut -f1-4 "$truth" | awk -F'\t' '{ print $0 "\t0\t0" }' > "$D/$name.want"
	site_totals "$D/$name.pb.gz" "pid=$pid" > "$D/$name.got"
	if got=$(compare_sampled "$D/$name.want" "$D/$name.got" 4096 alloc); then
		pass $name
	else
		fail $name "$got" \
			"samples of pid $pid: $(samples_with "pid=$pid" "$D/$name.pb.gz"), e.g.:" \
			"$(pprof_samples "$D/$name.pb.gz" | grep -F "pid=$pid" | head -3)"
	fi
}

# Now sampled at 4096.
"$SITES" --truth "$D/sampled.truth" &
pid=$!
wait $pid
check_sampled sampled_estimates "$D/sampled.truth" $pid

# The main thread held up (as by a long export) while a short process runs
# and exits: the keeper thread read its mappings at its first sample.
if pid=$("$WORKLOADS/stall_thread" $DPID "$SITES" --truth "$D/busy.truth" 2> /dev/null); then
	check_sampled gone_while_busy "$D/busy.truth" $pid
else
	fail gone_while_busy "stall_thread failed"
fi

kill $HELD
wait $HELD 2> /dev/null

test_sigterm() {
	local last0 last1 rc
	last0=$(ls "$D"/export/allocs-*.pb.gz | tail -1)
	sleep 0.1
	stop_daemon
	rc=$?
	last1=$(ls "$D"/export/allocs-*.pb.gz | tail -1)
	[ $rc -eq 0 ] && [[ $last1 > $last0 ]] && grep -q '^STOPPING=1' "$D/notify.log" ||
		{ fail sigterm_final_export "rc $rc, newest export $last0 -> $last1"; return; }
	pass sigterm_final_export
}
test_sigterm

# --targets comm:NAME: a process of that name counts, exactly; another one
# does not. NAME is a copy's, which no other process on the host has; both
# run their image before the daemon starts, so its first scan decides.
test_targets() {
	local t=$(case_dir targets) tgt pid other f
	tgt=$(unique_copy "$SITES" tsites) || { fail targets "cannot copy $SITES"; return; }
	printf 'listen = 127.0.0.1:0\nexport_interval = 0\nsample_rate = 1\nshed_max_rate = 1\n' > "$t/conf"
	mkfifo "$t/go"
	"$tgt" 0.2 --truth "$t/truth" --wait-fd 3 3< "$t/go" &
	pid=$!
	"$SITES" 0.2 --truth "$t/other.truth" --wait-fd 3 3< "$t/go" &
	other=$!
	exec 7> "$t/go"
	wait_exec $pid "${tgt##*/}" && wait_exec $other sites
	start_daemon "$t" --targets "comm:${tgt##*/}"
	# one write for both readers (a byte each): a second could find them gone, and SIGPIPE
	echo go >&7
	exec 7>&-
	wait $pid $other
	[ -n "$PORT" ] || { fail targets "daemon did not start: $(tail -3 "$t/log")"; return; }
	f=$t/p.pb.gz
	curl -s -o "$f" "$(url /debug/pprof/allocs)"
	D=$t exact_alloc targets "$t/truth" "$f" $pid
	stop_daemon
	if pprof_samples "$f" | grep -v "comm=${tgt##*/}" | grep -q .; then
		fail targets_only "samples of other processes:" \
			"$(pprof_samples "$f" | grep -v "comm=${tgt##*/}" | head -3)"
	else
		pass targets_only
	fi
}
test_targets

test_check_config() {
	local t=$(case_dir check_config) out rc
	printf 'listen = 127.0.0.1:7777\nsample_rate = 64K\n' > "$t/good"
	out=$("$ALLOCSCOPE" daemon --check-config --config "$t/good" 2>&1)
	rc=$?
	[ $rc -eq 0 ] || { fail check_config "good config: $rc $out"; return; }
	printf 'listen = 127.0.0.1:7777\n\nsample_rate = lots\n' > "$t/bad"
	out=$("$ALLOCSCOPE" daemon --check-config --config "$t/bad" 2>&1)
	rc=$?
	[ $rc -eq 1 ] && [[ $out == "allocscope: $t/bad:3: "* ]] && [ "$(wc -l <<< "$out")" -eq 1 ] ||
		{ fail check_config "bad config: rc $rc: $out"; return; }
	out=$("$ALLOCSCOPE" daemon --check-config --config "$t/good" --sample-rate 0 2>&1)
	[ $? -eq 1 ] || { fail check_config "bad override accepted: $out"; return; }
	pass check_config
}
test_check_config

# --targets pid:N uses pid-filtered probes: other processes do not count.
test_targets_pid() {
	local t=$(case_dir targets_pid) p q f
	printf 'listen = 127.0.0.1:0\nexport_interval = 0\nsample_rate = 1\nshed_max_rate = 1\n' > "$t/conf"
	mkfifo "$t/go"
	"$SITES" 0.2 --truth "$t/p.truth" --wait-fd 3 3< "$t/go" &
	p=$!
	"$SITES" 0.2 --truth "$t/q.truth" --wait-fd 3 3< "$t/go" &
	q=$!
	exec 7> "$t/go"
	wait_exec $p sites && wait_exec $q sites
	start_daemon "$t" --targets "pid:$p"
	# one write for both readers (a byte each): a second could find them gone, and SIGPIPE
	echo go >&7
	exec 7>&-
	wait $p $q
	f=$t/p.pb.gz
	curl -s -o "$f" "$(url /debug/pprof/allocs)"
	D=$t exact_alloc targets_pid "$t/p.truth" "$f" $p
	stop_daemon
	if [ "$(pprof_samples "$f" | wc -l)" -ne "$(samples_with "pid=$p" "$f")" ]; then
		fail targets_pid_only "samples of other processes"
	else
		pass targets_pid_only
	fi
}
test_targets_pid

# has_samples PID: the daemon has samples of PID.
has_samples() {
	fetch "/debug/pprof/allocs?pid=$1" "$TMPROOT/has.$1.pb.gz" > /dev/null &&
		[ "$(samples_with "pid=$1" "$TMPROOT/has.$1.pb.gz")" -gt 0 ]
}

# --targets cgroup:PATH,exe:PATH: a process in the cgroup (one below the
# test's own), and an executable started later; a process outside both
# does not count. The later one finds its way into the targets from its
# exec event, some time after it runs: it allocates, slowly, until seen.
test_targets_cgroup_exe() {
	local t=$(case_dir targets_cg) cg p q c f exe
	need_own_cgroup targets_cgroup_exe || return
	cg=$(cg_new targets_cg) || { fail targets_cgroup_exe "cannot make a cgroup below $OWN_CG"; return; }
	exe=$(unique_copy "$WORKLOADS/churn" tchurn) || { fail targets_cgroup_exe "cannot copy churn"; return; }
	printf 'listen = 127.0.0.1:0\nexport_interval = 0\nsample_rate = 1\nshed_max_rate = 1\n' > "$t/conf"
	mkfifo "$t/go"
	"$SITES" 0.2 --truth "$t/p.truth" --wait-fd 3 3< "$t/go" &
	p=$!
	cg_enter "$cg" $p
	"$SITES" 0.2 --truth "$t/q.truth" --wait-fd 3 3< "$t/go" &
	q=$!
	exec 7> "$t/go"
	wait_exec $p sites && wait_exec $q sites
	start_daemon "$t" --targets "cgroup:$cg,exe:$exe"
	# one write for both readers (a byte each): a second could find them gone, and SIGPIPE
	echo go >&7
	exec 7>&-
	wait $p $q
	"$exe" 1000000000 --pace 1000 > /dev/null &
	c=$!
	wait_until 120 has_samples $c
	kill $c
	wait $c 2> /dev/null
	f=$t/p.pb.gz
	curl -s -o "$f" "$(url /debug/pprof/allocs)"
	stop_daemon
	if ! site_totals "$f" "pid=$p" | grep -q '^site_leak'; then
		fail targets_cgroup_exe "the process in $cg was not profiled"
	elif [ "$(samples_with "pid=$q" "$f")" -ne 0 ]; then
		fail targets_cgroup_exe "a process outside the targets was profiled"
	elif [ "$(samples_with "pid=$c" "$f")" -eq 0 ]; then
		fail targets_cgroup_exe "exe:$exe, started later, was not profiled in 2 minutes"
	elif [ "$(pprof_samples "$f" | wc -l)" -ne \
		$(($(samples_with "pid=$p" "$f") + $(samples_with "pid=$c" "$f"))) ]; then
		fail targets_cgroup_exe "samples of other processes"
	else
		pass targets_cgroup_exe
	fi
}
test_targets_cgroup_exe

_export_errors() {
	local n
	n=$(metric allocscope_export_errors_total 'reason="mkdir"')
	[ "${n:-0}" -ge "$1" ]
}

# An export directory that cannot be created: counted, logged once, retried;
# exports resume once it can; retention keeps the newest.
test_export_errors() {
	local t=$(case_dir export_errors) n logged files
	printf 'listen = 127.0.0.1:0\nexport_dir = %s/file/profiles\nexport_interval = 1\nretention_count = 3\n' \
		"$t" > "$t/conf"
	touch "$t/file"
	start_daemon "$t" --targets "pid:$$"
	[ -n "$PORT" ] || { fail export_errors "daemon did not start: $(tail -3 "$t/log")"; return; }
	wait_until 120 _export_errors 2
	n=$(metric allocscope_export_errors_total 'reason="mkdir"')
	logged=$(grep -c 'cannot export' "$t/log")
	kill -0 $DPID 2> /dev/null || { fail export_errors "the daemon died"; return; }
	rm "$t/file"
	# two exports after it: four files written, retention keeps three
	wait_until 120 _exported_since 1
	stop_daemon
	files=$(ls "$t/file/profiles" 2> /dev/null | wc -l)
	if [ "${n:-0}" -lt 2 ] || [ "$logged" -ne 1 ]; then
		fail export_errors "errors counted ${n:-0}, logged $logged times"
	elif [ "$files" -ne 3 ]; then
		fail export_errors "after recovery, with retention_count 3: $files files"
	else
		pass export_errors
	fi
}
test_export_errors

# targets = all (the default): every process on the host counts, so every
# allocation on the host traps meanwhile: kept short and sampled. What it
# asserts holds whatever else the host runs: a process of ours is profiled,
# with its labels and its allocator's sites, and the daemon is not.
test_targets_all() {
	local t=$(case_dir targets_all) pid f l
	printf 'listen = 127.0.0.1:0\nexport_interval = 0\nsample_rate = 512K\n' > "$t/conf"
	start_daemon "$t"
	[ -n "$PORT" ] || { fail targets_all "daemon did not start: $(tail -3 "$t/log")"; return; }
	# its leak alone is 16 MB: 32 samples expected at 512 KiB, none with
	# probability e^-32
	"$SITES" 4 --truth "$t/truth" &
	pid=$!
	wait $pid
	f=$t/p.pb.gz
	# ?pid=: the whole host's profile is not this test's to build
	fetch "/debug/pprof/allocs?pid=$pid" "$f" > /dev/null
	fetch "/debug/pprof/allocs?pid=$DPID" "$t/self.pb.gz" > /dev/null
	stop_daemon
	l=$(pprof_samples "$f" | awk -F'\t' '$3 ~ /^site_leak/ { print $2; exit }')
	if [[ $l != *"pid=$pid"* || $l != *"comm=sites"* || $l != *"exe=$SITES"* ]]; then
		fail targets_all "no site_leak of pid $pid with its labels: '$l'"
	elif [ "$(samples_with "pid=$DPID" "$t/self.pb.gz")" -ne 0 ]; then
		fail targets_all "the daemon's own allocations are in its profile"
	else
		pass targets_all
	fi
}
test_targets_all

# --- values, comments, time stamps (issue 10's smaller defects) ---
# Each starts its own daemon on its own workload process (--targets pid:N), so that it
# neither traces the host nor depends on the cases above.

# smalls_daemon DIR EXTRA_CONF: a sites process run to its end under a daemon that targets
# it alone; sets SPID (the process, exited and still served), DPID, NPID and PORT.
smalls_daemon() {
	local t=$1
	printf 'listen = 127.0.0.1:0\nsample_rate = 1\nshed_max_rate = 1\n%b' "$2" > "$t/conf"
	mkfifo "$t/go"
	"$SITES" 0.2 --truth "$t/truth" --wait-fd 3 3< "$t/go" &
	SPID=$!
	exec 8> "$t/go"
	start_daemon "$t" --targets "pid:$SPID"
	echo go >&8
	exec 8>&-
	wait $SPID
}

# ?pid= and ?seconds= in the one dialect: no wrap at 32 bits, no sign, no blank, no "%00";
# a pid out of range is a 400 as Go answers a bad parameter, a pid with no samples a 404.
test_param_spellings() {
	local t=$(case_dir params) q code bad=() want
	smalls_daemon "$t" 'export_interval = 0\n'
	[ -n "$PORT" ] || { fail param_spellings "daemon did not start: $(tail -3 "$t/log")"; return; }
	for q in "pid=$((SPID + 4294967296))" "pid=99999999" "pid=4194305" "pid=0" "pid=+$SPID" \
		"pid=%20$SPID" "pid=$SPID%20" "pid=$SPID%00" "pid=$SPID%001" "pid=" "pid=0x10" \
		"seconds=+1" "seconds=%201" "seconds=1%00" "seconds=1%007" "seconds=0" \
		"seconds=4294967297" "seconds=99999999999999999999" "seconds=1.5"; do
		code=$(curl -s -m 20 -o "$t/body" -w '%{http_code}' "$(url "/debug/pprof/allocs?$q")")
		[ "$code" = 400 ] || bad+=("?$q: $code $(head -c 200 "$t/body" | tr -cd "[:print:]")")
	done
	# the process itself, in a delta too; the daemon's own pid has no samples
	for q in "pid=$SPID:200" "pid=$SPID&seconds=1:200" "pid=$DPID:404" \
		"pid=$DPID&seconds=1:404"; do
		want=${q##*:}
		q=${q%:*}
		code=$(curl -s -m 20 -o "$t/body" -w '%{http_code}' "$(url "/debug/pprof/heap?$q")")
		[ "$code" = "$want" ] || bad+=("?$q: $code, not $want: $(head -c 200 "$t/body" | tr -cd "[:print:]")")
	done
	curl -s -o "$t/p.pb.gz" "$(url "/debug/pprof/allocs?pid=$SPID")"
	site_totals "$t/p.pb.gz" "pid=$SPID" | grep -q '^site_leak' ||
		bad+=("?pid=$SPID: no site_leak of the process")
	stop_daemon
	if [ ${#bad[@]} -eq 0 ]; then
		pass param_spellings
	else
		fail param_spellings "${bad[@]}"
	fi
}
test_param_spellings

# Served and exported profiles say what they are (rate, probes, drops), as record's do; an
# exported rate profile is stamped at its interval's end, as its file name and ?seconds= are.
test_comments_and_stamps() {
	local t=$(case_dir comments) f h stamp name_ms time_ms bad=()
	smalls_daemon "$t" 'export_interval = 1\nexport_dir = '"$t"'/export\n'
	[ -n "$PORT" ] || { fail comments_and_stamps "daemon did not start: $(tail -3 "$t/log")"; return; }
	curl -s -o "$t/served.pb.gz" "$(url /debug/pprof/allocs)"
	curl -s -o "$t/delta.pb.gz" "$(url "/debug/pprof/heap?seconds=1")"
	D=$t wait_until 120 _exports_at_least 2
	stop_daemon
	for f in "$t/served.pb.gz" "$t/delta.pb.gz" "$t"/export/*.pb.gz; do
		h=$(pprof_header "$f")
		grep -q '^comment=exact: every allocation recorded (sample rate 1)$' <<< "$h" &&
			grep -q '^comment=allocscope .* probes' <<< "$h" &&
			grep -q '^comment=dropped: [0-9]* samples (ring buffer[a-z ]*full), .* processes not tracked (max_processes)$' <<< "$h" ||
			bad+=("$(basename "$f"): comments: $(grep '^comment=' <<< "$h" | tr '\n' ' ')")
	done
	f=$(ls "$t"/export/allocs-*.pb.gz | tail -1)
	[ -n "$f" ] || bad+=("no export")
	if [ -n "$f" ]; then
		# allocs-YYYYmmddTHHMMSS.mmmZ.pb.gz: the time the profile was collected
		stamp=$(basename "$f" | sed 's/^allocs-\(........\)T\(..\)\(..\)\(..\)\.\(...\)Z\.pb\.gz$/\1 \2:\3:\4.\5/')
		name_ms=$(( $(date -u -d "$stamp" +%s%N) / 1000000 ))
		time_ms=$(( $(pprof_header "$f" | sed -n 's/^time_nanos=//p') / 1000000 ))
		[ "$name_ms" = "$time_ms" ] ||
			bad+=("$(basename "$f"): time_nanos $time_ms ms, its name $name_ms ms")
	fi
	if [ ${#bad[@]} -eq 0 ]; then
		pass comments_and_stamps
	else
		fail comments_and_stamps "${bad[@]}"
	fi
}
test_comments_and_stamps
