// SPDX-License-Identifier: GPL-2.0-only
/*
 * daemon.c - "allocscope daemon": continuous, system-wide allocation
 * profiling. Every allocator object in use on the host (and in its
 * containers) is probed once, by inode, for every process that maps it;
 * processes that start later are picked up from exec events and periodic
 * rescans. Every export interval it writes a rate profile (that interval's
 * allocations) and a live-set profile; it serves both over HTTP the way
 * Go's net/http/pprof does.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "aggregator.h"
#include "attach.h"
#include "calib.h"
#include "cli.h"
#include "cost.h"
#include "daemon.h"
#include "exporter.h"
#include "http.h"
#include "keeper.h"
#include "log.h"
#include "notify.h"
#include "pprof.h"
#include "procfs.h"
#include "shed.h"
#include "symbolizer.h"
#include "tracer.h"
#include "unwinder.h"

#define SCAN_INTERVAL_NS	(10ULL * 1000000000)	/* dlopen'ed allocators, missed execs */
#define PLAN_DELAYS_MS		{ 50, 1000 }		/* after an exec: the loader has run */
#define MAX_PENDING		4096
#define HOUSEKEEP_NS		(30ULL * 1000000000)
#define EXPORT_DIR_MODE		0750
/* Files (exports, 0640) and directories (0750) this daemon creates: never for others. */
#define DAEMON_UMASK		027
#define HOUSEKEEP_MIN_NS	(1ULL * 1000000000)
/*
 * Samples read per turn of the loop, at most, in time: HTTP, exports,
 * signals and timers wait no longer than this behind a full ring.
 */
#define DRAIN_BUDGET_NS		(20ULL * 1000000)
#define DRAIN_FINAL_NS		(1000ULL * 1000000)	/* before the export at exit */
#define OVERFLOW_NS		(100ULL * 1000000)	/* the overflow map read behind a backlog */
#define EXPORT_STEP_NS		(10ULL * 1000000)	/* of an export, per turn */
#define SCAN_STEP_NS		(10ULL * 1000000)	/* of a scan of /proc, per turn */
#define SLOW_TURN_NS		(100ULL * 1000000)	/* a turn of the loop that is counted */
#define MAX_GONE_CALLS		256		/* lost exits taken per housekeeping */

static const char usage[] =
	"usage: allocscope daemon [--config FILE] [--listen ADDR:PORT] [--export-dir DIR]\n"
	"                         [--export-interval SECONDS] [--sample-rate BYTES]\n"
	"                         [--targets SPEC] [--check-config] [-v]\n"
	"\n"
	"  --config FILE           configuration (default " CONFIG_DEFAULT_PATH ")\n"
	"  --listen ADDR:PORT      HTTP endpoint (default 127.0.0.1:6060)\n"
	"  --export-dir DIR        where profiles are written every interval\n"
	"  --export-interval SECS  0 disables periodic exports\n"
	"  --sample-rate BYTES     mean bytes between samples (default 512K)\n"
	"  --targets SPEC          all, or pid:N,cgroup:PATH,exe:PATH,comm:NAME\n"
	"  --check-config          validate the configuration and exit\n"
	"  -v, --verbose           more diagnostics\n"
	"\n"
	"Options override the configuration file (see allocscope.conf(5)).\n";

__u64 daemon__now(void)
{
	return cli__now_ns();
}

__s64 daemon__wall(const struct daemon *d, __u64 mono_ns)
{
	return d->start_wall_ns + (mono_ns - d->start_ns);
}

/* --- configuration -------------------------------------------------- */

struct override_opt {
	const char *name;
	const char *key;
};

static const struct override_opt overrides[] = {
	{ "listen", "listen" },
	{ "export-dir", "export_dir" },
	{ "export-interval", "export_interval" },
	{ "sample-rate", "sample_rate" },
	{ "targets", "targets" },
};

/* Defaults, then the file, then the command line; validated. */
static int load_config(struct daemon *d, struct config *cfg)
{
	char err[512] = "";
	const char *path = d->config_path ? d->config_path : CONFIG_DEFAULT_PATH;
	int i, rc;

	rc = config__defaults(cfg);
	if (!rc && (d->config_path || !access(path, F_OK)))
		rc = config__load(path, cfg, err, sizeof(err));
	for (i = 0; !rc && i < d->nr_overrides; i++) {
		char *eq = strchr(d->overrides[i], '=');

		*eq = '\0';
		rc = config__set(cfg, d->overrides[i], eq + 1, err, sizeof(err));
		*eq = '=';
	}
	if (!rc)
		rc = config__validate(cfg, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "allocscope: %s\n", err[0] ? err : strerror(-rc));
		config__free(cfg);
	}
	return rc;
}

