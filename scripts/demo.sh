#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# make demo: record the bundled demo workload (a toy request handler with a
# slow leak) and show what allocscope says about it.
set -e
out=${1:-build}
profile=$out/demo.pb.gz

if [ "$(id -u)" -ne 0 ]; then
	echo "make demo needs root (BPF and uprobes)" >&2
	exit 1
fi
echo "recording $out/tests/workloads/demo (sampled, 1 sample per 64 KiB on average)"
"$out/allocscope" record --sample-rate 64K -o "$profile" -- "$out/tests/workloads/demo"
cat <<MSG

read it with go tool pprof (apt-get install golang-go):
  go tool pprof -top -sample_index=alloc_space $profile    # what allocates (rate)
  go tool pprof -top -sample_index=inuse_space $profile    # what is still held (leaks)
  go tool pprof -http=: $profile                           # flame graph in a browser
MSG
