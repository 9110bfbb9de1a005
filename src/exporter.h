/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * exporter.h - aggregated samples to a Go-style pprof heap profile.
 *
 * Sample types alloc_objects/count, alloc_space/bytes, inuse_objects/count,
 * inuse_space/bytes (Go's order; alloc_* only in alloc-only mode), period
 * type space/bytes, period R, a numeric label "bytes" with the size of
 * each (stack, size) sample, values already unbiased (pprof never rescales
 * a proto profile). The leaf of each stack is the function that called
 * the allocator: allocator entry points are hidden, as Go hides runtime
 * frames.
 */
#ifndef AS_EXPORTER_H
#define AS_EXPORTER_H

#include <stdbool.h>
#include <sys/types.h>
#include <linux/types.h>

struct agg;
struct pprof;

struct agg_snap;

enum export_label {
	EXPORT_LABEL_PID = 1 << 0,
	EXPORT_LABEL_COMM = 1 << 1,
	EXPORT_LABEL_EXE = 1 << 2,
};

enum export_values {
	EXPORT_TOTAL,		/* alloc_* since the start, inuse_* now (Go's heap and allocs) */
	EXPORT_INTERVAL,	/* alloc_* since agg__mark_exported(), inuse_* now (godeltaprof) */
	EXPORT_SINCE,		/* both as changes since a snapshot (Go's ?seconds=N) */
};

struct export_opts {
	__u64 period;			/* mean sampling gap R; 1 = exact */
	enum export_values values;
	const struct agg_snap *since;	/* for EXPORT_SINCE */
	bool alloc_only;		/* no inuse_* columns */
	bool inuse_exited;		/* exited processes keep their inuse (leaks at exit) */
	bool proc_labels;		/* pid, comm, exe labels on every sample */
	unsigned int label_mask;	/* which of them: EXPORT_LABEL_*; 0 = all */
	pid_t pid;			/* only this process; 0 = all */
	const char *default_type;	/* default_sample_type, or NULL */
	__s64 time_nanos;
	__s64 duration_nanos;
	const char **comments;
	int nr_comments;
};

/* The comments a profile carries about itself; filled by exporter__notes(). */
#define EXPORT_NOTES 5
struct export_notes {
	char text[EXPORT_NOTES][512];
	const char *ptr[EXPORT_NOTES];
	int nr;
};

/* Where a profile's samples were lost or not tracked (counted by the tracer and ingest). */
struct export_losses {
	const __u64 *st;		/* tracer__stats(): AS_STAT_* */
	__u64 oom;			/* samples lost to out of memory */
	__u64 cancelled;		/* entry samples whose call threw (ingest) */
	double cut_pct;			/* % of bytes on stacks cut before main; < 0: unknown */
	bool max_procs;			/* a daemon's: processes are limited (max_processes) */
	__u64 procs;			/* processes not tracked for it */
};

/*
 * Fills n with what the profile says about itself: exact or sampled (at which rate R), the
 * probes (their mode's name), alloc-only, every loss, and the samples not in inuse_* because
 * taken at a call's entry; then o->comments points at them.
 * n must live as long as o is used.
 */
void exporter__notes(struct export_opts *o, struct export_notes *n, const char *probes,
		     const struct export_losses *l);
/* Samples lost for good (ring buffer and overflow map full, no thread state), of st. */
__u64 exporter__samples_dropped(const __u64 *st);

struct agg_site;

/* True for allocator entry points that a stack's leaf should not show. */
bool exporter__is_allocator(const char *func);
/*
 * The frames of a site worth showing, [*first, *end): allocator entry
 * points at the leaf are skipped when a known function follows them, and
 * the stack ends at the first address outside every executable mapping (a
 * frame-pointer walk through code without frame pointers reads data).
 */
void exporter__trim(const struct agg_site *s, __u32 *first, __u32 *end);

int exporter__build(struct agg *a, const struct export_opts *o, struct pprof **out);

/*
 * The same a slice at a time, so that a big profile does not hold the
 * daemon's loop: start takes what the profile shows (every site's values
 * now; samples read later wait for the next profile) and holds the sites;
 * step builds for about budget_ns, returning 1 once complete, 0 if not,
 * or -errno; profile is what it built (the export keeps it); end frees
 * it all, and with commit, for an EXPORT_INTERVAL export, starts the next
 * interval where this one was taken (commit once the profile is written,
 * and a failed write loses nothing). o is copied; what it points to must
 * last.
 */
struct export;
int exporter__start(struct agg *a, const struct export_opts *o, struct export **out);
int exporter__step(struct export *x, __u64 budget_ns);
struct pprof *exporter__profile(struct export *x);
void exporter__end(struct export *x, bool commit);
/* Builds and writes atomically (temp file + rename). */
int exporter__write(struct agg *a, const struct export_opts *o, const char *path);

/*
 * The export directory: profiles named <kind>-<UTC time>.pb.gz, with the
 * time to the millisecond, so that names sort by time.
 */
int exporter__dir_path(const char *dir, const char *kind, __s64 time_nanos, char *buf,
		       size_t len);
/*
 * Deletes the oldest profiles in dir (files named as above) until at most
 * max_files remain, totalling at most max_bytes. Returns how many went,
 * or -errno.
 */
int exporter__retain(const char *dir, unsigned long max_files, __u64 max_bytes);

#endif /* AS_EXPORTER_H */
