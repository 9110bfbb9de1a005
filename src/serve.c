// SPDX-License-Identifier: GPL-2.0-only
/*
 * serve.c - the daemon's HTTP endpoint, shaped like Go's net/http/pprof:
 *
 *   /debug/pprof/allocs   alloc_* since the daemon started, inuse_* now;
 *                         pprof shows alloc_space by default
 *   /debug/pprof/heap     the same data; pprof shows inuse_space
 *   ?seconds=N            what changed over the next N seconds (a delta,
 *                         inuse_* too, as Go does), duration_nanos set
 *   ?pid=N                one process: 400 if N is not a pid (1 to 4194304), 404 if
 *                         the daemon holds no samples of it
 *   /metrics              Prometheus text: samples, drops by reason, ...
 *
 * Alloc values only grow for a given (labels, stack) while the daemon
 * runs: Alloy and Pyroscope compute their deltas from them.
 */
#include <errno.h>
#include <grp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aggregator.h"
#include "auth.h"
#include "cli.h"
#include "cost.h"
#include "daemon.h"
#include "elffile.h"
#include "exporter.h"
#include "http.h"
#include "keeper.h"
#include "log.h"
#include "metrics.h"
#include "pprof.h"
#include "shed.h"
#include "symbolizer.h"
#include "tracer.h"
#include "unwinder.h"
#include "value.h"
#include "version.h"

#define MAX_SECONDS	3600
/* File descriptors besides the endpoint's: probes, ELF files, BPF maps, ... */
#define FD_RESERVE	1024
#define FD_PER_LISTENER_SLACK	256	/* cut connections until MHD closes them */
#define SERVE_STEP_NS	(10ULL * 1000000)	/* building profiles, per turn of the loop */

struct route {
	struct daemon *d;
	bool heap;
};

static struct route routes[2];

/* What the running endpoint uses and must outlive it. */
struct endpoint {
	struct auth *auth;
	char *cert, *key;		/* PEM */
	char *listen;			/* the configuration's listen it was made for */
};

static struct endpoint cur;

