/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * summary.h - the short human report after a recording: totals, rates,
 * the live set, drops, and the top sites by alloc_space and inuse_space,
 * each named by the function that called the allocator.
 */
#ifndef AS_SUMMARY_H
#define AS_SUMMARY_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>

#include "allocscope.h"

struct agg;

/* Why some returns are never probed, in the words the summary and profiles use. */
#define SUMMARY_NORET_WHY \
	"a throwing operator new, an interposed malloc, or an allocator profiler would see a probed return"

struct summary_opts {
	const char *output;		/* the profile written */
	__u64 rate;
	__u64 duration_ns;
	const char *probes;		/* probe mechanism */
	bool alloc_only;
	bool inuse_exited;
	int top;
	__u64 dropped;			/* samples lost, all reasons */
	__u64 untracked;		/* samples not in the live set */
	__u64 entry_only;		/* samples taken at the entry: no pointer, not in inuse */
	__u64 threw;			/* sampled calls that threw: not counted */
	/* degraded, not lost: the ring buffer was full */
	__u64 overflowed;		/* kept in the kernel, frame-pointer stacks */
	__u64 overflow_nostack;		/* ... of those, without a stack */
	__u64 small_records;		/* frame-pointer stacks instead of a stack copy */
	__u64 file_errors;		/* ELF files that could not be read */
};

void summary__print(FILE *f, struct agg *a, const struct summary_opts *o);
/*
 * The share of alloc_space on stacks that end before main or a thread's
 * start (0..1): frame-pointer walks through code built without them. A
 * recording is called exact with less than SUMMARY_EXACT_CUT percent.
 */
#define SUMMARY_EXACT_CUT	1.0
double summary__cut_share(struct agg *a);
/* "1.5 MiB", "12 B" */
void summary__bytes(double v, char *buf, size_t len);

#endif /* AS_SUMMARY_H */
