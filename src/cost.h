/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cost.h - what tracing costs the processes it traces: their traced calls
 * (each one a trap into the kernel), per process, and the estimated time
 * those traps took, from the calibrated cost of one trap (calib.h).
 *
 * The kernel counts calls per process (tracer__each_calls()); this table
 * keeps them past the process's exit, for the daemon's /metrics and its
 * periodic log lines. Bounded: processes beyond max are not kept (counted),
 * and exited ones leave after a while, their calls still in the totals.
 */
#ifndef AS_COST_H
#define AS_COST_H

#include <stdbool.h>
#include <sys/types.h>
#include <linux/types.h>

#include "allocscope.h"

struct cost;

struct cost_proc {
	pid_t pid;
	char comm[16];
	__u64 allocs, frees;	/* traced calls since it was first counted */
	__u64 logged_allocs;	/* allocs at the last log line */
	__u64 logged_frees;
	__u64 first_ns;		/* when it was first counted */
	bool exited;
};

struct cost *cost__new(unsigned int max_procs);
void cost__free(struct cost *c);

/* ns per trap, from the calibration; <= 0: unknown. */
void cost__set_trap_ns(struct cost *c, double ns);
double cost__trap_ns(const struct cost *c);
/* Estimated seconds of traps for this many calls; 0 if the trap is unknown. */
double cost__seconds(const struct cost *c, __u64 calls);

/* The kernel's count for pid, cumulative; exited: its last one. 0 or -ENOSPC/-ENOMEM. */
int cost__update(struct cost *c, pid_t pid, const struct as_calls *v, bool exited, __u64 now);
/*
 * Exited processes not updated since before leave, their calls staying in
 * the totals; with logged, only once their calls are all logged.
 */
void cost__evict(struct cost *c, __u64 before, bool logged);

/* Totals of every process counted since the start, exited and evicted ones too. */
void cost__totals(const struct cost *c, __u64 *allocs, __u64 *frees);
/* Exited processes that were never kept because the table was full (in the totals). */
__u64 cost__shed(const struct cost *c);

/* The n processes with the most calls, most first, into out; returns how many. */
int cost__top(struct cost *c, struct cost_proc **out, int n);
/* Every process; fn may update p->logged. */
void cost__each(struct cost *c, void (*fn)(struct cost_proc *p, void *ctx), void *ctx);

#endif /* AS_COST_H */