/* Profiles are written through a memfd: the pprof writer streams to an fd. */
static int respond_profile(struct http_request *req, struct pprof *pp, const char *name)
{
	char disp[64];
	struct stat st;
	void *buf;
	int fd, err;

	fd = memfd_create("profile", MFD_CLOEXEC);
	if (fd < 0)
		return http__respond_error(req, 500, "cannot build the profile: %s",
					   strerror(errno));
	err = pprof__write(pp, fd);
	if (!err && fstat(fd, &st))
		err = -errno;
	buf = err ? MAP_FAILED : mmap(NULL, st.st_size ?: 1, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (buf == MAP_FAILED)
		return http__respond_error(req, 500, "cannot build the profile: %s",
					   strerror(err ? -err : errno));
	snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", name);
	err = http__respond(req, 200, "application/octet-stream", buf, st.st_size,
			    "Content-Disposition", disp, "X-Content-Type-Options", "nosniff", NULL);
	munmap(buf, st.st_size ?: 1);
	return err;
}

static void base_opts(struct daemon *d, struct export_opts *o, struct export_notes *n,
		      bool heap, pid_t pid)
{
	daemon__profile_opts(d, o, n);
	o->pid = pid;
	o->default_type = heap ? NULL : "alloc_space";
}

/*
 * A number parameter from 1 to max in the one dialect (value.h: no sign, no blank, no "%00",
 * no wrap): 0 and *out, or -ENOENT if absent, -EINVAL / -ERANGE if not such a number.
 */
static int query_number(struct http_request *req, const char *key, __u64 max, __u64 *out)
{
	size_t len;
	const char *v = http_request__query_n(req, key, &len);

	*out = 0;
	if (!v)
		return -ENOENT;
	return value__parse_n(VALUE_NUMBER, v, len, 1, max, out);
}

/* A pid the daemon holds nothing of: Go's handler answers 404 for what it does not have. */
static int no_such_process(struct http_request *req, pid_t pid)
{
	return http__respond_error(req, 404, "no samples of process %d: not a target, or gone",
				   pid);
}

/* The client went away: release the request now; the snapshot goes when due. */
static void delta_gone(struct http_request *req, void *ctx)
{
	http__drop(req);
	((struct delta *)ctx)->req = NULL;
}

/*
 * Every profile request is parked and built a slice per turn of the loop:
 * at once (seconds 0), or once its seconds are over, from a snapshot.
 */
static int hold_delta(struct route *rt, struct http_request *req, __u64 seconds, pid_t pid)
{
	struct daemon *d = rt->d;
	struct delta *dl = calloc(1, sizeof(*dl));
	int err;

	if (!dl)
		return http__respond_error(req, 500, "out of memory");
	dl->snap = seconds ? agg__snapshot(d->agg) : NULL;
	if (seconds && !dl->snap) {
		free(dl);
		return http__respond_error(req, 500, "out of memory");
	}
	dl->req = req;
	dl->pid = pid;
	dl->heap = rt->heap;
	dl->start_ns = daemon__now();
	dl->due_ns = dl->start_ns + seconds * 1000000000ULL;
	err = http__suspend(req, delta_gone, dl);
	if (err) {
		agg_snap__free(d->agg, dl->snap);
		free(dl);
		return http__respond_error(req, 500, "cannot hold the request: %s", strerror(-err));
	}
	dl->next = d->deltas;
	d->deltas = dl;
	return 0;
}

static int profile_handler(struct http_request *req, void *ctx)
{
	struct route *rt = ctx;
	const char *debug = http_request__query(req, "debug");
	__u64 seconds, pid;
	int err;

	err = query_number(req, "seconds", ~0ULL, &seconds);
	if (err && err != -ENOENT)
		return http__respond_error(req, 400,
					   "invalid value for \"seconds\" - must be a positive integer");
	err = query_number(req, "pid", VALUE_PID_MAX, &pid);
	if (err && err != -ENOENT)
		return http__respond_error(req, 400,
					   "invalid value for \"pid\" - must be a process id from 1 to %d",
					   VALUE_PID_MAX);
	if (seconds && debug && strcmp(debug, "0"))
		return http__respond_error(req, 400, "seconds and debug params are incompatible");
	if (debug && strcmp(debug, "0"))
		return http__respond_error(req, 400,
					   "debug=%s is not supported: allocscope serves binary profiles only",
					   debug);
	if (seconds > MAX_SECONDS)
		return http__respond_error(req, 400, "seconds exceeds the maximum of %d",
					   MAX_SECONDS);
	daemon__drain(rt->d);
	if (!seconds && pid && !agg__find_proc(rt->d->agg, pid))
		return no_such_process(req, pid);
	return hold_delta(rt, req, seconds, pid);
}

/* The request is due: its profile starts, of what was read by now. */
static int start_delta(struct daemon *d, struct delta *dl)
{
	__u64 now = daemon__now();
	struct export_notes notes;
	struct export_opts o;
	int err;

	if (dl->pid && !agg__find_proc(d->agg, dl->pid)) {
		no_such_process(dl->req, dl->pid);
		return -ESRCH;
	}
	base_opts(d, &o, &notes, dl->heap, dl->pid);
	o.values = dl->snap ? EXPORT_SINCE : EXPORT_TOTAL;
	o.since = dl->snap;
	o.time_nanos = daemon__wall(d, now);
	o.duration_nanos = dl->snap ? now - dl->start_ns : 0;
	err = exporter__start(d->agg, &o, &dl->job);
	if (err)
		http__respond_error(dl->req, 500, "cannot build the profile: %s", strerror(-err));
	return err;
}

/* Builds for budget_ns; returns whether the request is answered (or failed). */
static bool step_delta(struct daemon *d, struct delta *dl, __u64 budget_ns)
{
	const char *name = dl->snap ? (dl->heap ? "heap-delta" : "allocs-delta") :
				      (dl->heap ? "heap" : "allocs");
	int err;

	if (!dl->job && start_delta(d, dl))
		return true;
	err = exporter__step(dl->job, budget_ns);
	if (!err)
		return false;
	if (err < 0)
		http__respond_error(dl->req, 500, "cannot build the profile: %s", strerror(-err));
	else
		respond_profile(dl->req, exporter__profile(dl->job), name);
	return true;
}

static void free_delta(struct daemon *d, struct delta *dl)
{
	exporter__end(dl->job, false);
	agg_snap__free(d->agg, dl->snap);
	free(dl);
}

int serve__run_deltas(struct daemon *d)
{
	struct delta **pp = &d->deltas, *dl;
	__u64 now = daemon__now(), until = now + SERVE_STEP_NS, t;
	bool drained = false;
	int busy = 0;

	while ((dl = *pp)) {
		if (dl->due_ns > now && dl->req) {
			pp = &dl->next;
			continue;
		}
		if (!drained && dl->req && !dl->job) {
			daemon__drain(d);
			drained = true;
		}
		t = daemon__now();
		if (dl->req && !step_delta(d, dl, until > t ? until - t : 0)) {
			busy = 1;	/* more next turn */
			pp = &dl->next;
			continue;
		}
		*pp = dl->next;
		free_delta(d, dl);
	}
	return busy;
}

void serve__cancel_deltas(struct daemon *d)
{
	struct delta *dl;

	while ((dl = d->deltas)) {
		d->deltas = dl->next;
		if (dl->req)
			http__respond_error(dl->req, 503, "allocscope is stopping");
		free_delta(d, dl);
	}
}

static int index_handler(struct http_request *req, void *ctx)
{
	static const char page[] =
		"<html><head><title>allocscope</title></head><body>\n"
		"<h1>allocscope</h1>\n"
		"<p>Sampled allocation profiles of this host, in Go's heap profile format.</p>\n"
		"<ul>\n"
		"<li><a href=\"allocs\">allocs</a>: what was allocated since the start "
		"(go tool pprof shows alloc_space)</li>\n"
		"<li><a href=\"heap\">heap</a>: the same, shown as what is held now "
		"(inuse_space)</li>\n"
		"<li><a href=\"allocs?seconds=30\">allocs?seconds=30</a>: a delta over 30 s</li>\n"
		"<li><a href=\"/metrics\">/metrics</a>: allocscope's own metrics</li>\n"
		"</ul></body></html>\n";

	return http__respond(req, 200, "text/html; charset=utf-8", page, sizeof(page) - 1,
			     "X-Content-Type-Options", "nosniff", NULL);
}

/* --- /metrics --------------------------------------------------------------- */

static void metric_drops(struct metrics *m, const struct daemon *d, const __u64 *st)
{
	static const struct {
		const char *reason;
		int stat;
	} kernel[] = {
		{ "ringbuf_full", AS_STAT_DROP_RINGBUF },
		{ "ringbuf_full_free", AS_STAT_DROP_FREE_RINGBUF },
		{ "ringbuf_full_proc_event", AS_STAT_DROP_PROC_RINGBUF },
		{ "no_thread_state", AS_STAT_DROP_NO_TSTATE },
		{ "live_map_full", AS_STAT_DROP_LIVE_FULL },
		{ "targets_map_full", AS_STAT_DROP_TARGETS_FULL },
		{ "ringbuf_full_seen", AS_STAT_DROP_SEEN_RINGBUF },
		{ "ringbuf_full_cancel", AS_STAT_DROP_CANCEL_RINGBUF },
		{ "overflow_map_full", AS_STAT_DROP_OVERFLOW },
		{ "ringbuf_full_proc_mark", AS_STAT_DROP_MARK_RINGBUF },
	};
	struct agg_limit_stats al;
	size_t i;

	metrics__family(m, "allocscope_dropped_total", METRICS_COUNTER,
			"Samples, frees and events lost or not tracked, by reason.");
	for (i = 0; i < sizeof(kernel) / sizeof(kernel[0]); i++)
		metrics__sample(m, (double)st[kernel[i].stat], "reason", kernel[i].reason, NULL);
	metrics__sample(m, (double)d->in.dropped_procs, "reason", "max_processes", NULL);
	metrics__sample(m, (double)d->in.errors, "reason", "out_of_memory", NULL);
	agg__limit_stats(d->agg, &al);
	metrics__sample(m, (double)al.site_drops, "reason", "max_sites", NULL);
	metrics__sample(m, (double)al.live_full, "reason", "live_set_full", NULL);
	metrics__counter(m, "allocscope_dropped_bytes_total",
			 "Estimated bytes of the samples dropped at max_sites.", al.site_drop_bytes);
	/* their calls are in the totals, without series or a log line of their own */
	metrics__sample(m, (double)cost__shed(d->cost), "reason", "cost_max_processes", NULL);
}

/* Load shedding: what was raised, and what it cost in samples. */
static void metric_shed(struct metrics *m, const struct daemon *d)
{
	struct shed_stats ss;

	shed__stats(d->shed, &ss);
	metrics__family(m, "allocscope_shed_rate_changes_total", METRICS_COUNTER,
			"Per-process sampling rates raised (load shed) or lowered again.");
	metrics__sample(m, (double)ss.raised, "direction", "up", NULL);
	metrics__sample(m, (double)ss.lowered, "direction", "down", NULL);
	metrics__counter(m, "allocscope_shed_samples_total",
			 "Samples the configured rate would have taken beyond those taken, estimated.",
			 (double)ss.shed_samples);
	metrics__gauge(m, "allocscope_shed_processes",
		       "Processes sampled at a raised rate now.", (double)ss.procs);
	metrics__gauge(m, "allocscope_shed_max_rate_bytes",
		       "The largest mean gap between samples in force now.", (double)ss.max_rate);
}

static void metric_proc_cost(struct metrics *m, struct daemon *d)
{
	struct cost_proc *top[1000];	/* cost_top's maximum */
	char pid[16];
	int n, i;

	n = cost__top(d->cost, top, d->cfg.cost_top < 1000 ? d->cfg.cost_top : 1000);
	metrics__family(m, "allocscope_process_traced_calls_total", METRICS_COUNTER,
			"Traced calls of the cost_top processes with the most, by kind.");
	for (i = 0; i < n; i++) {
		snprintf(pid, sizeof(pid), "%d", top[i]->pid);
		metrics__sample(m, (double)top[i]->allocs, "pid", pid, "comm", top[i]->comm,
				"kind", "alloc", NULL);
		metrics__sample(m, (double)top[i]->frees, "pid", pid, "comm", top[i]->comm,
				"kind", "free", NULL);
	}
	metrics__family(m, "allocscope_process_trap_seconds_total", METRICS_COUNTER,
			"Estimated time the same processes spent in traps.");
	for (i = 0; i < n; i++) {
		snprintf(pid, sizeof(pid), "%d", top[i]->pid);
		metrics__sample(m, cost__seconds(d->cost, top[i]->allocs + top[i]->frees), "pid",
				pid, "comm", top[i]->comm, NULL);
	}
}

/* What tracing costs the targets: every traced call is a trap. */
static void metric_cost(struct metrics *m, struct daemon *d, const __u64 *st)
{
	double trap = cost__trap_ns(d->cost);
	__u64 a, f;

	daemon__refresh_cost(d);
	cost__totals(d->cost, &a, &f);
	metrics__gauge(m, "allocscope_trap_nanoseconds",
		       "Estimated cost of one trap on this host, timed at start (NaN: unknown).",
		       trap > 0 ? trap : NAN);
	metrics__family(m, "allocscope_traced_calls_total", METRICS_COUNTER,
			"Probed calls of target processes, sampled or not: each is a trap.");
	metrics__sample(m, (double)a, "kind", "alloc", NULL);
	metrics__sample(m, (double)f, "kind", "free", NULL);
	metrics__counter(m, "allocscope_trap_seconds_total",
			 "Estimated time target processes spent in traps: calls x a trap's cost.",
			 cost__seconds(d->cost, a + f));
	metrics__counter(m, "allocscope_uncounted_calls_total",
			 "Traced calls of threads that exited while the calls map was full.",
			 (double)st[AS_STAT_DROP_CALLS]);
	metric_proc_cost(m, d);
}

static void metric_exports(struct metrics *m, const struct daemon *d)
{
	static const char *const reasons[EXPORT_ERR_MAX] = {
		[EXPORT_ERR_MKDIR] = "mkdir", [EXPORT_ERR_WRITE] = "write",
		[EXPORT_ERR_NOSPC] = "no_space", [EXPORT_ERR_RETAIN] = "retention",
	};
	int i;

	metrics__counter(m, "allocscope_exports_total", "Interval exports written.",
			 (double)d->st.exports);
	metrics__counter(m, "allocscope_export_seconds_total",
			 "Time spent building and writing interval exports.",
			 d->st.export_ns_total / 1e9);
	metrics__gauge(m, "allocscope_export_last_seconds",
		       "Time the last interval export took to build and write.",
		       d->st.export_ns_last / 1e9);
	metrics__family(m, "allocscope_export_errors_total", METRICS_COUNTER,
			"Failed interval exports, by reason.");
	for (i = 0; i < EXPORT_ERR_MAX; i++)
		metrics__sample(m, (double)d->st.export_errors[i], "reason", reasons[i], NULL);
}

static void count_request(const char *path, unsigned int status, __u64 count, void *ctx)
{
	char code[8];

	snprintf(code, sizeof(code), "%u", status);
	metrics__sample(ctx, (double)count, "path", path, "code", code, NULL);
}

/* CPU seconds and resident memory of this process, as Prometheus' process_* metrics. */
static void metric_self(struct metrics *m)
{
	unsigned long utime = 0, stime = 0;
	long rss = 0, ticks = sysconf(_SC_CLK_TCK);
	char buf[1024], *p;
	FILE *f;

	f = fopen("/proc/self/stat", "re");
	if (f && fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) &&
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
		   &stime) == 2)
		metrics__counter(m, "process_cpu_seconds_total", "CPU time used by allocscope.",
				 (double)(utime + stime) / ticks);
	if (f)
		fclose(f);
	f = fopen("/proc/self/statm", "re");
	if (f && fscanf(f, "%*d %ld", &rss) == 1)
		metrics__gauge(m, "process_resident_memory_bytes", "Resident memory of allocscope.",
			       (double)rss * sysconf(_SC_PAGESIZE));
	if (f)
		fclose(f);
}

