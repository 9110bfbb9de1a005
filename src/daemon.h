/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * daemon.h - the continuous profiler's state, shared by its event loop
 * (daemon.c) and its HTTP handlers (serve.c).
 *
 * One thread owns everything: the ring buffer, the HTTP server and the
 * timers all run from one epoll loop, so nothing here needs a lock.
 */
#ifndef AS_DAEMON_H
#define AS_DAEMON_H

#include <dirent.h>
#include <stdbool.h>
#include <linux/types.h>

#include "allocscope.h"
#include "config.h"
#include "exporter.h"
#include "hmap.h"
#include "ingest.h"

struct agg_snap;
struct export;
struct cost;
struct http;
struct shed;
struct http_request;
struct symbolizer;
struct tracer;

/* A ?seconds=N request: answered with what changed since its snapshot. */
struct delta {
	struct delta *next;
	struct http_request *req;	/* NULL once the client went away */
	struct agg_snap *snap;		/* NULL: the profile as it is, at once */
	struct export *job;		/* its profile being built */
	__u64 start_ns, due_ns;
	pid_t pid;
	bool heap;
};

/* A process that exec'ed: its mappings are read again a little later. */
struct pending {
	pid_t pid;
	__u64 due_ns;
	int tries;
};

enum export_err {
	EXPORT_ERR_MKDIR,
	EXPORT_ERR_WRITE,
	EXPORT_ERR_NOSPC,
	EXPORT_ERR_RETAIN,
	EXPORT_ERR_MAX,
};

struct daemon_stats {
	__u64 exports;
	__u64 export_ns_last, export_ns_total;	/* building and writing them */
	__u64 export_errors[EXPORT_ERR_MAX];
	__u64 scans;
	__u64 attach_errors;
	__u64 processes_seen;
	__u64 evicted;
	__u64 live_purged;
	__u64 reloads;
	__u64 turn_max_ns;		/* the longest turn of the loop */
	__u64 slow_turns;		/* turns longer than SLOW_TURN_NS */
};

struct daemon {
	struct config cfg;
	const char *config_path;	/* NULL: the default, if it exists */
	char **overrides;		/* "key=value" from the command line */
	int nr_overrides;
	struct tracer *tr;
	struct agg *agg;
	struct symbolizer *sym;
	struct ingest in;
	struct shed *shed;
	struct http *http;
	int epfd, sigfd;
	bool stop;
	bool backlog;
	bool serving;			/* profiles for HTTP requests are being built */			/* the last read of the ring stopped with records left */
	__u64 drain_until;		/* when the current read of the ring stops */
	__u64 start_ns, start_wall_ns;
	__u64 last_export_ns, next_export_ns, next_scan_ns, next_watchdog_ns, next_housekeep_ns;
	__u64 next_shed_ns, next_purge_ns, next_overflow_ns;
	struct hmap seen;		/* objects checked for malloc, by (dev, ino) */
	__u64 nr_attached;		/* of them, probed */
	struct pending *pending;
	int nr_pending, cap_pending;
	struct delta *deltas;
	DIR *scan_dir;			/* a scan of /proc in progress, or NULL */
	struct export *job;		/* the interval export being built, or NULL */
	bool job_heap;			/* its live-set profile (else its rate profile) */
	__u64 job_ns;			/* when it was taken */
	struct cost *cost;		/* traced calls per process, and the trap's cost */
	__u64 last_cost_log_ns, next_cost_log_ns;
	struct daemon_stats st;
	int export_errno;		/* last export failure logged, to log once */
};

__u64 daemon__now(void);
/* Wall clock for profile timestamps, derived from the monotonic one. */
__s64 daemon__wall(const struct daemon *d, __u64 mono_ns);
/*
 * Reads the ring buffer for a bounded time (profiles served are up to date
 * unless samples come faster than they are read: then load is shed).
 */
void daemon__drain(struct daemon *d);
/*
 * The options of every profile the daemon exports or serves: rate, alloc-only, labels, and
 * the comments (rate, probes, losses so far) in n, which must live as long as o.
 */
void daemon__profile_opts(struct daemon *d, struct export_opts *o, struct export_notes *n);
/* Reads the kernel's traced calls per process into d->cost. */
void daemon__refresh_cost(struct daemon *d);

/* serve.c: the HTTP endpoint. Sets it up (anew); logs why not, the old one staying. */
int serve__setup(struct daemon *d);
/* The endpoint listens elsewhere than the configuration's listen: serve__setup() it again. */
bool serve__stale(const struct daemon *d);
void serve__free(struct daemon *d);
/* Builds the profiles of the requests that are due; returns 1 if some are not done. */
int serve__run_deltas(struct daemon *d);
void serve__cancel_deltas(struct daemon *d);

#endif /* AS_DAEMON_H */