static void free_overrides(struct daemon *d)
{
	int i;

	for (i = 0; i < d->nr_overrides; i++)
		free(d->overrides[i]);
	free(d->overrides);
	d->overrides = NULL;
	d->nr_overrides = 0;
}

static void add_override(struct daemon *d, const char *key, const char *value)
{
	char **n = realloc(d->overrides, (d->nr_overrides + 1) * sizeof(*n));

	if (!n || asprintf(&n[d->nr_overrides], "%s=%s", key, value) < 0) {
		fprintf(stderr, "allocscope: out of memory\n");
		exit(1);
	}
	d->overrides = n;
	d->nr_overrides++;
}

/* Returns true for --check-config. */
static bool parse_args(struct daemon *d, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'O' },
		{ "export-dir", required_argument, NULL, 'O' },
		{ "export-interval", required_argument, NULL, 'O' },
		{ "sample-rate", required_argument, NULL, 'O' },
		{ "targets", required_argument, NULL, 'O' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	bool check = false;
	int c, idx;

	while ((c = getopt_long(argc, argv, "vh", opts, &idx)) != -1) {
		switch (c) {
		case 'c': d->config_path = optarg; break;
		case 'O': add_override(d, overrides[idx - 1].key, optarg); break;
		case 'C': check = true; break;
		case 'v': log_set_level(log_get_level() + 1); break;
		case 'h': fputs(usage, stdout); exit(0);
		default: cli__bad_usage("daemon: unknown option (see allocscope daemon --help)");
		}
	}
	if (optind < argc)
		cli__bad_usage("daemon: unexpected argument '%s'", argv[optind]);
	return check;
}

/* --- which processes count -------------------------------------------- */

static bool pid_links(const struct config *cfg)
{
	unsigned int i;

	for (i = 0; i < cfg->nr_targets; i++)
		if (cfg->targets[i].kind != CONFIG_TARGET_PID)
			return false;
	return cfg->nr_targets > 0;
}

static bool target_matches(const struct config_target *t, pid_t pid)
{
	char buf[PATH_MAX];

	switch (t->kind) {
	case CONFIG_TARGET_PID:
		return t->pid == pid;
	case CONFIG_TARGET_COMM:
		return !procfs__comm(pid, buf, sizeof(buf)) && !strcmp(buf, t->arg);
	case CONFIG_TARGET_EXE:
		return !procfs__exe(pid, buf, sizeof(buf)) && !strcmp(buf, t->arg);
	case CONFIG_TARGET_CGROUP:
		return procfs__in_cgroup(pid, t->arg);
	}
	return false;
}

static bool is_target(const struct daemon *d, pid_t pid)
{
	unsigned int i;

	if (!d->cfg.nr_targets)
		return true;
	for (i = 0; i < d->cfg.nr_targets; i++)
		if (target_matches(&d->cfg.targets[i], pid))
			return true;
	return false;
}

/* --- finding allocators -------------------------------------------------- */

struct seen_node {
	struct hnode node;
	__u64 dev, ino;
};

static bool seen_eq(const struct hnode *n, const void *key)
{
	const struct seen_node *s = hmap_entry(n, struct seen_node, node);
	const __u64 *k = key;

	return s->dev == k[0] && s->ino == k[1];
}

/* Records every object it is asked about: each is checked for malloc once. */
static bool seen_cb(__u64 dev, __u64 ino, void *ctx)
{
	struct daemon *d = ctx;
	__u64 key[2] = { dev, ino }, h = hash_mix(hash_u64(dev), ino);
	struct seen_node *s;

	if (hmap__find(&d->seen, h, seen_eq, key))
		return true;
	s = malloc(sizeof(*s));
	if (s) {
		s->dev = dev;
		s->ino = ino;
		if (hmap__add(&d->seen, &s->node, h))
			free(s);
	}
	return false;
}

/* Probes the allocator objects pid maps that were never seen before. */
static void discover(struct daemon *d, pid_t pid)
{
	bool per_pid = pid_links(&d->cfg);
	struct probe_target *t;
	int nr, i, err;

	if (attach__discover(pid, seen_cb, d, &t, &nr))
		return;
	for (i = 0; i < nr; i++) {
		/* by inode, for every process mapping it, unless targets are pids */
		err = tracer__attach(d->tr, &t[i], per_pid ? pid : 0);
		if (err) {
			d->st.attach_errors++;
			pr_warn("cannot probe %s: %s\n", t[i].display, strerror(-err));
			continue;
		}
		d->nr_attached++;
		pr_info("probing %s (%d allocation, %d free, %d unwinder entry points)\n", t[i].display,
			t[i].nr_allocs, t[i].nr_frees, t[i].nr_unwinds);
	}
	free(t);
}