static void metric_core(struct metrics *m, struct daemon *d, const __u64 *st)
{
	struct elf_cache_stats ec;
	struct keeper_stats ks;

	metrics__build_info(m, AS_VERSION, AS_GIT_REV);
	metrics__family(m, "allocscope_probes_info", METRICS_GAUGE,
			"The probe mechanism in use: uprobe-session or uprobe+uretprobe.");
	metrics__sample(m, 1, "mechanism", tracer__mode_name(tracer__mode(d->tr)), NULL);
	metrics__counter(m, "allocscope_samples_total", "Sampled allocations received.",
			 (double)st[AS_STAT_SAMPLES]);
	metrics__counter(m, "allocscope_frees_total", "Frees of sampled pointers received.",
			 (double)st[AS_STAT_FREES]);
	metrics__family(m, "allocscope_degraded_samples_total", METRICS_COUNTER,
			"Samples kept, with less detail, while the ring buffer was full: not lost.");
	metrics__sample(m, (double)(st[AS_STAT_OVERFLOW] - st[AS_STAT_OVERFLOW_NOSTACK]), "how",
			"kernel_frame_pointer_stack", NULL);
	metrics__sample(m, (double)st[AS_STAT_OVERFLOW_NOSTACK], "how", "kernel_no_stack", NULL);
	metrics__sample(m, (double)st[AS_STAT_SMALL_RECORD], "how", "frame_pointer_record", NULL);
	metrics__sample(m, (double)st[AS_STAT_OVERFLOW_FREE], "how", "kernel_free", NULL);
	metrics__counter(m, "allocscope_entry_samples_total",
			 "Samples taken at the entry of calls whose return is not probed: in alloc_*, not in inuse_*.",
			 (double)st[AS_STAT_NORET]);
	metrics__counter(m, "allocscope_cancelled_samples_total",
			 "Entry samples whose call threw: nothing allocated, not counted.",
			 (double)d->in.cancelled);
	metrics__counter(m, "allocscope_unwinds_in_probed_calls_total",
			 "In-process unwinders that ran inside a call whose return was probed; its process is no longer.",
			 (double)st[AS_STAT_HIJACK_SEEN]);
	metrics__gauge(m, "allocscope_sample_rate_bytes", "Mean bytes between samples.",
		       (double)d->cfg.sample_rate);
	metrics__gauge(m, "allocscope_live_samples",
		       "Sampled allocations tracked as live (live map entries in use).",
		       (double)agg__nr_live(d->agg));
	metrics__gauge(m, "allocscope_live_map_capacity", "Live map entries.",
		       (double)d->cfg.live_max);
	metrics__gauge(m, "allocscope_processes", "Processes with samples in memory.",
		       (double)agg__nr_procs(d->agg));
	metrics__gauge(m, "allocscope_sites", "(process, stack, size) sites in memory.",
		       (double)agg__nr_sites(d->agg));
	metrics__gauge(m, "allocscope_attached_objects",
		       "Allocator objects (executables, libraries) probed.",
		       (double)d->nr_attached);
	metrics__counter(m, "allocscope_attach_errors_total", "Objects that could not be probed.",
			 (double)d->st.attach_errors);
	metrics__counter(m, "allocscope_scans_total", "Scans of every process.",
			 (double)d->st.scans);
	metrics__counter(m, "allocscope_reloads_total", "Configuration reloads.",
			 (double)d->st.reloads);
	metrics__gauge(m, "allocscope_loop_turn_max_seconds",
		       "The longest turn of the daemon's loop (what HTTP answers may wait).",
		       d->st.turn_max_ns / 1e9);
	metrics__counter(m, "allocscope_loop_slow_turns_total",
			 "Turns of the daemon's loop longer than 100 ms.", (double)d->st.slow_turns);
	metrics__counter(m, "allocscope_evicted_processes_total",
			 "Exited processes dropped from memory after their export.",
			 (double)d->st.evicted);
	metrics__counter(m, "allocscope_unreadable_processes_total",
			 "Process images gone before their mappings could be read: unnamed stacks.",
			 (double)d->in.unreadable);
	keeper__stats(d->in.keeper, &ks);
	metrics__family(m, "allocscope_kept_images_total", METRICS_COUNTER,
			"Process images read by the keeper at a first sample, by fate.");
	metrics__sample(m, (double)ks.kept, "fate", "read", NULL);
	metrics__sample(m, (double)d->in.kept_used, "fate", "used", NULL);
	metrics__sample(m, (double)ks.evicted, "fate", "evicted", NULL);
	metrics__counter(m, "allocscope_unwinds_total", "Sampled stacks unwound with DWARF.",
			 (double)d->in.unwinds);
	metrics__counter(m, "allocscope_unwind_seconds_total", "Time spent unwinding them.",
			 d->in.unwind_ns / 1e9);
	symbolizer__cache_stats(d->sym, &ec);
	metrics__gauge(m, "allocscope_symbol_cache_bytes", "Memory of cached ELF files.",
		       (double)ec.bytes);
	metrics__counter(m, "allocscope_symbol_cache_evictions_total", "ELF files evicted.",
			 (double)ec.evictions);
	metrics__counter(m, "allocscope_symbol_cache_oversized_total",
			 "ELF files whose DWARF alone exceeds symbol_cache_mb: read without lines.",
			 (double)ec.oversized);
	metrics__counter(m, "allocscope_file_errors_total",
			 "ELF files that could not be read: not ELF, truncated or changed while read.",
			 (double)elf_file__nr_errors());
}

