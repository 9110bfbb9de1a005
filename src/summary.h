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
};

void summary__print(FILE *f, struct agg *a, const struct summary_opts *o);
/* "1.5 MiB", "12 B" */
void summary__bytes(double v, char *buf, size_t len);

#endif /* AS_SUMMARY_H */
