#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Files a local user changes under allocscope: a traced program runs
# against a private copy of libc (LD_LIBRARY_PATH), and the copy is cut,
# overwritten with garbage or replaced while the daemon and record -p hold
# it open. Neither may die of it (files were mapped: SIGBUS); the daemon
# keeps answering and exits 0 on SIGTERM, and a copy that cannot be read
# any more is counted (allocscope_file_errors_total, record's summary).
#
# Copies are cut or overwritten past their last PT_LOAD only, where the
# section headers and symbol tables are: the traced program, which maps
# only the segments, keeps running; the daemon reads those bytes.
SUITE=files
. "$(dirname "$0")/../lib/lib.sh"

D=$(case_dir main)
NAME=astf$$
LIBC=$(ldd "$WORKLOADS/drip" | awk '$1 == "libc.so.6" { print $3 }')
mkdir -p "$D/lib"
cp "$WORKLOADS/drip" "$D/$NAME"
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2> /dev/null; done
	[ -n "${DPID:-}" ] && kill -KILL "$DPID" 2> /dev/null
	[ -n "${RPID:-}" ] && kill -KILL "$RPID" 2> /dev/null
	wait 2> /dev/null
}
at_exit cleanup	# after lib.sh killed what the script started

# fresh_copy FILE: libc copied to FILE.
fresh_copy() { rm -f "$1"; cp "$LIBC" "$1"; }

# Where the last loaded segment's bytes end: what the program maps.
loads_end() {
	local end=0 off size
	while read -r off size; do
		((off + size > end)) && end=$((off + size))
	done < <(readelf -lW "$1" | awk '$1 == "LOAD" { print $2, $5 }')
	echo $end
}

# start_drip LIBDIR: a traced program with libc from LIBDIR; sets WPID.
start_drip() {
	LD_LIBRARY_PATH=$1 "$D/$NAME" &
	WPID=$!
	PIDS+=("$WPID")
}