static void metric_http(struct metrics *m, const struct daemon *d)
{
	struct http_stats hs;

	http__stats(d->http, &hs);
	metrics__gauge(m, "allocscope_http_connections", "HTTP connections open.",
		       (double)hs.open);
	metrics__family(m, "allocscope_http_connections_closed_total", METRICS_COUNTER,
			"HTTP connections closed by allocscope before their client did, by reason.");
	metrics__sample(m, (double)hs.cut_client, "reason", "client_limit", NULL);
	metrics__sample(m, (double)hs.cut_full, "reason", "server_limit", NULL);
	metrics__sample(m, (double)hs.cut_timeout, "reason", "header_timeout", NULL);
	metrics__sample(m, (double)hs.refused, "reason", "client_busy", NULL);
	metrics__counter(m, "allocscope_http_accept_errors_total",
			 "Connections not accepted for want of file descriptors or memory.",
			 (double)hs.accept_errors);
}

static int metrics_handler(struct http_request *req, void *ctx)
{
	struct daemon *d = ctx;
	struct metrics *m = metrics__new();
	__u64 st[AS_STAT_MAX];
	const char *out;
	size_t len;
	int err;

	if (!m)
		return http__respond_error(req, 500, "out of memory");
	daemon__drain(d);
	tracer__stats(d->tr, st);
	metric_core(m, d, st);
	metric_drops(m, d, st);
	metric_cost(m, d, st);
	metric_exports(m, d);
	metric_shed(m, d);
	metrics__family(m, "allocscope_http_requests_total", METRICS_COUNTER,
			"HTTP requests served, by path and status.");
	http__for_each_count(d->http, count_request, m);
	metric_http(m, d);
	metric_self(m);
	err = metrics__output(m, &out, &len);
	err = err ?: http__respond(req, 200, METRICS_CONTENT_TYPE, out, len, NULL);
	metrics__free(m);
	return err;
}

