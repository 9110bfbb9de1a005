/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * shed.h - load shedding: when samples come faster than the daemon reads
 * them, the heaviest processes are sampled at a larger mean gap, in the
 * kernel, and back at the configured one when the load has passed.
 *
 * Each sample carries the rate it was taken at, so every estimate stays
 * unbiased; what is shed is resolution, and it is counted: the samples the
 * configured rate would have taken beyond those taken.
 */
#ifndef AS_SHED_H
#define AS_SHED_H

#include <stdbool.h>
#include <sys/types.h>
#include <linux/types.h>

struct shed;

/* Sets tgid's own rate in the kernel (0: the configured one again); 0 or -errno. */
typedef int (*shed_set_fn)(void *ctx, pid_t tgid, __u64 rate);

struct shed_stats {
	__u64 raised, lowered;		/* rate changes, up and down */
	__u64 shed_samples;		/* samples not taken, estimated */
	__u64 uncounted;		/* samples of processes the window had no room for */
	__u64 procs;			/* processes at a rate of their own now */
	__u64 max_rate;			/* the largest of those rates, or the base rate */
};

/* Sheds up to max_rate (no shedding if it is not above base_rate). */
struct shed *shed__new(shed_set_fn set, void *ctx, __u64 base_rate, __u64 max_rate);
void shed__free(struct shed *s);
/* A new configured rate or limit: every process goes back to it. */
void shed__configure(struct shed *s, __u64 base_rate, __u64 max_rate);

/* One sample read, taken at rate. */
void shed__sample(struct shed *s, pid_t tgid, __u64 rate);
/* One bounded read of the ring: whether it stopped with records left, and how long it took. */
void shed__turn(struct shed *s, bool backlog, __u64 busy_ns);
/* The process exited (the kernel forgets its rate by itself). */
void shed__exit(struct shed *s, pid_t tgid);
/*
 * Decides, once a window: raises the heaviest processes' rates if the
 * window was overloaded (most reads left a backlog, or drops_total grew),
 * then lets a window pass before it judges again (the ring still holds
 * samples taken at the old rates); lowers them after calm windows. Returns ms until the next decision.
 */
int shed__tick(struct shed *s, __u64 now_ns, __u64 drops_total);
void shed__stats(const struct shed *s, struct shed_stats *st);

#endif /* AS_SHED_H */
