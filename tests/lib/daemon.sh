# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# daemon.sh - run `allocscope daemon` in a test (bash; source it after
# lib.sh). A test's daemon traces the test's own processes: its config (or
# --targets) names the test's cgroup ($OWN_CG: the script and everything it
# starts), a pid, or the comm of a uniquely named copy (unique_copy), so that
# what else runs on the host neither loads it nor shows in its profiles.

# start_daemon DIR [OPTIONS]: the daemon on DIR/conf, its log in DIR/log;
# sets DPID, NPID (its notify socket's listener) and PORT; returns once it
# sent READY=1 (probes attached, listener bound), or died, or 2 minutes passed.
start_daemon() {
	local dir=$1
	shift
	"$WORKLOADS/notify_listen" "$dir/notify" > "$dir/notify.log" &
	NPID=$!
	wait_for "$dir/notify" 60
	NOTIFY_SOCKET=$dir/notify WATCHDOG_USEC=${WATCHDOG_USEC:-} \
		"$ALLOCSCOPE" daemon -v --config "$dir/conf" "$@" > "$dir/log" 2>&1 &
	DPID=$!
	wait_until 120 _daemon_up "$dir"
	PORT=$(sed -n 's/.*listening on .* (port \([0-9]*\)).*/\1/p' "$dir/log" | head -1)
}

_daemon_up() {
	grep -q '^READY=1' "$1/notify.log" || ! kill -0 "$DPID" 2> /dev/null
}

# stop_daemon: SIGTERM, and its exit status; KILL (137) if it has not
# exited in 2 minutes.
stop_daemon() {
	local rc
	kill -TERM "$DPID" 2> /dev/null
	wait_until 120 exited "$DPID" || kill -KILL "$DPID" 2> /dev/null
	wait "$DPID"
	rc=$?
	kill "$NPID" 2> /dev/null
	wait "$NPID" 2> /dev/null
	return $rc
}

url() { echo "http://127.0.0.1:$PORT$1"; }

# curl, but a daemon that does not answer in 5 minutes fails the case
# rather than hang the test until its time-out.
curl() { command curl --max-time "${CURL_MAX_TIME:-300}" "$@"; }

# fetch PATH FILE: the body into FILE; prints the status code.
fetch() { curl -s -o "$2" -w '%{http_code}' "$(url "$1")"; }

# metric NAME [LABELS]: the value of a /metrics line, summed over its labels
# when LABELS is not given ("" when the metric is absent).
metric() {
	curl -s "$(url /metrics)" | awk -v n="$1" -v l="${2:-}" '
		l == "" && ($1 == n || index($1, n "{") == 1) { v += $2; found = 1 }
		l != "" && $1 == n "{" l "}" { v = $2; found = 1 }
		END { if (found) print v }'
}

# Samples the daemon dropped: exact counts cannot hold then.
dropped() {
	local n
	n=$(metric allocscope_dropped_total)
	echo "${n:-0}"
}

# wait_exec PID NAME: until PID runs NAME (its exec done: a daemon started
# now sees it as it will be, in its first scan).
wait_exec() {
	wait_until 60 grep -qx "${2:0:15}" "/proc/$1/comm"
}