static void endpoint_free(struct endpoint *ep)
{
	auth__free(ep->auth);
	if (ep->key)
		explicit_bzero(ep->key, strlen(ep->key));
	free(ep->key);
	free(ep->cert);
	free(ep->listen);
	memset(ep, 0, sizeof(*ep));
}

/* The credentials and TLS files of cfg into ep; logs what is wrong, once. */
static int endpoint_load(const struct config *cfg, struct endpoint *ep)
{
	char err[512] = "";
	size_t len;
	int ret = 0;

	if (!*cfg->tls_cert_file != !*cfg->tls_key_file) {
		pr_err("tls_cert_file and tls_key_file go together: set both, or neither\n");
		return -EINVAL;
	}
	if (*cfg->tls_cert_file)
		ret = auth__read_file(cfg->tls_cert_file, false, &ep->cert, &len, err,
				      sizeof(err)) ?:
		      auth__read_file(cfg->tls_key_file, true, &ep->key, &len, err, sizeof(err));
	if (!ret && *cfg->http_auth_file)
		ret = auth__load(cfg->http_auth_file, &ep->auth, err, sizeof(err));
	if (ret)
		pr_err("%s\n", err[0] ? err : strerror(-ret));
	return ret;
}

static int endpoint_opts(const struct config *cfg, const struct endpoint *ep,
			 struct http_opts *o)
{
	struct group *gr;