/* A process exists: decide whether it counts, and probe what it maps. */
static void consider(struct daemon *d, pid_t pid)
{
	bool target = is_target(d, pid);

	if (pid == getpid())
		return;
	d->st.processes_seen++;
	if (d->cfg.nr_targets && !pid_links(&d->cfg))
		tracer__set_target(d->tr, pid, target);
	if (target && attach__unwinds_inside(pid))
		tracer__set_noret(d->tr, pid, true);
	if (target || !pid_links(&d->cfg))
		discover(d, pid);
}

/*
 * Every process, for budget_ns at most: the rest at the next turn (a host
 * with hundreds of processes takes hundreds of milliseconds).
 */
static void scan_step(struct daemon *d, __u64 budget_ns)
{
	__u64 until = daemon__now() + budget_ns;
	struct dirent *de;

	if (!d->scan_dir)
		d->scan_dir = opendir("/proc");
	if (!d->scan_dir)
		goto done;
	while ((de = readdir(d->scan_dir))) {
		if (isdigit((unsigned char)de->d_name[0]))
			consider(d, atoi(de->d_name));
		if (daemon__now() >= until)
			return;
	}
	closedir(d->scan_dir);
	d->scan_dir = NULL;
	d->st.scans++;
done:
	d->next_scan_ns = daemon__now() + SCAN_INTERVAL_NS;
}

static void scan_all(struct daemon *d)
{
	if (d->scan_dir)
		closedir(d->scan_dir);
	d->scan_dir = NULL;
	scan_step(d, ~0ULL >> 1);
}

/* --- process lifecycle -------------------------------------------------- */

static void plan_later(struct daemon *d, pid_t pid, int tries)
{
	static const int delays[] = PLAN_DELAYS_MS;
	struct pending *n;

	if (tries >= (int)(sizeof(delays) / sizeof(delays[0])) || d->nr_pending >= MAX_PENDING)
		return;	/* the periodic scan still comes */
	if (d->nr_pending == d->cap_pending) {
		d->cap_pending = d->cap_pending ? d->cap_pending * 2 : 64;
		n = realloc(d->pending, d->cap_pending * sizeof(*n));
		if (!n)
			return;
		d->pending = n;
	}
	d->pending[d->nr_pending++] = (struct pending){
		.pid = pid, .tries = tries,
		.due_ns = daemon__now() + delays[tries] * 1000000ULL,
	};
}

static void run_pending(struct daemon *d)
{
	__u64 now = daemon__now();
	int i = 0;

	while (i < d->nr_pending) {
		struct pending p = d->pending[i];

		if (p.due_ns > now) {
			i++;
			continue;
		}
		d->pending[i] = d->pending[--d->nr_pending];
		if (!procfs__alive(p.pid))
			continue;
		consider(d, p.pid);
		plan_later(d, p.pid, p.tries + 1);
	}
}

/*
 * Exec and exit, from the "procs" ring, read before the samples: what
 * cannot wait. A new image may be a target (comm:, exe:): it must be in
 * the filter before it allocates, and its mappings read while it lives.
 */
static void on_exec_now(struct daemon *d, pid_t pid)
{
	/* a new image: its loader maps its libraries after this event */
	plan_later(d, pid, 0);
	if (d->cfg.nr_targets && !pid_links(&d->cfg))
		tracer__set_target(d->tr, pid, is_target(d, pid));
}

/* --- what tracing costs the targets --------------------------------------- */

static void on_calls(pid_t tgid, const struct as_calls *v, void *ctx)
{
	struct daemon *d = ctx;

	cost__update(d->cost, tgid, v, false, daemon__now());
}

void daemon__refresh_cost(struct daemon *d)
{
	tracer__each_calls(d->tr, on_calls, d);
}

/* A process exited: its last count leaves the kernel's map. */
static void take_calls(struct daemon *d, pid_t pid)
{
	struct as_calls v;

	if (!tracer__take_calls(d->tr, pid, &v))
		cost__update(d->cost, pid, &v, true, daemon__now());
}

struct gone_calls {
	pid_t pids[MAX_GONE_CALLS];
	int n;
};

static void find_gone(pid_t tgid, const struct as_calls *v, void *ctx)
{
	struct gone_calls *g = ctx;

	if (g->n < MAX_GONE_CALLS && !procfs__alive(tgid))
		g->pids[g->n++] = tgid;
}

/* Entries whose exit event was lost (a full ring), or a late thread's. */
static void purge_gone_calls(struct daemon *d)
{
	struct gone_calls g = { .n = 0 };
	int i;

	tracer__each_calls(d->tr, find_gone, &g);
	for (i = 0; i < g.n; i++)
		take_calls(d, g.pids[i]);
}

struct cost_log {
	struct daemon *d;
	double secs;
};

