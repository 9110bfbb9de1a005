/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * aggregator.h - sampled allocations, summed per (process, stack, size).
 *
 * Each sample is unbiased on arrival with its Horvitz-Thompson weight
 * 1 / (1 - exp(-s/R)) and summed per site; a site has one size, so the
 * estimate is exact in expectation however sizes mix on a stack (summing
 * first and unbiasing with the mean size is what biased pprof's legacy
 * reader). A free subtracts the very weight its sample added.
 */
#ifndef AS_AGGREGATOR_H
#define AS_AGGREGATOR_H

#include <stdbool.h>
#include <sys/types.h>
#include <linux/types.h>

struct agg;
struct addr_space;

/* One process image: a pid, and a new one after each exec. */
struct agg_proc {
	pid_t pid;
	__u32 gen;			/* exec generation of this pid */
	char comm[16];
	char *exe;
	struct addr_space *as;		/* mappings snapshot; NULL if never read */
	bool exited;
	bool replaced;			/* the pid exec'ed another image */
	bool exported;			/* in an interval export since it exited */
	bool unreadable;		/* its mappings could not be read: not tried again */
	__u64 nr_samples;
	__u64 exit_ns;			/* when it was seen gone (CLOCK_MONOTONIC) */
	__u64 refresh_ns;		/* when its mappings were last read */
	void *priv;			/* for the exporter */
};

struct agg_site {
	struct agg_proc *proc;
	double w_alloc_base;		/* w_alloc at the last interval export */
	const __u64 *pcs;		/* return addresses, caller first */
	__u32 nr_pcs;
	__u16 fn;			/* allocator function (enum as_fn) */
	__u64 alloc_ip;			/* its entry address */
	__u64 size;			/* requested bytes */
	__u64 n_alloc, n_free;		/* sampled allocations and frees */
	double w_alloc;			/* estimated objects allocated */
	double w_free;			/* estimated objects freed */
	double w_untracked;		/* estimated objects not in the live set */
	/*
	 * Their Horvitz-Thompson variances: a sample of weight w = 1/p adds
	 * (1 - p)/p^2 = w (w - 1), samples being independent. 0 when exact.
	 */
	double v_alloc, v_free, v_untracked;
};

/* Estimated objects behind one sample of size bytes at mean gap rate. */
double agg__weight(__u64 size, __u64 rate);

struct agg *agg__new(void);
void agg__free(struct agg *a);

/*
 * Bounds, 0 for none: sites kept (a sample of a new site beyond is dropped
 * and counted), and samples awaiting their free (beyond, a sample counts
 * in alloc_* only: its free event may have been lost, and these would
 * grow without end).
 */
void agg__set_limits(struct agg *a, __u64 max_sites, __u64 max_live);
struct agg_limit_stats {
	__u64 site_drops;		/* samples dropped: max_sites reached */
	double site_drop_bytes;		/* their estimated bytes */
	__u64 live_full;		/* samples not tracked: max_live reached */
};
void agg__limit_stats(const struct agg *a, struct agg_limit_stats *st);

/*
 * The current image of pid for a new sample: created (without mappings)
 * on first use, and anew when the one there has exited: the pid was
 * reused (pid_max is often 32768).
 */
struct agg_proc *agg__proc(struct agg *a, pid_t pid);
/* The current image of pid, exited or not; NULL if none. */
struct agg_proc *agg__find_proc(struct agg *a, pid_t pid);
bool agg__has_proc(struct agg *a, pid_t pid);
/* pid exec'ed at now_ns: later samples belong to a new image. */
void agg__proc_exec(struct agg *a, pid_t pid, __u64 now_ns);

int agg__add_alloc(struct agg *a, struct agg_proc *p, const __u64 *pcs, __u32 nr_pcs,
		   __u16 fn, __u64 alloc_ip, __u64 size, __u64 rate, __u64 seq, bool tracked);
/*
 * n_alloc samples of one (stack, size, rate) at once, n_free of them freed
 * since: the weight the kernel kept when the ring buffer was full. Their
 * live ones stay in inuse (they cannot be freed by seq).
 */
int agg__add_bulk(struct agg *a, struct agg_proc *p, const __u64 *pcs, __u32 nr_pcs, __u16 fn,
		  __u64 size, __u64 rate, __u64 n_alloc, __u64 n_free);
/* A sampled pointer was freed; false (and nothing done) for an unknown seq. */
bool agg__add_free(struct agg *a, __u64 seq);

/* Current estimate of objects still allocated at a site (0 if its process is gone). */
double agg_site__live(const struct agg_site *s);
/* The variance of that estimate. */
double agg_site__live_var(const struct agg_site *s);

void agg__for_each_site(struct agg *a, void (*fn)(const struct agg_site *, void *), void *ctx);

/*
 * Interval exports: alloc since the last call is w_alloc - w_alloc_base;
 * processes gone by now count as exported.
 */
void agg__mark_exported(struct agg *a);
/* Without exports: processes gone by now may be evicted. */
void agg__mark_exited_exported(struct agg *a);
/* An export took the site's w_alloc: the next interval starts there. */
void agg_site__set_base(const struct agg_site *s, double w_alloc);
/*
 * Sites, their stacks and processes stay while held (an export built over
 * several turns of the daemon's loop): nothing is evicted meanwhile.
 */
void agg__hold(struct agg *a);
void agg__unhold(struct agg *a);

/*
 * A snapshot of every site's totals, for "what happened since": a delta
 * profile (net/http/pprof's ?seconds=N). Sites stay allocated while a
 * snapshot holds them.
 */
struct agg_snap;
struct agg_snap *agg__snapshot(struct agg *a);
void agg_snap__free(struct agg *a, struct agg_snap *snap);
/*
 * The site's totals when snap was taken (zeros if it did not exist yet),
 * and whether its process was gone by then.
 */
void agg_snap__get(const struct agg_snap *snap, const struct agg_site *s, double *w_alloc,
		   double *live, bool *gone);

/*
 * Drops processes that exited before min_exit_ns and were exported since,
 * with their sites, unless a snapshot holds them; frees their mappings.
 * Returns how many processes went. Live samples of exited processes stay
 * matched to their frees until then.
 */
int agg__evict_exited(struct agg *a, __u64 min_exit_ns);
__u64 agg__nr_procs(const struct agg *a);
/* Sampled allocations tracked as live (awaiting their free). */
__u64 agg__nr_live(const struct agg *a);
__u64 agg__nr_sites(const struct agg *a);
void agg__for_each_proc(struct agg *a, void (*fn)(struct agg_proc *, void *), void *ctx);

struct agg_totals {
	__u64 samples, frees, sites;
	__u64 procs;			/* process images with samples */
	double alloc_objects, alloc_bytes, inuse_objects, inuse_bytes;
	/* the variances of those four estimates */
	double var_alloc_objects, var_alloc_bytes, var_inuse_objects, var_inuse_bytes;
};
void agg__totals(struct agg *a, struct agg_totals *t);

#endif /* AS_AGGREGATOR_H */