	memset(o, 0, sizeof(*o));
	o->max_connections = cfg->http_max_connections;
	o->max_per_client = cfg->http_max_connections_per_client;
	o->header_timeout_s = cfg->http_header_timeout_ns / VALUE_NS;
	o->idle_timeout_s = cfg->http_idle_timeout_ns / VALUE_NS;
	o->unix_path = *cfg->listen_unix ? cfg->listen_unix : NULL;
	o->unix_mode = cfg->listen_unix_mode;
	o->unix_gid = (gid_t)-1;
	o->tls_cert = ep->cert;
	o->tls_key = ep->key;
	o->auth = ep->auth;
	if (!strcmp(cfg->listen, CONFIG_LISTEN_NONE) && !o->unix_path) {
		pr_err("listen = none needs listen_unix: nothing to listen on\n");
		return -EINVAL;
	}
	if (*cfg->listen_unix_group) {
		gr = getgrnam(cfg->listen_unix_group);
		if (!gr) {
			pr_err("listen_unix_group: no group '%s'\n", cfg->listen_unix_group);
			return -ENOENT;
		}
		o->unix_gid = gr->gr_gid;
	}
	return 0;
}

/*
 * Each connection is a file descriptor: raise the soft limit to the hard one if the endpoint
 * may need more, as systemd advises for programs that do not use select() (systemd.exec(5),
 * LimitNOFILE=). Short of the hard limit, connections beyond are counted, not fatal.
 */
