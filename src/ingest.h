/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ingest.h - ring buffer records into the aggregator.
 *
 * Shared by record and the daemon: a sample's process gets its mappings
 * read (and its files opened) the first time it is seen, while it still
 * lives, and again when a sample has an address outside them (a library
 * loaded since); stacks copied by the kernel are unwound here.
 */
#ifndef AS_INGEST_H
#define AS_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct agg;
struct agg_proc;
struct hmap;
struct symbolizer;
struct unwinder;

struct ingest {
	struct agg *agg;
	struct symbolizer *sym;
	struct unwinder *unw;		/* NULL: frame-pointer stacks only */
	struct keeper *keeper;		/* NULL: images are read only here */
	bool alloc_only;
	__u64 max_procs;		/* 0: no bound */
	/* what was lost here, by reason */
	__u64 dropped_procs;		/* samples of processes beyond max_procs */
	__u64 errors;			/* out of memory */
	__u64 unreadable;		/* process images whose mappings could not be read */
	__u64 kept_used;		/* images named from the keeper's copy */
	/* what DWARF unwinding costs */
	__u64 unwinds;
	__u64 unwind_ns;
	/* provisional samples (AS_EVF_PROVISIONAL), held until they cannot be cancelled */
	struct ingest_held *held;	/* lazily allocated; ingest__fini() frees it */
	__u64 cancelled;		/* the call threw: not counted */
	__u64 overflowed;		/* samples the ring had no room for, kept by the kernel */
	/* frees from the kernel's lost_frees map whose sample is still in the ring */
	struct hmap *early_frees;	/* lazily allocated; ingest__fini() frees it */
	__u64 cancelled_late;		/* a cancel after its sample was counted */
};

/*
 * Takes one record: a sample or a free. Returns the record's type (enum
 * as_event_type) so that the caller can act on the others, or 0 for a
 * record too short to read.
 */
int ingest__record(struct ingest *in, const void *data, size_t size);
struct as_alloc_event;

/*
 * Counts the provisional samples held for min_age_ns or more (0: all,
 * before a profile is written). Their cancels come within microseconds;
 * one that comes later finds its sample counted (cancelled_late). A
 * process's samples are counted when it execs or exits.
 */
#define INGEST_HOLD_NS	100000000ULL	/* 100 ms */
void ingest__flush(struct ingest *in, __u64 min_age_ns);
/*
 * Takes the sample weight the kernel kept while the ring buffer was full
 * (tracer__drain_overflow()) into the same sites, and the frees it could
 * not send. Returns how many entries, or -errno.
 */
struct tracer;
int ingest__drain_overflow(struct ingest *in, struct tracer *tr);
/* Frees what ingest holds (not the aggregator, symbolizer or unwinder). */
void ingest__fini(struct ingest *in);

/*
 * Reads a process's mappings now, if not done yet: at its first sample e,
 * or (e NULL) because it is about to exit or has just forked.
 */
void ingest__snapshot(struct ingest *in, struct agg_proc *p, const struct as_alloc_event *e);

#endif /* AS_INGEST_H */