# until_true SECONDS CMD...: polls CMD every 0.1 s; false once SECONDS pass.
until_true() {
	local i n=$(($1 * 10))
	shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

url() { echo "http://127.0.0.1:$PORT$1"; }
metric() {
	curl -s -m 5 "$(url /metrics)" | awk -v n="$1" '$1 == n { print $2; f = 1 } END { if (!f) print -1 }'
}
metric_above() { [ "$(metric "$1")" -gt "$2" ] 2> /dev/null; }
# held NAME LIBDIR: a program on a fresh copy in LIBDIR, once the daemon opened it.
held() {
	if ! kill -0 $DPID 2> /dev/null; then
		fail "$1" "the daemon is gone:" "$(tail -3 "$D/log")"
		return 1
	fi
	fresh_copy "$2/libc.so.6"
	start_drip "$2"
	until_true 60 grep -q "opened $2/libc.so.6" "$D/log" && return 0
	fail "$1" "the daemon never opened the copy:" "$(tail -5 "$D/log")"
	return 1
}
profile_ok() { [ "$(curl -s -m 10 -o "$D/prof.pb.gz" -w '%{http_code}' "$(url /debug/pprof/allocs)")" = 200 ]; }

cat > "$D/conf" <<EOF
listen = 127.0.0.1:0
export_dir = $D/export
export_interval = 3600
sample_rate = 16384
targets = comm:$NAME
EOF

"$ALLOCSCOPE" daemon -v -v --config "$D/conf" > "$D/log" 2>&1 &
DPID=$!
until_true 60 grep -q 'listening on' "$D/log"
PORT=$(sed -n 's/.*listening on .* (port \([0-9]*\)).*/\1/p' "$D/log" | head -1)
if [ -z "$PORT" ]; then
	fail daemon_starts "no listener:" "$(tail -5 "$D/log")"
	exit 0
fi

# A copy held open by the daemon (its program's first samples read it),
# then cut: the next profile reads the copy's section headers again.
test_cut_while_held() {
	local lib=$D/lib/cut copied
	mkdir -p "$lib"
	held cut_while_held "$lib" || return
	truncate -s "$(loads_end "$lib/libc.so.6")" "$lib/libc.so.6"
	if ! profile_ok || ! kill -0 $DPID 2> /dev/null; then
		fail cut_while_held "no profile after the cut" "$(tail -5 "$D/log")"
	elif ! kill -0 "$WPID" 2> /dev/null; then
		fail cut_while_held "the traced program died of the cut: the test is wrong"
	else
		pass cut_while_held
	fi
	# A new process maps the cut copy: the daemon opens it again, and refuses it.
	copied=$(metric allocscope_file_errors_total)
	start_drip "$lib"
	if ! kill -0 $DPID 2> /dev/null; then
		fail cut_counted "the daemon is gone"
	elif ! until_true 60 metric_above allocscope_file_errors_total "$copied"; then
		fail cut_counted "allocscope_file_errors_total $(metric allocscope_file_errors_total)," \
			"was $copied:" "$(tail -5 "$D/log")"
	elif ! grep -q "cannot read .*$lib/libc.so.6 (open): Input/output error" "$D/log"; then
		fail cut_counted "no error logged for the copy:" "$(tail -5 "$D/log")"
	else
		pass cut_counted
	fi
}

# The copy's tail overwritten in place with garbage: the headers the daemon
# reads change under it, its size does not.
test_garbage_while_held() {
	local lib=$D/lib/garbage end size before
	mkdir -p "$lib"
	held garbage_while_held "$lib" || return
	end=$(loads_end "$lib/libc.so.6")
	size=$(stat -c %s "$lib/libc.so.6")
	head -c $((size - end)) /dev/urandom |
		dd of="$lib/libc.so.6" bs=4096 seek="$end" oflag=seek_bytes conv=notrunc status=none
	before=$(metric allocscope_file_errors_total)
	if ! profile_ok; then
		fail garbage_while_held "no profile after the overwrite" "$(tail -5 "$D/log")"
		return
	fi
	start_drip "$lib"
	if until_true 60 metric_above allocscope_file_errors_total "$before"; then
		pass garbage_while_held
	else
		fail garbage_while_held "a copy with garbage headers was not counted:" \
			"$(tail -5 "$D/log")"
	fi
}

# Replaced: another library copied over the copy in place (the program may
# die of it: its code changed), then a file that is not ELF at all.
test_replaced() {
	local lib=$D/lib/replaced before
	mkdir -p "$lib"
	held replaced "$lib" || return
	cp "$(dirname "$LIBC")/libm.so.6" "$lib/libc.so.6"
	sleep 0.5
	profile_ok || { fail replaced "no profile after cp over the copy"; return; }
	before=$(metric allocscope_file_errors_total)
	echo "not an ELF file" > "$lib/libc.so.6"
	if ! profile_ok || [ "$(metric allocscope_file_errors_total)" -lt "$before" ]; then
		fail replaced "no answer after the copy became text" "$(tail -5 "$D/log")"
	else
		pass replaced
	fi
}

test_cut_while_held
test_garbage_while_held
test_replaced

# Through it all: alive, answering, and a clean exit.
for p in "${PIDS[@]}"; do kill -KILL "$p" 2> /dev/null; done
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$(url /metrics)")
kill -TERM $DPID
wait $DPID
rc=$?
DPID=
if [ "$code" != 200 ]; then
	fail daemon_survives "/metrics answers $code; exit status $rc (135: SIGBUS)" \
		"$(tail -5 "$D/log")"
elif [ $rc -ne 0 ]; then
	fail daemon_survives "exit status $rc" "$(tail -5 "$D/log")"
else
	pass daemon_survives
fi

# record_start OUT [RECORD OPTIONS]: record -p on the program WPID, in
# the background (RPID), once record has opened its libc copy.
record_start() {
	local out=$1
	shift
	"$ALLOCSCOPE" record -v -v -p "$WPID" -o "$out" --sample-rate 16384 "$@" \
		> "$out.log" 2>&1 &
	RPID=$!
}

# record_done NAME OUT: record's exit status 0 and a profile written.
record_done() {
	local rc
	wait $RPID
	rc=$?
	RPID=
	if [ $rc -ne 0 ]; then
		fail "$1" "exit status $rc (135: SIGBUS)" "$(tail -5 "$2.log")"
	elif [ ! -s "$2" ]; then
		fail "$1" "no profile written" "$(tail -5 "$2.log")"
	else
		return 0
	fi
	return 1
}

# The copy cut while record holds it; the profile written at SIGTERM reads it again.
test_record_cut() {
	local lib=$D/lib/record1 out=$D/record1.pb.gz
	mkdir -p "$lib"
	fresh_copy "$lib/libc.so.6"
	start_drip "$lib"
	record_start "$out"
	if ! until_true 60 grep -q "opened $lib/libc.so.6" "$out.log"; then
		fail record_cut "record never opened the copy:" "$(tail -5 "$out.log")"
		return
	fi
	truncate -s "$(loads_end "$lib/libc.so.6")" "$lib/libc.so.6"
	kill -TERM $RPID
	record_done record_cut "$out" && pass record_cut
}

# A library the program preloads, cut before record starts: record probes
# libc, and its summary counts the file it could not read.
test_record_counted() {
	local lib=$D/lib/record2 out=$D/record2.pb.gz
	mkdir -p "$lib"
	cp "$(dirname "$LIBC")/libm.so.6" "$lib/libm.so.6"
	truncate -s "$(loads_end "$lib/libm.so.6")" "$lib/libm.so.6"
	LD_PRELOAD=$lib/libm.so.6 "$D/$NAME" &
	WPID=$!
	PIDS+=("$WPID")
	until_true 10 grep -q "$lib/libm.so.6" "/proc/$WPID/maps"
	record_start "$out" -d 1
	record_done record_counted "$out" || return
	if ! grep -q "cannot read .*$lib/libm.so.6 (open): Input/output error" "$out.log"; then
		fail record_counted "the cut library was not logged:" "$(tail -8 "$out.log")"
	elif ! grep -Eq "[0-9]+ files? could not be read" "$out.log"; then
		fail record_counted "the summary does not count the file:" "$(tail -8 "$out.log")"
	else
		pass record_counted
	fi
}

test_record_cut
test_record_counted
