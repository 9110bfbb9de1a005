#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The daemon's HTTP endpoint against hostile clients, and who may read it: 1,000 idle and 100
# slow-header connections while /metrics and a profile are fetched, the per-client limit, the
# header deadline, the Unix socket's mode and group, bearer and basic credentials, TLS, and the
# modes of exported files. Each daemon traces this script's shell only (--targets pid:$$).
SUITE=endpoint
. "$(dirname "$0")/../lib/lib.sh"

CONNS=$WORKLOADS/conns
PIDS=()
SOCKDIR=$(mktemp -d /tmp/allocscope-endpoint.XXXXXX)
# nobody must reach the socket's own mode: its directory is searchable by all
chmod 755 "$SOCKDIR"

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2> /dev/null
	done
	wait 2> /dev/null
	rm -rf "$SOCKDIR"
}
at_exit cleanup	# after lib.sh killed what the script started

# start_daemon DIR: the daemon on DIR/conf; sets DPID and PORT (empty if it did not start).
start_daemon() {
	local dir=$1 i
	PORT=
	# timeout itself in the background, not a function's subshell: $! gets the signal
	timeout -k 5 120 "$ALLOCSCOPE" daemon -v --config "$dir/conf" --targets "pid:$$" \
		> "$dir/log" 2>&1 &
	DPID=$!
	PIDS+=($DPID)
	for ((i = 0; i < 300; i++)); do
		grep -q 'allocscope: ready:' "$dir/log" && break
		kill -0 $DPID 2> /dev/null || break
		sleep 0.1
	done
	PORT=$(sed -n 's/.*listening on .* (port \([0-9]*\)).*/\1/p' "$dir/log" | head -1)
}

stop_daemon() {
	kill -TERM $DPID 2> /dev/null
	wait $DPID 2> /dev/null
}

# timed URL [CURL OPTIONS]: "CODE SECONDS" of one GET, at most 5 s.
timed() {
	local url=$1
	shift
	curl -s -o /dev/null --max-time 5 -w '%{http_code} %{time_total}\n' "$@" "$url"
}

# metric NAME_AND_LABELS URL [CURL OPTIONS]: a sample's value, 0 if absent.
metric() {
	local name=$1 url=$2
	shift 2
	curl -s --max-time 5 "$@" "$url" |
		awk -v n="$name" '$1 == n { v = $2 } END { print v + 0 }'
}

# wait_ready FILE SECONDS: until a conns helper printed "ready".
wait_ready() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		grep -q '^ready' "$1" && return 0
		sleep 0.1
	done
	return 1
}

# --- defaults, under 1,000 idle and 100 slow-header connections -------------------------

D=$(case_dir starve)
mkdir -m 755 "$D/export"	# made by hand, open to all: the daemon closes it
cat > "$D/conf" << EOF
listen = 127.0.0.1:0
export_dir = $D/export
export_interval = 1
EOF
# whatever the umask of whoever starts it
umask 000
start_daemon "$D"
umask 022
[ -n "$PORT" ] || { fail starvation "daemon did not start: $(tail -3 "$D/log")"; exit 0; }

test_starvation() {
	local u=http://127.0.0.1:$PORT worst=0 bad= t code secs open i p1 p2 p3 ready=yes
	# Half from the scraper's own address, all at once: cut to its share, oldest first (they
	# do not come back: a flood from the scraper's own address that does, outpaces it at
	# times, see DESIGN.md). Half from 50 other addresses, 10 each, back a second after
	# each cut: within their share, cut at the server's limit, all along.
	"$CONNS" --for 30 --reconnect 100 127.0.0.1:$PORT 500 > "$D/idle1" &
	p1=$!
	"$CONNS" --for 30 --from 127.0.1.1 --spread 50 127.0.0.1:$PORT 500 > "$D/idle2" &
	p2=$!
	"$CONNS" --for 30 --from 127.0.2.1 --spread 10 --slow 2 127.0.0.1:$PORT 100 > "$D/slow" &
	p3=$!
	PIDS+=($p1 $p2 $p3)
	# a server that stops accepting leaves them in its backlog, or their SYNs unanswered
	wait_ready "$D/idle1" 20 && wait_ready "$D/idle2" 10 && wait_ready "$D/slow" 10 ||
		ready="no (the server stopped accepting)"
	sleep 1
	for i in 1 2 3; do
		for path in /metrics /debug/pprof/heap; do
			read -r code secs <<< "$(timed "$u$path")"
			[ "$code" = 200 ] && awk -v s="$secs" 'BEGIN { exit !(s < 1.0) }' ||
				bad="$bad $path:$code:${secs}s"
			worst=$(awk -v a="$worst" -v b="$secs" 'BEGIN { print (b > a ? b : a) }')
		done
	done
	open=$(metric allocscope_http_connections "$u/metrics")
	t=$(curl -s "$u/metrics" | grep '^allocscope_http_connections_closed_total' | tr '\n' ' ')
	kill $p1 $p2 $p3 2> /dev/null
	wait $p1 $p2 $p3 2> /dev/null
	if [ -n "$bad" ]; then
		fail starvation "not answered within 1 s:$bad ($open open; all connected: $ready; $t)"
	elif [ "$ready" != yes ] || [ "$open" -lt 200 ]; then
		fail starvation "$open connections open, all connected: $ready: the load did not hold"
	else
		echo "    slowest answer ${worst}s with $open connections open; $t"
		pass starvation
	fi
}
test_starvation