static void log_proc_cost(struct cost_proc *p, void *ctx)
{
	struct cost_log *l = ctx;
	__u64 a = p->allocs - p->logged_allocs, f = p->frees - p->logged_frees;
	double trap = cost__trap_ns(l->d->cost), s = cost__seconds(l->d->cost, a + f);
	char est[96] = "trap cost unknown";

	if (!a && !f)
		return;
	if (trap > 0)
		snprintf(est, sizeof(est), "~%.3f s of traps at ~%.0f ns each (%.2f%% of a CPU)", s,
			 trap, l->secs > 0 ? 100 * s / l->secs : 0);
	pr_info("cost: pid %d (%s%s): %llu traced calls in the last %.0f s (%llu allocations, "
		"%llu frees), %s; %llu in all\n", p->pid, p->comm[0] ? p->comm : "?",
		p->exited ? ", exited" : "", (unsigned long long)(a + f), l->secs,
		(unsigned long long)a, (unsigned long long)f, est,
		(unsigned long long)(p->allocs + p->frees));
	p->logged_allocs = p->allocs;
	p->logged_frees = p->frees;
}

/* A line per process that made traced calls since the last time. */
static void log_cost(struct daemon *d)
{
	__u64 now = daemon__now();
	struct cost_log l = { d, (now - d->last_cost_log_ns) / 1e9 };

	daemon__drain(d);	/* exit events first: they carry the last counts */
	daemon__refresh_cost(d);
	cost__each(d->cost, log_proc_cost, &l);
	d->last_cost_log_ns = now;
	d->next_cost_log_ns = now + d->cfg.cost_log_interval_ns;
}

/* What one trap costs here, for the estimates; and what "all" means. */
static int calibrate(struct daemon *d)
{
	double ns = 0;
	int err;

	d->cost = cost__new(d->cfg.max_processes);
	if (!d->cost)
		return -ENOMEM;
	err = calib__trap_ns(&ns);
	if (err)
		pr_warn("cannot time a trap on this host: %s; no estimates of what traps cost\n",
			strerror(-err));
	else
		pr_info("calibration: a trap costs ~%.0f ns on this host (an estimate, from timing "
			"a probed function in a child process)\n", ns);
	cost__set_trap_ns(d->cost, err ? 0 : ns);
	if (!d->cfg.nr_targets)
		pr_warn("targets = all: every call of malloc, free and the like in every process "
			"of the host traps into the kernel (~%.0f ns each here); name targets in "
			"production (see allocscope(8), OVERHEAD)\n", err ? 400.0 : ns);
	return 0;
}


static void on_exit_now(struct daemon *d, pid_t pid)
{
	shed__exit(d->shed, pid);
	if (pid_links(&d->cfg))
		tracer__detach_pid(d->tr, pid);
}

static int on_proc_record(void *ctx, const void *data, size_t size)
{
	const struct as_proc_event *e = data;
	struct daemon *d = ctx;

	if (size < sizeof(*e))
		return 0;
	if (e->type == AS_EV_EXEC)
		on_exec_now(d, e->tgid);
	else if (e->type == AS_EV_EXIT)
		on_exit_now(d, e->tgid);
	return 0;
}

/* The same events among the samples: which image the samples around them belong to. */
static void on_proc_exit(struct daemon *d, pid_t pid)
{
	struct agg_proc *p;

	take_calls(d, pid);
	p = agg__find_proc(d->agg, pid);
	if (!p)
		return;
	p->exited = true;
	p->exit_ns = daemon__now();
}

/* A sample callback: < 0 stops ring_buffer__consume() when the turn's time is up. */
static int on_record(void *ctx, const void *data, size_t size)
{
	const struct as_alloc_event *e = data;
	struct daemon *d = ctx;

	switch (ingest__record(&d->in, data, size)) {
	case AS_EV_ALLOC:
		shed__sample(d->shed, e->tgid, e->rate);
		break;
	case AS_EV_EXEC:
		agg__proc_exec(d->agg, e->tgid, daemon__now());
		break;
	case AS_EV_EXIT:
		on_proc_exit(d, e->tgid);
		break;
	}
	return daemon__now() >= d->drain_until ? -EAGAIN : 0;
}

static void drain_for(struct daemon *d, __u64 budget_ns)
{
	__u64 t0 = daemon__now();
	int n;

	d->drain_until = t0 + budget_ns;
	n = tracer__consume(d->tr);
	d->backlog = n == -EAGAIN;
	/* the weight the ring had no room for: after it, or every OVERFLOW_NS behind it */
	if (!d->backlog || t0 >= d->next_overflow_ns) {
		ingest__drain_overflow(&d->in, d->tr);
		d->next_overflow_ns = t0 + OVERFLOW_NS;
	}
	/* held samples wait for a cancel, unless this is the last drain */
	ingest__flush(&d->in, d->stop ? 0 : INGEST_HOLD_NS);
	shed__turn(d->shed, d->backlog, daemon__now() - t0);
}

void daemon__drain(struct daemon *d)
{
	drain_for(d, DRAIN_BUDGET_NS);
}