static void raise_nofile(const struct config *cfg)
{
	rlim_t need = cfg->http_max_connections + 2 * FD_PER_LISTENER_SLACK + FD_RESERVE;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= need)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (rl.rlim_cur < need)
		pr_warn("RLIMIT_NOFILE %llu is below the %llu descriptors http_max_connections = %u "
			"may need: accept errors are counted in /metrics\n",
			(unsigned long long)rl.rlim_max, (unsigned long long)need,
			cfg->http_max_connections);
	(void)setrlimit(RLIMIT_NOFILE, &rl);
}

static int add_routes(struct daemon *d, struct http *h)
{
	int err;

	routes[0] = (struct route){ .d = d, .heap = false };
	routes[1] = (struct route){ .d = d, .heap = true };
	err = http__route(h, "/debug/pprof/allocs", profile_handler, &routes[0]);
	err = err ?: http__route(h, "/debug/pprof/heap", profile_handler, &routes[1]);
	err = err ?: http__route(h, "/debug/pprof/", index_handler, d);
	err = err ?: http__route(h, "/metrics", metrics_handler, d);
	return err ?: cli__epoll_add(d->epfd, http__fd(h));
}

/* Logs its failure itself, in one line: the running endpoint, if any, stays. */
int serve__setup(struct daemon *d)
{
	const char *listen = strcmp(d->cfg.listen, CONFIG_LISTEN_NONE) ? d->cfg.listen : NULL;
	struct endpoint ep = { 0 };
	struct http_opts o;
	struct http *h = NULL;
	int err;

	ep.listen = strdup(d->cfg.listen);
	err = ep.listen ? 0 : -ENOMEM;
	err = err ?: endpoint_load(&d->cfg, &ep) ?: endpoint_opts(&d->cfg, &ep, &o);
	if (err)
		goto out_free;
	raise_nofile(&d->cfg);
	err = http__new(listen, &o, &h);
	if (err) {
		pr_err("cannot listen on %s%s%s: %s\n", listen ? listen : "",
		       listen && o.unix_path ? " and " : "", o.unix_path ? o.unix_path : "",
		       strerror(-err));
		goto out_free;
	}
	err = add_routes(d, h);
	if (err) {
		pr_err("cannot serve: %s\n", strerror(-err));
		goto out_free;
	}
	if (d->http) {
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, http__fd(d->http), NULL);
		http__free(d->http);
	}
	endpoint_free(&cur);
	cur = ep;
	d->http = h;
	return 0;
out_free:
	http__free(h);
	endpoint_free(&ep);
	return err;
}

bool serve__stale(const struct daemon *d)
{
	return !cur.listen || strcmp(cur.listen, d->cfg.listen);
}

void serve__free(struct daemon *d)
{
	http__free(d->http);
	d->http = NULL;
	endpoint_free(&cur);
}