test_export_modes() {
	local f dmode fmodes
	for ((i = 0; i < 50; i++)); do
		f=$(ls "$D"/export/heap-*.pb.gz 2> /dev/null | head -1)
		[ -n "$f" ] && break
		sleep 0.1
	done
	[ -n "$f" ] || { fail export_modes "no export after 5 s"; return; }
	dmode=$(stat -c %a "$D/export")
	fmodes=$(stat -c %a "$D"/export/*.pb.gz | sort -u | tr '\n' ' ')
	if [ "$dmode" != 750 ] || [ "$fmodes" != "640 " ]; then
		fail export_modes "directory $dmode, files $fmodes (want 750 and 640, umask 000)"
	else
		pass export_modes
	fi
}
test_export_modes
stop_daemon

# --- a small per-client share, a short header deadline, a Unix socket ----------------------

D=$(case_dir unix)
SOCK=$SOCKDIR/http.sock
cat > "$D/conf" << EOF
listen = 127.0.0.1:0
export_dir = $D/export
export_interval = 0
listen_unix = $SOCK
listen_unix_mode = 0660
listen_unix_group = daemon
http_max_connections_per_client = 2
http_header_timeout = 2
EOF
start_daemon "$D"
[ -n "$PORT" ] || { fail unix_socket "daemon did not start: $(tail -3 "$D/log")"; exit 0; }

# Two held ?seconds= requests fill 127.0.0.1's share: a third is refused, 127.0.0.2 is not.
test_per_client() {
	local u=http://127.0.0.1:$PORT h1 h2 code other refused
	curl -s -o /dev/null --max-time 20 "$u/debug/pprof/heap?seconds=15" &
	h1=$!
	curl -s -o /dev/null --max-time 20 "$u/debug/pprof/heap?seconds=15" &
	h2=$!
	PIDS+=($h1 $h2)
	sleep 1
	read -r code _ <<< "$(timed "$u/metrics")"
	read -r other _ <<< "$(timed "$u/metrics" --interface 127.0.0.2)"
	refused=$(metric 'allocscope_http_connections_closed_total{reason="client_busy"}' \
		"$u/metrics" --interface 127.0.0.2)
	kill $h1 $h2 2> /dev/null
	wait $h1 $h2 2> /dev/null
	if [ "$code" != 000 ]; then
		fail per_client "a third connection from 127.0.0.1 got $code, want it refused"
	elif [ "$other" != 200 ] || [ "$refused" -lt 1 ]; then
		fail per_client "127.0.0.2 got $other; refusals counted: $refused"
	else
		pass per_client
	fi
}
test_per_client

# Header lines every second never make a request: cut at the 2 s deadline all the same.
test_header_timeout() {
	local u=http://127.0.0.1:$PORT n
	"$CONNS" --for 5 --reconnect 100 --from 127.0.3.1 --spread 3 --slow 1 \
		127.0.0.1:$PORT 3 > "$D/slow"
	n=$(metric 'allocscope_http_connections_closed_total{reason="header_timeout"}' \
		"$u/metrics")
	if grep -q '^established 3 closed 3$' "$D/slow" && [ "$n" -ge 3 ]; then
		pass header_timeout
	else
		fail header_timeout "$(tail -1 "$D/slow"); cut at the deadline: $n"
	fi
}
test_header_timeout

# Mode and group as configured; root reads it, nobody (not in the group) cannot, until
# the mode lets others in; no credentials asked there.
test_unix_socket() {
	local st root none opened
	st=$(stat -c '%F %a %G' "$SOCK" 2> /dev/null)
	read -r root _ <<< "$(timed http://localhost/metrics --unix-socket "$SOCK")"
	read -r none _ <<< "$(runuser -u nobody -- curl -s -o /dev/null --max-time 5 \
		-w '%{http_code}\n' --unix-socket "$SOCK" http://localhost/metrics)"
	chmod 0666 "$SOCK"
	read -r opened _ <<< "$(runuser -u nobody -- curl -s -o /dev/null --max-time 5 \
		-w '%{http_code}\n' --unix-socket "$SOCK" http://localhost/metrics)"
	chmod 0660 "$SOCK"
	curl -s -o "$D/heap.pb.gz" --unix-socket "$SOCK" http://localhost/debug/pprof/heap
	if [ "$st" != "socket 660 daemon" ]; then
		fail unix_socket "socket is '$st', want 'socket 660 daemon'"
	elif [ "$root" != 200 ] || [ "$none" != 000 ]; then
		fail unix_socket "root got $root (want 200), nobody $none (want refused)"
	elif [ "$opened" != 200 ]; then
		fail unix_socket "nobody got $opened once the mode was 0666: the check proves nothing"
	elif ! err=$(pprof_check_clean "$D/heap.pb.gz"); then
		fail unix_socket "go tool pprof cannot read what curl fetched: $err"
	else
		pass unix_socket
	fi
}
test_unix_socket
stop_daemon
[ ! -e "$SOCK" ] || fail unix_socket_removed "$SOCK left behind at exit"
[ -e "$SOCK" ] || pass unix_socket_removed

# --- credentials and TLS ------------------------------------------------------------------

D=$(case_dir auth)
printf '# test credentials\nbearer s3cret-token\nbasic alice:pa55:word\n' > "$D/creds"
chmod 600 "$D/creds"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$D/key.pem" -out "$D/cert.pem" -days 2 \
	-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 > "$D/openssl.log" 2>&1
chmod 600 "$D/key.pem"
cat > "$D/conf" << EOF
listen = 127.0.0.1:0
export_dir = $D/export
export_interval = 0
listen_unix = $SOCKDIR/auth.sock
http_auth_file = $D/creds
tls_cert_file = $D/cert.pem
tls_key_file = $D/key.pem
EOF
start_daemon "$D"
[ -n "$PORT" ] || { fail auth "daemon did not start: $(tail -3 "$D/log")"; exit 0; }

test_auth() {
	local u=https://127.0.0.1:$PORT/metrics tls=(--cacert "$D/cert.pem") got=
	got="$got $(timed "$u" "${tls[@]}" | cut -d' ' -f1)"
	got="$got $(timed "$u" "${tls[@]}" -H 'Authorization: Bearer s3cret-token' | cut -d' ' -f1)"
	got="$got $(timed "$u" "${tls[@]}" -H 'Authorization: Bearer s3cret-tokeN' | cut -d' ' -f1)"
	got="$got $(timed "$u" "${tls[@]}" -H 'Authorization: bearer s3cret-token' | cut -d' ' -f1)"
	got="$got $(timed "$u" "${tls[@]}" -u alice:pa55:word | cut -d' ' -f1)"
	got="$got $(timed "$u" "${tls[@]}" -u alice:pa55 | cut -d' ' -f1)"
	got="$got $(timed "$u" "${tls[@]}" -u bob:pa55:word | cut -d' ' -f1)"
	# the Unix socket asks none
	got="$got $(timed http://localhost/metrics --unix-socket "$SOCKDIR/auth.sock" | cut -d' ' -f1)"
	if [ "$got" != " 401 200 401 200 200 401 401 200" ]; then
		fail auth "codes$got, want 401 200 401 200 200 401 401 200"
	elif ! curl -s -D - -o /dev/null "${tls[@]}" "$u" | grep -qi '^WWW-Authenticate: Basic'; then
		fail auth "a 401 without WWW-Authenticate: Basic"
	else
		pass auth
	fi
}
test_auth

# HTTPS only, with the certificate; pprof fetches with basic credentials in the URL. Go's
# cmd/pprof fetches with a client of its own, which ignores -tls_ca: SSL_CERT_FILE it honours.
test_tls() {
	local plain bad
	read -r plain _ <<< "$(timed "http://127.0.0.1:$PORT/metrics" -H 'Authorization: Bearer s3cret-token')"
	read -r bad _ <<< "$(timed "https://127.0.0.1:$PORT/metrics")"
	if [ "$plain" = 200 ] || [ "$bad" = 200 ]; then
		fail tls "plain HTTP got $plain, HTTPS without the CA $bad"
	elif ! HOME=$PPROF_LIB_HOME SSL_CERT_FILE=$D/cert.pem go tool pprof -raw \
		"https://alice:pa55:word@127.0.0.1:$PORT/debug/pprof/heap" > "$D/pprof.raw" 2>&1 ||
		! grep -q '^PeriodType' "$D/pprof.raw"; then
		fail tls "go tool pprof over HTTPS with basic auth: $(head -3 "$D/pprof.raw")"
	else
		pass tls
	fi
}
test_tls
stop_daemon

# A credentials file or key others can read: no start, one line saying why.
test_bad_permissions() {
	local what rc lines
	for what in creds key.pem; do
		chmod 644 "$D/$what"
		run_allocscope daemon --config "$D/conf" --targets "pid:$$" > "$D/bad.log" 2>&1
		rc=$?
		chmod 600 "$D/$what"
		lines=$(grep -c 'chmod 600' "$D/bad.log")
		if [ $rc = 0 ] || [ "$lines" != 1 ] || ! grep -q "$D/$what" "$D/bad.log"; then
			fail bad_permissions "$what 0644: exit $rc, log: $(cat "$D/bad.log")"
			return
		fi
	done
	pass bad_permissions
}
test_bad_permissions