/* --- periodic exports ----------------------------------------------------- */

static enum export_err classify(int err)
{
	return err == -ENOSPC || err == -EDQUOT ? EXPORT_ERR_NOSPC : EXPORT_ERR_WRITE;
}

/* Logged once per kind of failure, until an export succeeds again. */
static void export_failed(struct daemon *d, enum export_err kind, const char *what, int err)
{
	d->st.export_errors[kind]++;
	if (d->export_errno == err)
		return;
	d->export_errno = err;
	pr_err("cannot export to %s: %s (retrying every interval)\n", what, strerror(-err));
}

/*
 * Profiles name every traced process's binaries, functions and mapping addresses: the export
 * directory is never open to others, even one made before by hand or an older version.
 */
static int private_dir(const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return -errno;
	if ((st.st_mode & 07777) & ~EXPORT_DIR_MODE && chmod(path, st.st_mode & EXPORT_DIR_MODE))
		return -errno;
	return 0;
}

static int make_dirs(const char *dir)
{
	char path[PATH_MAX], *p;

	snprintf(path, sizeof(path), "%s", dir);
	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(path, EXPORT_DIR_MODE) && errno != EEXIST ? -errno : private_dir(path);
}

void daemon__profile_opts(struct daemon *d, struct export_opts *o, struct export_notes *n)
{
	/* the share of cut stacks is the whole collection's, not a profile's: left out */
	struct export_losses l = { .oom = d->in.errors, .cancelled = d->in.cancelled,
				   .cut_pct = -1, .max_procs = true,
				   .procs = d->in.dropped_procs };
	__u64 st[AS_STAT_MAX];

	memset(o, 0, sizeof(*o));
	o->period = d->cfg.sample_rate;
	o->alloc_only = d->cfg.alloc_only;
	/* config_label and export_label share their bits */
	o->proc_labels = d->cfg.labels != 0;
	o->label_mask = d->cfg.labels;
	tracer__stats(d->tr, st);
	l.st = st;
	exporter__notes(o, n, tracer__mode_name(tracer__mode(d->tr)), &l);
}

/*
 * An interval export is built a slice per turn of the loop (a big profile
 * takes hundreds of milliseconds): its rate profile, then its live-set
 * profile, both of what was read when it started.
 */
static int job_start(struct daemon *d, bool heap)
{
	struct export_notes notes;	/* the header is written at the start */
	struct export_opts o;
	int err;

	daemon__profile_opts(d, &o, &notes);
	/* stamped when collected, the interval's end, as Go's ?seconds= and godeltaprof do */
	o.time_nanos = daemon__wall(d, d->job_ns);
	if (heap) {
		o.values = EXPORT_TOTAL;
	} else {
		o.values = EXPORT_INTERVAL;
		o.default_type = "alloc_space";
		o.duration_nanos = d->job_ns - d->last_export_ns;
	}
	d->job_heap = heap;
	err = exporter__start(d->agg, &o, &d->job);
	if (err)
		export_failed(d, EXPORT_ERR_WRITE, d->cfg.export_dir, err);
	return err;
}

static int job_write(struct daemon *d)
{
	const char *kind = d->job_heap ? "heap" : "allocs";
	char path[PATH_MAX];
	int err;

	err = exporter__dir_path(d->cfg.export_dir, kind, daemon__wall(d, d->job_ns), path,
				 sizeof(path));
	err = err ?: pprof__write_file(exporter__profile(d->job), path);
	if (err)
		export_failed(d, classify(err), path, err);
	return err;
}

static void job_done(struct daemon *d)
{
	d->st.exports++;
	d->export_errno = 0;
	agg__mark_exited_exported(d->agg);
	d->st.export_ns_last = daemon__now() - d->job_ns;
	d->st.export_ns_total += d->st.export_ns_last;
	if (exporter__retain(d->cfg.export_dir, d->cfg.retention_count,
			     d->cfg.retention_bytes) < 0)
		d->st.export_errors[EXPORT_ERR_RETAIN]++;
}

/* Builds the export in progress for budget_ns; writes it when complete. */
static void export_step(struct daemon *d, __u64 budget_ns)
{
	bool heap = d->job_heap;
	int err;

	err = exporter__step(d->job, budget_ns);
	if (!err)
		return;
	if (err < 0)
		export_failed(d, EXPORT_ERR_WRITE, d->cfg.export_dir, err);
	else
		err = job_write(d);
	exporter__end(d->job, !err);
	d->job = NULL;
	if (!err && !heap) {
		d->last_export_ns = d->job_ns;	/* the next interval starts here */
		job_start(d, true);
	} else if (!err) {
		job_done(d);
	}
}

