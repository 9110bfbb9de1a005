#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# allocscope daemon: started on a temporary config and port, with workload
# processes whose allocation sites are known exactly (tests/workloads/
# sites.c): one started before the daemon, others after it, all exiting
# before the first export. Exact mode (--sample-rate 1) makes per-site
# counts exact; a reload to a sampled rate checks the estimates' bounds.
SUITE=daemon
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/daemon.sh"

SITES=$WORKLOADS/sites
INTERVAL=2
D=$(case_dir main)

# Samples the daemon dropped (it traces the whole host: a busy one can
# overflow its ring at --sample-rate 1): exact counts cannot hold then.
dropped() {
	curl -s "$(url /metrics)" | awk '/^allocscope_dropped_total/ { n += $2 } END { print n + 0 }'
}

# The daemon's alloc columns for a process equal its truth; its inuse is 0
# once it exited (its memory went with it).
exact_alloc() {
	local name=$1 truth=$2 prof=$3 pid=$4 n
	n=$(dropped)
	if [ "$n" != 0 ]; then
		fail "$name" "the daemon dropped $n samples: is something else loading the host?"
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

cat > "$D/conf" <<EOF
# test configuration
listen = 127.0.0.1:0
export_dir = $D/export
export_interval = $INTERVAL
retention_count = 10000
retention_bytes = 4G
sample_rate = 1
ringbuf_mb = 64
# exact counts: no load shedding
shed_max_rate = 1
EOF

# A process already running (blocked) before the daemon starts.
mkfifo "$D/go"
"$SITES" --truth "$D/early.truth" --wait-fd 3 3< "$D/go" &
EARLY=$!
exec 5> "$D/go"

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
sleep 0.5

# Both exited before the first export: the export carries them, symbolized.
test_exited_in_export() {
	local f
	wait_for "$D/export" 10
	for ((i = 0; i < 60; i++)); do
		f=$(ls "$D"/export/allocs-*.pb.gz 2> /dev/null | head -1)
		[ -n "$f" ] && break
		sleep 0.1
	done
	[ -n "$f" ] || { fail exited_in_export "no export after $INTERVAL s"; return; }
	if site_totals "$f" "pid=$LATE" | grep -q '^site_leak' &&
		site_totals "$f" "pid=$EARLY" | grep -q '^site_leak'; then
		pass exited_in_export
	else
		fail exited_in_export "first export lacks the exited processes' sites"
	fi
}
test_exited_in_export

test_exports_each_interval() {
	local a h f err
	sleep $((INTERVAL * 2))
	a=$(ls "$D"/export/allocs-*.pb.gz | wc -l)
	h=$(ls "$D"/export/heap-*.pb.gz | wc -l)
	[ "$a" -ge 2 ] && [ "$h" -ge 2 ] ||
		{ fail exports_each_interval "$a rate and $h live-set profiles"; return; }
	for f in "$D"/export/*.pb.gz; do
		if ! err=$(pprof_check_clean "$f"); then
			fail exports_each_interval "$f: $err"
			return
		fi
	done
	# names sort by time; the rate profiles cover their interval
	[ "$(ls "$D"/export | sort | tr '\n' ' ')" = "$(ls -tr "$D"/export | sort | tr '\n' ' ')" ] &&
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
	[ -r "$lib" ] || { skip new_allocator "$lib not installed"; return; }
	mkfifo "$D/go2"
	LD_PRELOAD=$lib "$SITES" --truth "$D/je.truth" --skip site_pvalloc --wait-fd 3 3< "$D/go2" &
	pid=$!
	exec 6> "$D/go2"
	sleep 1.5	# the daemon reads a new process's mappings 50 ms and 1 s after its exec
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
	fetch "/debug/pprof/heap?pid=$LATE" "$f" > /dev/null
	others=$(pprof_samples "$f" | grep -v "pid=$LATE" | wc -l)
	site_totals "$f" | grep -q '^site_leak' && [ "$others" -eq 0 ] ||
		{ fail pid_filter "?pid=$LATE: $others samples of other processes"; return; }
	pass pid_filter
}
test_pid_filter

test_fetch_by_url() {
	local out
	out=$(HOME=$TMPROOT go tool pprof -top -sample_index=alloc_space \
		"$(url "/debug/pprof/allocs?pid=$LATE")" 2>&1)
	if grep -q 'Type: alloc_space' <<< "$out" && grep -q 'site_realloc' <<< "$out"; then
		pass fetch_by_url
	else
		fail fetch_by_url "$out"
	fi
}
test_fetch_by_url

# ?seconds=N: only what happens during the window, with its duration.
test_delta() {
	local f=$D/delta.pb.gz code pid
	fetch "/debug/pprof/allocs?seconds=3" "$f" > "$D/delta.code" &
	local c=$!
	sleep 1
	"$SITES" --truth "$D/delta.truth" &
	pid=$!
	wait $pid
	wait $c
	code=$(cat "$D/delta.code")
	[ "$code" = 200 ] || { fail delta_seconds "status $code"; return; }
	pprof_header "$f" | grep -q '^duration=3' ||
		{ fail delta_seconds "duration: $(pprof_header "$f" | grep duration)"; return; }
	if site_totals "$f" "pid=$LATE" | grep -q .; then
		fail delta_seconds "the delta holds a process from before its window"
		return
	fi
	# alloc columns exact; inuse is a net change: the process freed all but its leak,
	# then exited, so its inuse change is 0
	exact_alloc delta_seconds "$D/delta.truth" "$f" $pid
}
test_delta

# alloc values never decrease for a given (labels, stack) while the daemon runs.
# Unnamed frames become "?": pprof's reader merges a file's mappings across
# processes and keeps one process's address for a location.
keyed() {
	pprof_samples "$1" | awk -F'\t' -v OFS='\t' '{ gsub(/0x[0-9a-f]+/, "?", $3); print }'
}

test_cumulative() {
	local a=$D/cum1.pb.gz b=$D/cum2.pb.gz
	fetch /debug/pprof/allocs "$a" > /dev/null
	"$SITES" 0.1 --truth "$D/cum.truth"
	fetch /debug/pprof/allocs "$b" > /dev/null
	if awk -F'\t' 'FNR == NR { k = $2 "|" $3; split($1, v, " "); ao[k] += v[1]; as[k] += v[2]; next }
		{ k = $2 "|" $3; split($1, v, " "); bo[k] += v[1]; bs[k] += v[2] }
		END { for (k in ao) if (!(k in bo) || bo[k] < ao[k] || bs[k] < as[k]) {
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
	site_totals "$D/allocs1.pb.gz" "pid=$LATE" > "$D/before"
	sed -i 's/^sample_rate = 1$/sample_rate = 4096/' "$D/conf"
	kill -HUP $DPID
	for ((i = 0; i < 50; i++)); do
		grep -q 'STATUS=reloaded' "$D/notify.log" && break
		sleep 0.1
	done
	fetch /metrics "$D/m1" > /dev/null
	grep -q '^allocscope_sample_rate_bytes 4096$' "$D/m1" ||
		{ fail reload_keeps_data "sample rate not applied"; return; }
	fetch /debug/pprof/allocs "$D/allocs2.pb.gz" > /dev/null
	site_totals "$D/allocs2.pb.gz" "pid=$LATE" > "$D/after"
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

# --targets comm:NAME: other processes are not counted.
test_targets() {
	local t=$(case_dir targets) pid f
	printf 'listen = 127.0.0.1:0\nexport_interval = 0\nsample_rate = 1\n' > "$t/conf"
	start_daemon "$t" --targets comm:sites
	[ -n "$PORT" ] || { fail targets "daemon did not start: $(tail -3 "$t/log")"; return; }
	"$SITES" 0.2 --truth "$t/truth" &
	pid=$!
	wait $pid
	"$WORKLOADS/churn" 20000 > /dev/null
	f=$t/p.pb.gz
	curl -s -o "$f" "$(url /debug/pprof/allocs)"
	stop_daemon
	if pprof_samples "$f" | grep -v 'comm=sites' | grep -q .; then
		fail targets "samples of other processes: $(pprof_samples "$f" | grep -v 'comm=sites' | head -3)"
	elif ! site_totals "$f" "pid=$pid" | grep -q '^site_leak'; then
		fail targets "the target was not profiled"
	else
		pass targets
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
	printf 'listen = 127.0.0.1:0\nexport_interval = 0\nsample_rate = 1\n' > "$t/conf"
	mkfifo "$t/go"
	"$SITES" 0.2 --truth "$t/p.truth" --wait-fd 3 3< "$t/go" &
	p=$!
	"$SITES" 0.2 --truth "$t/q.truth" --wait-fd 3 3< "$t/go" &
	q=$!
	exec 7> "$t/go"
	start_daemon "$t" --targets "pid:$p"
	echo go >&7
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

# --targets cgroup:PATH,exe:PATH: a process in the cgroup, and an executable
# started later; a process outside both does not count.
test_targets_cgroup_exe() {
	local t=$(case_dir targets_cg) root cg p q f
	root=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
	[ -n "$root" ] || { skip targets_cgroup_exe "no cgroup2 mount"; return; }
	cg=/allocscope-test-$$
	mkdir "$root$cg" 2> /dev/null || { skip targets_cgroup_exe "cannot create a cgroup"; return; }
	printf 'listen = 127.0.0.1:0\nexport_interval = 0\nsample_rate = 1\n' > "$t/conf"
	mkfifo "$t/go"
	"$SITES" 0.2 --truth "$t/p.truth" --wait-fd 3 3< "$t/go" &
	p=$!
	echo $p > "$root$cg/cgroup.procs"
	"$SITES" 0.2 --truth "$t/q.truth" --wait-fd 3 3< "$t/go" &
	q=$!
	exec 7> "$t/go"
	start_daemon "$t" --targets "cgroup:$cg,exe:$WORKLOADS/churn"
	echo go >&7
	echo go >&7
	exec 7>&-
	wait $p $q
	"$WORKLOADS/churn" 20000 > /dev/null
	f=$t/p.pb.gz
	curl -s -o "$f" "$(url /debug/pprof/allocs)"
	stop_daemon
	rmdir "$root$cg" 2> /dev/null
	if ! site_totals "$f" "pid=$p" | grep -q '^site_leak'; then
		fail targets_cgroup_exe "the process in $cg was not profiled"
	elif [ "$(samples_with "pid=$q" "$f")" -ne 0 ]; then
		fail targets_cgroup_exe "a process outside the targets was profiled"
	elif ! pprof_samples "$f" | grep -q 'comm=churn'; then
		fail targets_cgroup_exe "exe:$WORKLOADS/churn, started later, was not profiled"
	else
		pass targets_cgroup_exe
	fi
}
test_targets_cgroup_exe

# An export directory that cannot be created: counted, logged once, retried;
# exports resume once it can; retention keeps the newest.
test_export_errors() {
	local t=$(case_dir export_errors) n logged files
	printf 'listen = 127.0.0.1:0\nexport_dir = %s/file/profiles\nexport_interval = 1\nretention_count = 3\n' \
		"$t" > "$t/conf"
	touch "$t/file"
	start_daemon "$t"
	sleep 3.5
	n=$(curl -s "$(url /metrics)" | awk '/^allocscope_export_errors_total\{reason="mkdir"\}/ { print $2 }')
	logged=$(grep -c 'cannot export' "$t/log")
	kill -0 $DPID 2> /dev/null || { fail export_errors "the daemon died"; return; }
	rm "$t/file"
	sleep 6
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

# --- values, comments, time stamps (issue 10's smaller defects) ---
# Each starts its own daemon on its own workload process (--targets pid:N), so that it
# neither traces the host nor depends on the cases above.

# smalls_daemon DIR EXTRA_CONF: a sites process run to its end under a daemon that targets
# it alone; sets SPID (the process, exited and still served), DPID, NPID and PORT.
smalls_daemon() {
	local t=$1
	printf 'listen = 127.0.0.1:0\nsample_rate = 1\n%b' "$2" > "$t/conf"
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
	for ((i = 0; i < 100; i++)); do
		[ "$(ls "$t"/export/allocs-*.pb.gz 2> /dev/null | wc -l)" -ge 2 ] && break
		sleep 0.1
	done
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
