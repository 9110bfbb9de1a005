#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# load.sh [-n N] [--] CMD [ARGS...]: runs CMD while N (default 2) other
# processes allocate at full speed, each a free(malloc()) loop of mixed
# sizes (tests/workloads/churn, copied as "allocload" so that no test takes
# it for its own), pinned to no CPU; they start before CMD and are killed
# after it, however it ends. Prints CMD's duration; exits with its status.
#   tests/load.sh tests/run.sh          the suite on a loaded host (make check-loaded)
set -u
cd "$(dirname "$0")/.."
n=2
if [ "${1:-}" = -n ]; then
	n=$2
	shift 2
fi
[ "${1:-}" = -- ] && shift
[ $# -gt 0 ] || { echo "usage: tests/load.sh [-n N] [--] CMD [ARGS...]" >&2; exit 2; }
churn=${OUTPUT:-build}/tests/workloads/churn
[ -x "$churn" ] || { echo "load.sh: $churn is not built (make test-bins)" >&2; exit 2; }

dir=$(mktemp -d /tmp/allocscope-load.XXXXXX)
pids=()
cleanup() {
	[ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2> /dev/null
	wait "${pids[@]}" 2> /dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

cp "$churn" "$dir/allocload"
for ((i = 0; i < n; i++)); do
	# 10^15 pairs: longer than any run; killed at the end
	"$dir/allocload" 1000000000000000 > /dev/null &
	pids+=($!)
done
echo "load.sh: $n processes allocating at full speed (pids ${pids[*]})" >&2
start=$SECONDS
"$@"
rc=$?
echo "load.sh: $* took $((SECONDS - start)) s under load, status $rc" >&2
exit $rc
