# SPDX-License-Identifier: GPL-2.0-only
#
# daemon.sh - start, reach and stop "allocscope daemon" in integration
# tests. Source it after lib.sh.

# start_daemon DIR [OPTIONS]: sets DPID, NPID and PORT; READY=1 awaited.
start_daemon() {
	local dir=$1 i
	shift
	"$WORKLOADS/notify_listen" "$dir/notify" > "$dir/notify.log" &
	NPID=$!
	wait_for "$dir/notify" 5
	NOTIFY_SOCKET=$dir/notify WATCHDOG_USEC=${WATCHDOG_USEC:-} \
		"$ALLOCSCOPE" daemon -v --config "$dir/conf" "$@" > "$dir/log" 2>&1 &
	DPID=$!
	for ((i = 0; i < 200; i++)); do
		grep -q '^READY=1' "$dir/notify.log" && break
		kill -0 $DPID 2> /dev/null || break
		sleep 0.1
	done
	PORT=$(sed -n 's/.*listening on .* (port \([0-9]*\)).*/\1/p' "$dir/log" | head -1)
}

stop_daemon() {
	kill -TERM $DPID 2> /dev/null
	wait $DPID
	local rc=$?
	kill $NPID 2> /dev/null
	wait $NPID 2> /dev/null
	return $rc
}

url() { echo "http://127.0.0.1:$PORT$1"; }

# fetch PATH FILE: the body into FILE; prints the status code.
fetch() { curl -s -o "$2" -w '%{http_code}' "$(url "$1")"; }