/* The interval is over: its export starts, with what the ring holds read first. */
static void export_interval(struct daemon *d, __u64 drain_ns)
{
	int err;

	drain_for(d, drain_ns);
	d->job_ns = daemon__now();
	d->next_export_ns = d->job_ns + d->cfg.export_interval_ns;
	err = make_dirs(d->cfg.export_dir);
	if (err)
		export_failed(d, EXPORT_ERR_MKDIR, d->cfg.export_dir, err);
	else
		job_start(d, false);
}

/* At exit: the export in progress, then a last one, whole. */
static void export_final(struct daemon *d)
{
	while (d->job)
		export_step(d, ~0ULL >> 1);
	export_interval(d, DRAIN_FINAL_NS);
	while (d->job)
		export_step(d, ~0ULL >> 1);
}

/* --- housekeeping ---------------------------------------------------------- */

static bool tgid_gone(pid_t tgid, void *ctx)
{
	return !procfs__alive(tgid);
}

/* How long exited processes stay: two export intervals, and at least exited_keep. */
static __u64 keep_ns(const struct daemon *d)
{
	__u64 keep = 2 * d->cfg.export_interval_ns, min = d->cfg.exited_keep_ns;

	return keep > min ? keep : min;
}

/*
 * Processes gone for a while leave the aggregator (once an export carried
 * them, when exports are on), and their sampled pointers the live map
 * (their frees will never come): this bounds the daemon's memory on a
 * busy host. "A while" is long enough for scrapers of the endpoint to see
 * them too. What they held goes back to the system (malloc_trim(): glibc
 * keeps freed heap otherwise), so that RSS follows what the daemon holds.
 */
static void housekeep(struct daemon *d)
{
	__u64 keep = keep_ns(d), now = daemon__now(), every = keep / 2;
	int n = 0;

	if (!d->cfg.export_interval_ns)
		agg__mark_exited_exported(d->agg);
	if (now > keep)
		n = agg__evict_exited(d->agg, now - keep);
	d->st.evicted += n;
	if (n || now >= d->next_purge_ns) {
		d->st.live_purged += tracer__purge_live(d->tr, tgid_gone, d);
		purge_gone_calls(d);
		d->next_purge_ns = now + HOUSEKEEP_NS;
	}
	cost__evict(d->cost, now > keep ? now - keep : 0, d->cfg.cost_log_interval_ns != 0);
	if (n)
		malloc_trim(0);
	every = every < HOUSEKEEP_MIN_NS ? HOUSEKEEP_MIN_NS : every > HOUSEKEEP_NS ? HOUSEKEEP_NS : every;
	d->next_housekeep_ns = now + every;
}

/* --- signals and reload ------------------------------------------------- */

static int setup_signals(struct daemon *d)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, 0 };

	return cli__event_fds(sigs, tracer__fd(d->tr), &d->sigfd, &d->epfd);
}

/* What a running daemon can change; the rest waits for a restart. */
static void apply_config(struct daemon *d, struct config *cfg)
{
	if (cfg->alloc_only != d->cfg.alloc_only || cfg->live_max != d->cfg.live_max ||
	    cfg->ringbuf_mb != d->cfg.ringbuf_mb || cfg->symbol_cache_mb != d->cfg.symbol_cache_mb)
		pr_warn("reload: alloc_only, live_max, ringbuf_mb and symbol_cache_mb take effect at restart\n");
	cfg->alloc_only = d->cfg.alloc_only;
	cfg->live_max = d->cfg.live_max;
	cfg->ringbuf_mb = d->cfg.ringbuf_mb;
	cfg->symbol_cache_mb = d->cfg.symbol_cache_mb;
	tracer__set_rate(d->tr, cfg->sample_rate);
	shed__configure(d->shed, cfg->sample_rate, cfg->shed_max_rate);
	tracer__set_filter(d->tr, cfg->nr_targets && !pid_links(cfg));
	d->in.max_procs = cfg->max_processes;
	agg__set_limits(d->agg, cfg->max_sites, cfg->live_max);
	if (cfg->export_interval_ns != d->cfg.export_interval_ns)
		d->next_export_ns = daemon__now() + cfg->export_interval_ns;
	if (cfg->cost_log_interval_ns != d->cfg.cost_log_interval_ns)
		d->next_cost_log_ns = daemon__now() + cfg->cost_log_interval_ns;
	config__free(&d->cfg);
	d->cfg = *cfg;
}

/* SIGHUP: the configuration again; collected data stays. */
static void reload(struct daemon *d)
{
	struct config cfg;

	notify__reloading();
	if (load_config(d, &cfg)) {
		pr_err("reload failed: keeping the running configuration\n");
		notify__send("READY=1\nSTATUS=reload failed, running configuration kept");
		return;
	}
	apply_config(d, &cfg);
	/* serve__setup() logs why it failed; the running endpoint stays then */
	if (serve__stale(d))
		(void)serve__setup(d);
	d->st.reloads++;
	scan_all(d);	/* targets may have changed */
	notify__send("READY=1\nSTATUS=reloaded");
}

