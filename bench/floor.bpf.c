// SPDX-License-Identifier: GPL-2.0-only
/*
 * floor.bpf.c - empty programs for the benchmark's physical floor.
 *
 * bench/floor.c attaches these to the very probe points allocscope uses,
 * so that a benchmark run measures the trap alone: the kernel's entry,
 * uprobe lookup, emulation or single-step, and the BPF dispatch of a
 * program that does nothing.
 *
 *  - floor_session: a uprobe session program (BPF_TRACE_UPROBE_SESSION).
 *    Returning 1 tells the kernel not to hijack the return address, as
 *    allocscope's alloc_session does for every unsampled call.
 *  - floor_multi: a plain uprobe_multi program (BPF_TRACE_UPROBE_MULTI),
 *    as allocscope's free_enter is attached.
 *  - floor_perf: a perf-event uprobe, attached as uprobe and as uretprobe
 *    for the classic floor. Perf-event uprobe programs must return 0.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("uprobe")
int floor_session(struct pt_regs *ctx)
{
	return 1;
}

SEC("uprobe")
int floor_multi(struct pt_regs *ctx)
{
	return 0;
}

SEC("uprobe")
int floor_perf(struct pt_regs *ctx)
{
	return 0;
}
