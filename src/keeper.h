/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * keeper.h - the images of newly sampled processes, read at once.
 *
 * The main thread reads a process's mappings when it reads the process's
 * first sample, and it can be late: an export or a scrape holds it for up
 * to a second, and a short process is gone by then, its stacks unnamed.
 * The kernel announces first samples on a ring of their own; the keeper's
 * thread reads the image of each announced process right away and keeps
 * it, a bounded number of them, until the main thread takes it.
 */
#ifndef AS_KEEPER_H
#define AS_KEEPER_H

#include <sys/types.h>
#include <linux/types.h>

/*
 * The main thread lags by an export at most: a few hundred processes
 * first sampled meanwhile is a busy machine. Each image holds its
 * mappings (a few KiB), and a root fd for a container's. The oldest goes.
 */
#define KEEPER_SLOTS	256

struct keeper;
struct proc_image;
struct tracer;

struct keeper_stats {
	__u64 kept;		/* images read and kept */
	__u64 evicted;		/* dropped, never taken, for newer ones */
};

/* Starts the thread on tr's "seen" ring; tr must outlive the keeper. NULL: no thread. */
int keeper__new(struct tracer *tr, struct keeper **out);
void keeper__free(struct keeper *k);

/* What the thread does at a first sample: keeps pid's image unless it has, or it was taken. */
void keeper__read(struct keeper *k, pid_t pid);

/* The image kept for pid running exe_ino, or NULL; the caller frees it. */
struct proc_image *keeper__take(struct keeper *k, pid_t pid, __u64 exe_ino);
void keeper__stats(struct keeper *k, struct keeper_stats *st);

#endif /* AS_KEEPER_H */