static void read_signals(struct daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			reload(d);
		else
			d->stop = true;
	}
}

/* --- the loop --------------------------------------------------------------- */

static int ms_until(__u64 when, __u64 now, int cur)
{
	__u64 ms;

	if (!when)
		return cur;
	ms = when > now ? (when - now + 999999) / 1000000 : 0;
	return cur < 0 || ms < (__u64)cur ? (int)ms : cur;
}

static int next_timeout(struct daemon *d)
{
	__u64 now = daemon__now();
	int t = 100;	/* the ring buffer is polled, not woken per sample */
	int i;

	if (d->backlog || d->job || d->scan_dir || d->serving)
		return 0;	/* records left from the last turn, or an export: no sleep */

	t = ms_until(d->cfg.export_interval_ns ? d->next_export_ns : 0, now, t);
	t = ms_until(d->next_scan_ns, now, t);
	t = ms_until(d->next_housekeep_ns, now, t);
	t = ms_until(d->next_watchdog_ns, now, t);
	t = ms_until(d->next_shed_ns, now, t);
	t = ms_until(d->cfg.cost_log_interval_ns ? d->next_cost_log_ns : 0, now, t);
	for (i = 0; i < d->nr_pending; i++)
		t = ms_until(d->pending[i].due_ns, now, t);
	if (d->http) {
		i = http__timeout_ms(d->http);
		t = i >= 0 && i < t ? i : t;
	}
	return t;
}

/* Samples that found the ring full: the load is more than the reader keeps up with. */
static __u64 ring_drops(struct daemon *d)
{
	__u64 st[AS_STAT_MAX];

	tracer__stats(d->tr, st);
	/* kept in the overflow maps, or sent without its stack copy: still a full ring */
	return st[AS_STAT_DROP_RINGBUF] + st[AS_STAT_DROP_FREE_RINGBUF] + st[AS_STAT_OVERFLOW] +
	       st[AS_STAT_OVERFLOW_FREE] + st[AS_STAT_SMALL_RECORD];
}

static void shed_tick(struct daemon *d, __u64 now)
{
	d->next_shed_ns = now + shed__tick(d->shed, now, ring_drops(d)) * 1000000ULL;
}

static void run_timers(struct daemon *d)
{
	__u64 now = daemon__now();

	if (d->nr_pending)
		run_pending(d);
	if (d->scan_dir || now >= d->next_scan_ns)
		scan_step(d, SCAN_STEP_NS);
	if (d->job)
		export_step(d, EXPORT_STEP_NS);
	else if (d->cfg.export_interval_ns && now >= d->next_export_ns)
		export_interval(d, DRAIN_BUDGET_NS);
	if (now >= d->next_housekeep_ns)
		housekeep(d);
	if (d->cfg.cost_log_interval_ns && now >= d->next_cost_log_ns)
		log_cost(d);
	if (d->next_watchdog_ns && now >= d->next_watchdog_ns) {
		notify__send("WATCHDOG=1");
		d->next_watchdog_ns = now + notify__watchdog_usec() * 1000 / 2;
	}
	if (now >= d->next_shed_ns)
		shed_tick(d, now);
	d->serving = serve__run_deltas(d);
}

/* How long the loop keeps everything waiting: the figure its deadlines depend on. */
static void count_turn(struct daemon *d, __u64 ns)
{
	if (ns > d->st.turn_max_ns)
		d->st.turn_max_ns = ns;
	if (ns > SLOW_TURN_NS) {
		d->st.slow_turns++;
		pr_debug("a turn of the loop took %llu ms\n", (unsigned long long)ns / 1000000);
	}
}

static void run(struct daemon *d)
{
	struct epoll_event evs[8];
	__u64 t0;
	int n, i;

	while (!d->stop) {
		n = epoll_wait(d->epfd, evs, 8, next_timeout(d));
		t0 = daemon__now();
		for (i = 0; i < n; i++)
			if (evs[i].data.fd == d->sigfd)
				read_signals(d);
		daemon__drain(d);
		if (d->http)
			http__run(d->http);
		run_timers(d);
		count_turn(d, daemon__now() - t0);
	}
}

/* --- start and stop ---------------------------------------------------------- */

static int start_tracer(struct daemon *d)
{
	struct tracer_opts to = { 0 };
	const char *why;
	int err;

	to.sample_rate = d->cfg.sample_rate;
	to.alloc_only = d->cfg.alloc_only;
	to.live_max = d->cfg.live_max;
	to.ringbuf_bytes = d->cfg.ringbuf_mb << 20;
	to.stack_bytes = d->cfg.sample_rate > 1 ? AS_DEFAULT_STACK_COPY : 0;
	to.proc_events = true;
	to.proc_fn = on_proc_record;
	to.filter_tgids = d->cfg.nr_targets && !pid_links(&d->cfg);
	to.max_targets = d->cfg.max_processes;
	err = tracer__new(&to, on_record, d, &d->tr, &why);
	if (err)
		pr_err("%s\n", why ? why : strerror(-err));
	return err;
}

