#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# soak.sh - the daemon under a steady, unkind load for a while (make soak;
# not part of make check): a heavy allocator that never stops, and 20
# short-lived processes a second, all of them targets. Every 10 s it samples
# the daemon's RSS and CPU, the exports written, the latency of /metrics and
# what the daemon counted as dropped, and at the end whether it stopped on
# SIGTERM in time. docs/RELIABILITY.md keeps the latest figures.
#
# Environment:
#   OUTPUT=build          where allocscope and the workloads were built
#   SOAK_SECONDS=600      how long
#   SOAK_RATE=65536       the daemon's sample rate
#   SOAK_SHORT_PER_S=20   short-lived processes started per second
set -u
cd "$(dirname "$0")/.." || exit 1

OUTPUT=${OUTPUT:-build}
case $OUTPUT in /*) OUT=$OUTPUT ;; *) OUT=$PWD/$OUTPUT ;; esac
SECS=${SOAK_SECONDS:-600}
RATE=${SOAK_RATE:-65536}
SHORT=${SOAK_SHORT_PER_S:-20}
AS=$OUT/allocscope
DIR=$(mktemp -d /tmp/allocscope-soak.XXXXXX)
RES=$OUT/soak
mkdir -p "$RES"
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2> /dev/null; done
	[ -n "${DPID:-}" ] && kill -TERM "$DPID" 2> /dev/null
	wait 2> /dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

die() { echo "soak: $*" >&2; exit 1; }
[ -x "$AS" ] || die "no $AS: run make first"
[ "$(id -u)" -eq 0 ] || die "needs root (BPF, uprobes)"
command -v curl > /dev/null || die "needs curl"

# Copies under names of their own: the targets are these and nothing else.
cp "$OUT/tests/workloads/churn" "$DIR/soak-heavy"
cp "$OUT/tests/workloads/sites" "$DIR/soak-short"

cat > "$DIR/conf" << EOF
listen = 127.0.0.1:0
export_dir = $DIR/export
export_interval = 10
sample_rate = $RATE
targets = comm:soak-heavy, comm:soak-short
EOF
"$AS" daemon -v --config "$DIR/conf" > "$DIR/log" 2>&1 &
DPID=$!
for ((i = 0; i < 300; i++)); do
	PORT=$(sed -n 's/.*listening on .* (port \([0-9]*\)).*/\1/p' "$DIR/log" | head -1)
	[ -n "$PORT" ] && break
	kill -0 "$DPID" 2> /dev/null || die "the daemon exited: $(tail -3 "$DIR/log")"
	sleep 0.1
done
[ -n "$PORT" ] || die "the daemon did not listen: $(tail -3 "$DIR/log")"

# The heavy allocator: one churn loop after another, never idle.
(while :; do "$DIR/soak-heavy" 50000000 2 > /dev/null; done) &
PIDS+=($!)
# The short-lived ones: SHORT a second, each a fraction of a second long.
(while :; do
	"$DIR/soak-short" 0.01 --truth /dev/null > /dev/null 2>&1 &
	sleep "$(awk -v n="$SHORT" 'BEGIN { printf "%.3f", 1 / n }')"
done) &
PIDS+=($!)

cpu_s() { awk '{ printf "%.2f", ($14 + $15) / 100 }' "/proc/$DPID/stat"; }
rss_mb() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$DPID/status"; }
metrics_ms() {
	curl -s -o "$DIR/metrics" -w '%{time_total}' --max-time 10 \
		"http://127.0.0.1:$PORT/metrics" | awk '{ printf "%.1f", $1 * 1000 }'
}
dropped() {
	awk '/^allocscope_dropped_total/ { s += $NF } END { printf "%d", s }' "$DIR/metrics"
}
exports() {
	awk '/^allocscope_exports_total/ { printf "%d", $NF }' "$DIR/metrics"
}

{
	echo "## allocscope soak, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "- $(uname -sr), nproc $(nproc); ${SECS} s at sample rate $RATE; targets: a churn loop"
	echo "  (2 threads, never idle) and $SHORT short-lived sites processes a second"
	echo
	echo "| t (s) | RSS (MiB) | CPU (s, total) | CPU (% of a core, last 10 s) | exports | /metrics (ms) | dropped |"
	echo "|---:|---:|---:|---:|---:|---:|---:|"
} | tee "$RES/results.md"
T0=$SECONDS
last_cpu=0
max_ms=0
while ((SECONDS - T0 < SECS)); do
	sleep 10
	kill -0 "$DPID" 2> /dev/null || { echo "the daemon died" | tee -a "$RES/results.md"; exit 1; }
	ms=$(metrics_ms)
	cpu=$(cpu_s)
	pct=$(awk -v a="$cpu" -v b="$last_cpu" 'BEGIN { printf "%.1f", (a - b) * 10 }')
	last_cpu=$cpu
	max_ms=$(awk -v a="$ms" -v b="$max_ms" 'BEGIN { print (a > b ? a : b) }')
	printf '| %d | %s | %s | %s | %s | %s | %s |\n' $((SECONDS - T0)) "$(rss_mb)" "$cpu" "$pct" \
		"$(exports)" "$ms" "$(dropped)" |
		tee -a "$RES/results.md"
done
for p in "${PIDS[@]}"; do kill "$p" 2> /dev/null; done
t=$SECONDS
kill -TERM "$DPID"
wait "$DPID"
rc=$?
DPID=
{
	echo
	echo "- slowest /metrics: $max_ms ms; SIGTERM to exit: $((SECONDS - t)) s, exit status $rc"
	echo "- the daemon's last counters: $(grep -E '^allocscope_(samples|frees|degraded_samples|dropped)_total' "$DIR/metrics" | tr '\n' ' ')"
} | tee -a "$RES/results.md"
[ "$rc" -eq 0 ]