static int set_proc_rate(void *tr, pid_t tgid, __u64 rate)
{
	return tracer__set_proc_rate(tr, tgid, rate);
}

static int setup(struct daemon *d)
{
	int err;

	umask(umask(DAEMON_UMASK) | DAEMON_UMASK);
	d->start_ns = daemon__now();
	d->start_wall_ns = cli__wall_ns();
	d->last_export_ns = d->start_ns;
	d->next_export_ns = d->start_ns + d->cfg.export_interval_ns;
	d->next_housekeep_ns = d->start_ns + HOUSEKEEP_MIN_NS;
	d->next_purge_ns = d->start_ns + HOUSEKEEP_NS;
	d->last_cost_log_ns = d->start_ns;
	d->next_cost_log_ns = d->start_ns + d->cfg.cost_log_interval_ns;
	err = start_tracer(d);
	/* before the keeper's thread: it forks */
	err = err ?: calibrate(d);
	if (err)
		return err;
	d->agg = agg__new();
	d->sym = symbolizer__new((size_t)d->cfg.symbol_cache_mb << 20);
	d->shed = shed__new(set_proc_rate, d->tr, d->cfg.sample_rate, d->cfg.shed_max_rate);
	d->in.unw = d->cfg.sample_rate > 1 ? unwinder__new() : NULL;
	if (!d->agg || !d->sym || !d->shed || (d->cfg.sample_rate > 1 && !d->in.unw))
		return -ENOMEM;
	d->in.agg = d->agg;
	agg__set_limits(d->agg, d->cfg.max_sites, d->cfg.live_max);
	d->in.sym = d->sym;
	d->in.alloc_only = d->cfg.alloc_only;
	d->in.max_procs = d->cfg.max_processes;
	err = setup_signals(d);
	/* after: the keeper's thread inherits the blocked signals (signalfd) */
	if (!err) {
		err = keeper__new(d->tr, &d->in.keeper);
		if (err)
			pr_err("cannot start the image keeper: %s\n", strerror(-err));
	}
	if (!err)
		err = serve__setup(d);	/* logs why not */
	return err;
}

static void ready(struct daemon *d)
{
	__u64 wd = d->cfg.watchdog ? notify__watchdog_usec() : 0;

	if (wd)
		d->next_watchdog_ns = daemon__now() + wd * 1000 / 2;
	notify__sendf("READY=1\nSTATUS=probing %llu allocator objects, serving %s (port %u)",
		      (unsigned long long)d->nr_attached, d->cfg.listen, http__port(d->http));
	pr_info("ready: %llu allocator objects probed, listening on %s (port %u)\n",
		(unsigned long long)d->nr_attached, d->cfg.listen, http__port(d->http));
}

static void free_seen(struct hnode *n, void *ctx)
{
	free(hmap_entry(n, struct seen_node, node));
}

static void teardown(struct daemon *d)
{
	serve__cancel_deltas(d);
	exporter__end(d->job, false);
	serve__free(d);
	keeper__free(d->in.keeper);
	tracer__free(d->tr);
	shed__free(d->shed);
	cost__free(d->cost);
	unwinder__free(d->in.unw);
	ingest__fini(&d->in);
	agg__free(d->agg);
	symbolizer__free(d->sym);
	hmap__each(&d->seen, free_seen, NULL);
	hmap__release(&d->seen);
	free(d->pending);
	free_overrides(d);
	config__free(&d->cfg);
	if (d->scan_dir)
		closedir(d->scan_dir);
	if (d->sigfd >= 0)
		close(d->sigfd);
	if (d->epfd >= 0)
		close(d->epfd);
}

int cmd_daemon(int argc, char **argv)
{
	struct daemon d = { .sigfd = -1, .epfd = -1 };
	bool check;
	int err;

	check = parse_args(&d, argc, argv);
	/* Early exits free what parse_args() kept (make sanitize's LeakSanitizer). */
	if (load_config(&d, &d.cfg)) {
		free_overrides(&d);
		return 1;
	}
	if (check) {
		printf("%s: configuration OK\n", d.config_path ?: CONFIG_DEFAULT_PATH);
		free_overrides(&d);
		config__free(&d.cfg);
		return 0;
	}
	err = setup(&d);
	if (!err) {
		scan_all(&d);
		ready(&d);
		run(&d);
		notify__send("STOPPING=1");
		if (d.cfg.export_interval_ns)
			export_final(&d);	/* nothing collected is lost */
		if (d.cfg.cost_log_interval_ns)
			log_cost(&d);
	}
	teardown(&d);
	return err ? 1 : 0;
}
