// SPDX-License-Identifier: GPL-2.0-only
/*
 * record.c - "allocscope record": profile one process (and what it starts)
 * until it exits, a duration passes, or SIGINT/SIGTERM; then write the
 * profile and a summary. Nothing collected is lost on any of those: the
 * ring buffer is drained before the profile is written.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "aggregator.h"
#include "attach.h"
#include "cli.h"
#include "elffile.h"
#include "exporter.h"
#include "ingest.h"
#include "log.h"
#include "procfs.h"
#include "summary.h"
#include "symbolizer.h"
#include "target.h"
#include "tracer.h"
#include "unwinder.h"
#include "version.h"

#define POLL_MS		100
#define SYM_CACHE	(256u << 20)

struct record_opts {
	pid_t pid;
	__u64 duration_ns;	/* 0: until the end */
	const char *output;
	__u64 rate;
	bool alloc_only;
	bool inherit;
	char **argv;
	enum tracer_mode mode;
	__u64 live_max;
	__u64 ringbuf_mb;
	__u64 top;
	long stack_kb;		/* -1: default */
};

struct attached {
	pid_t pid;
	__u64 dev, ino;
};

struct rec {
	const struct record_opts *o;
	struct tracer *tr;
	struct agg *agg;
	struct symbolizer *sym;
	struct target *tg;
	int sigfd;
	int epfd;
	__u64 start_ns, end_ns;
	struct ingest in;
	struct attached *att;
	int nr_att;
	int signals;		/* SIGINT/SIGTERM received */
	int early_signo;	/* ... before the recording started: it never does */
	bool recording;
	int fatal;		/* -errno that ends the recording with no profile */
	char output[PATH_MAX];
};

static const char usage[] =
	"usage: allocscope record -p PID [-d SECONDS] [-o FILE] [--sample-rate BYTES] [--alloc-only]\n"
	"       allocscope record [-o FILE] [--sample-rate BYTES] [--alloc-only] [--no-inherit] -- CMD [ARGS...]\n"
	"\n"
	"  -p, --pid PID          profile a running process (all its threads)\n"
	"  -d, --duration SECS    stop after SECS (also 2.5, 5m, 1h); default: until the process exits or ^C\n"
	"  -o, --output FILE      gzipped pprof profile (default allocscope.<pid>.pb.gz)\n"
	"  -r, --sample-rate BYTES  mean bytes between samples (default 524288; 1 = every allocation)\n"
	"      --alloc-only       no free tracking: cheaper; alloc_objects and alloc_space only\n"
	"      --no-inherit       do not follow the processes CMD starts\n"
	"      --live-max N       sampled live pointers tracked at once (default 262144)\n"
	"      --ringbuf-mb N     kernel to user buffer, MiB (default 16)\n"
	"      --stack-kb N       stack copied per sample for DWARF unwinding (default 16;\n"
	"                         0 = frame pointers only, the default with --sample-rate 1)\n"
	"      --probes MODE      auto, session or classic (uprobe+uretprobe)\n"
	"      --top N            sites in the summary (default 10)\n"
	"  -v, --verbose          more diagnostics (twice: libbpf's too)\n";

static const struct option long_opts[] = {
	{ "pid", required_argument, NULL, 'p' },
	{ "duration", required_argument, NULL, 'd' },
	{ "output", required_argument, NULL, 'o' },
	{ "sample-rate", required_argument, NULL, 'r' },
	{ "alloc-only", no_argument, NULL, 'A' },
	{ "no-inherit", no_argument, NULL, 'I' },
	{ "live-max", required_argument, NULL, 'L' },
	{ "ringbuf-mb", required_argument, NULL, 'B' },
	{ "probes", required_argument, NULL, 'P' },
	{ "top", required_argument, NULL, 'T' },
	{ "stack-kb", required_argument, NULL, 'S' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 }
};

static int parse_mode(const char *s, enum tracer_mode *m)
{
	if (!strcmp(s, "auto"))
		*m = TRACER_MODE_AUTO;
	else if (!strcmp(s, "session"))
		*m = TRACER_MODE_SESSION;
	else if (!strcmp(s, "classic"))
		*m = TRACER_MODE_CLASSIC;
	else
		return -EINVAL;
	return 0;
}

/* 0 (frame pointers only), or 8..32 KiB in whole pages. */
static int parse_stack_kb(struct record_opts *o, const char *arg)
{
	__u64 kb;

	if (cli__parse_value("--stack-kb", VALUE_NUMBER, arg, 0, AS_MAX_STACK_COPY / 1024, &kb))
		return -EINVAL;
	if (kb && (kb < 8 || kb % (AS_PAGE_SIZE / 1024))) {
		fprintf(stderr, "allocscope: --stack-kb: '%s' is not 0 or a multiple of 4 from 8 to %d\n",
			arg, AS_MAX_STACK_COPY / 1024);
		return -EINVAL;
	}
	o->stack_kb = kb;
	return 0;
}

static int parse_one(struct record_opts *o, int c, const char *arg)
{
	switch (c) {
	case 'p': return cli__parse_pid("--pid", arg, &o->pid);
	case 'd': return cli__parse_value("--duration", VALUE_DURATION, arg, VALUE_NS / 1000,
					  365 * 86400 * VALUE_NS, &o->duration_ns);
	case 'o': o->output = arg; return 0;
	case 'r': return cli__parse_value("--sample-rate", VALUE_BYTES, arg, 1, AS_MAX_RATE,
					  &o->rate);
	case 'A': o->alloc_only = true; return 0;
	case 'I': o->inherit = false; return 0;
	case 'L': return cli__parse_value("--live-max", VALUE_NUMBER, arg, 1, 1 << 26,
					  &o->live_max);
	case 'B': return cli__parse_value("--ringbuf-mb", VALUE_NUMBER, arg, 1, 1024,
					  &o->ringbuf_mb);
	case 'T': return cli__parse_value("--top", VALUE_NUMBER, arg, 0, 1000, &o->top);
	case 'S': return parse_stack_kb(o, arg);
	case 'v': log_set_level(log_get_level() + 1); return 0;
	case 'P':
		if (parse_mode(arg, &o->mode))
			cli__bad_usage("--probes: '%s' is not auto, session or classic", arg);
		return 0;
	case 'h': fputs(usage, stdout); exit(0);
	}
	cli__bad_usage("record: unknown option (see allocscope record --help)");
}

static void parse_args(struct record_opts *o, int argc, char **argv)
{
	int c;

	*o = (struct record_opts){ .rate = AS_DEFAULT_RATE, .inherit = true, .live_max = 262144,
				   .ringbuf_mb = 16, .top = 10, .stack_kb = -1 };
	while ((c = getopt_long(argc, argv, "+p:d:o:r:vh", long_opts, NULL)) != -1)
		if (parse_one(o, c, optarg))
			exit(2);
	if (optind < argc)
		o->argv = argv + optind;
	if (!o->pid == !o->argv)
		cli__bad_usage("record: give either -p PID or -- CMD (see allocscope record --help)");
	/*
	 * Sampled allocations are rare enough to copy each one's stack for
	 * DWARF unwinding; in exact mode every allocation is a sample, and
	 * 16 KiB for each would overflow any buffer: frame pointers then.
	 */
	if (o->stack_kb < 0)
		o->stack_kb = o->rate > 1 ? AS_DEFAULT_STACK_COPY / 1024 : 0;
}

/* Fails early (before tracing) if the profile could not be written later. */
static int check_output(struct rec *r)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", r->output);
	if (access(dirname(dir), W_OK)) {
		pr_err("cannot write %s: %s\n", r->output, strerror(errno));
		return -errno;
	}
	return 0;
}

static int on_event(void *ctx, const void *data, size_t size)
{
	struct rec *r = ctx;

	/* also after the loop ended: the final drain must keep everything */
	ingest__record(&r->in, data, size);
	return 0;
}

/* Everything the kernel has for us: the ring, and what did not fit in it. */
static void consume(struct rec *r)
{
	tracer__consume(r->tr);
	ingest__drain_overflow(&r->in, r->tr);
}

static bool is_attached(struct rec *r, pid_t pid, const struct probe_target *t)
{
	int i;

	for (i = 0; i < r->nr_att; i++)
		if (r->att[i].pid == pid && r->att[i].dev == t->dev && r->att[i].ino == t->ino)
			return true;
	return false;
}

static int attach_targets(struct rec *r, pid_t pid, struct probe_target *t, int nr)
{
	struct attached *n;
	int i, err;

	for (i = 0; i < nr; i++) {
		if (is_attached(r, pid, &t[i]))
			continue;
		err = tracer__attach(r->tr, &t[i], pid);
		if (err) {
			pr_warn("cannot probe %s in process %d: %s\n", t[i].display, pid,
				strerror(-err));
			return err;
		}
		n = realloc(r->att, (r->nr_att + 1) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		r->att = n;
		r->att[r->nr_att++] = (struct attached){ pid, t[i].dev, t[i].ino };
		pr_info("probing %s in process %d (%d allocation, %d free, %d unwinder entry points)\n",
			t[i].display, pid, t[i].nr_allocs, t[i].nr_frees, t[i].nr_unwinds);
	}
	return 0;
}

static void forget_attached(struct rec *r, pid_t pid)
{
	int i, j = 0;

	for (i = 0; i < r->nr_att; i++)
		if (r->att[i].pid != pid)
			r->att[j++] = r->att[i];
	r->nr_att = j;
	tracer__detach_pid(r->tr, pid);
}

/* Plans and attaches probes for pid; exec: it has just exec'ed. */
static int probe_process(struct rec *r, pid_t pid, bool exec)
{
	struct probe_target *t = NULL;
	int nr = 0, err;

	err = exec ? attach__plan_exec(pid, &t, &nr) : attach__plan_pid(pid, &t, &nr);
	if (!err && attach__unwinds_inside(pid))
		err = tracer__set_noret(r->tr, pid, true);
	if (!err)
		err = attach_targets(r, pid, t, nr);
	free(t);
	return err;
}

static void no_allocator(pid_t pid)
{
	char comm[16] = "?";

	procfs__comm(pid, comm, sizeof(comm));
	pr_err("process %d (%s) has no allocator allocscope can trace: no malloc in its executable or libraries\n",
	       pid, comm);
}

static void on_exec(struct rec *r, pid_t pid)
{
	int err;

	/* Samples of the old image are all in the ring now: take them first. */
	consume(r);
	ingest__flush(&r->in, 0);
	agg__proc_exec(r->agg, pid, cli__now_ns());
	forget_attached(r, pid);
	err = probe_process(r, pid, true);
	if (err == -ENOENT && pid == target__pid(r->tg) && !r->start_ns) {
		no_allocator(pid);
		r->fatal = err;
	} else if (err == -ENOENT) {
		pr_info("process %d runs an image without a traceable allocator\n", pid);
	}
	if (!r->start_ns)
		r->start_ns = cli__now_ns();
}

static void on_exit_stop(struct rec *r, pid_t pid)
{
	struct agg_proc *p = agg__find_proc(r->agg, pid);

	consume(r);
	if (p && p->as)
		addr_space__refresh(p->as);
	else if (p && p->nr_samples)
		ingest__snapshot(&r->in, p, NULL);
	if (p)
		p->exited = true;
	forget_attached(r, pid);
}

static void on_target(void *ctx, const struct target_event *ev)
{
	struct rec *r = ctx;
	struct agg_proc *p;

	switch (ev->type) {
	case TARGET_EXEC:
		on_exec(r, ev->pid);
		break;
	case TARGET_FORK:
		if (probe_process(r, ev->pid, false) == -ENOENT)
			pr_info("process %d has no traceable allocator\n", ev->pid);
		/*
		 * Its mappings now, while it is stopped as a copy of its
		 * parent: a child that execs at once leaves no other chance.
		 */
		p = agg__proc(r->agg, ev->pid);
		if (p)
			ingest__snapshot(&r->in, p, NULL);
		break;
	case TARGET_EXIT:
		on_exit_stop(r, ev->pid);
		break;
	case TARGET_GONE:
		consume(r);
		p = agg__find_proc(r->agg, ev->pid);
		if (p)
			p->exited = true;
		forget_attached(r, ev->pid);
		break;
	}
}

/* From the start: a ^C while the BPF programs load (seconds on a busy host) is not lost. */
static int setup_signals(struct rec *r)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGCHLD, SIGHUP, 0 };

	return cli__event_fds(sigs, -1, &r->sigfd, &r->epfd);
}

/* A SIGINT or SIGTERM before anything is traced or started: -EINTR, nothing to record. */
static int stopped_early(struct rec *r)
{
	struct signalfd_siginfo si;

	while (read(r->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM) {
			r->early_signo = si.ssi_signo;
			return -EINTR;
		}
	}
	return 0;
}

/*
 * SIGINT/SIGTERM: with a command, forward a kill(2)-sent signal to it
 * (a ^C already reached its process group) and keep recording until it
 * exits; a second one stops at once. With -p, stop at once.
 */
static void on_stop_signal(struct rec *r, const struct signalfd_siginfo *si)
{
	r->signals++;
	if (!r->o->argv || r->signals > 1) {
		r->recording = false;
		return;
	}
	if (si->ssi_code == SI_USER || si->ssi_code == SI_QUEUE)
		target__signal(r->tg, si->ssi_signo);
}

static void read_signals(struct rec *r)
{
	struct signalfd_siginfo si;

	while (read(r->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM)
			on_stop_signal(r, &si);
	}
}

static void stop_when_due(struct rec *r)
{
	__u64 limit = r->o->duration_ns;

	if (r->fatal || target__done(r->tg) ||
	    (limit && r->start_ns && cli__now_ns() >= r->start_ns + limit))
		r->recording = false;
}

static void run_loop(struct rec *r)
{
	struct epoll_event evs[4];

	while (r->recording) {
		epoll_wait(r->epfd, evs, 4, POLL_MS);
		read_signals(r);
		target__handle(r->tg, on_target, r);
		consume(r);
		stop_when_due(r);
	}
	r->end_ns = cli__now_ns();
}

static int write_profile(struct rec *r)
{
	struct summary_opts so = { 0 };
	struct export_opts eo = { 0 };
	struct agg_totals t;
	struct export_losses losses = { 0 };
	struct export_notes notes;
	__u64 st[AS_STAT_MAX];
	int err;

	consume(r);
	ingest__flush(&r->in, 0);
	tracer__stats(r->tr, st);
	pr_info("kernel: %llu samples, %llu frees, %llu nested calls, %llu failed calls, %llu stack errors\n",
		(unsigned long long)st[AS_STAT_SAMPLES], (unsigned long long)st[AS_STAT_FREES],
		(unsigned long long)st[AS_STAT_NESTED], (unsigned long long)st[AS_STAT_FAILED],
		(unsigned long long)st[AS_STAT_STACK_ERR]);
	pr_info("kernel: %llu samples at the entry (return not probed), %llu cancelled by an exception (%llu here, %llu late), %llu unwinders inside probed returns\n",
		(unsigned long long)st[AS_STAT_NORET], (unsigned long long)st[AS_STAT_UNWOUND],
		(unsigned long long)r->in.cancelled, (unsigned long long)r->in.cancelled_late,
		(unsigned long long)st[AS_STAT_HIJACK_SEEN]);
	if (r->in.unwinds)
		pr_info("unwound %llu stacks in %.1f ms: %.2f us each\n",
			(unsigned long long)r->in.unwinds, r->in.unwind_ns / 1e6,
			r->in.unwind_ns / 1e3 / r->in.unwinds);
	if (r->in.unreadable)
		pr_info("%llu processes exited before their mappings were read: their stacks are unnamed\n",
			(unsigned long long)r->in.unreadable);
	eo.period = r->o->rate;
	eo.alloc_only = r->o->alloc_only;
	eo.inuse_exited = true;	/* what a process still held at exit: its leaks */
	agg__totals(r->agg, &t);
	eo.proc_labels = t.procs > 1;	/* keep processes apart */
	eo.time_nanos = cli__wall_ns() - (cli__now_ns() - r->start_ns);
	eo.duration_nanos = r->end_ns - r->start_ns;
	losses.st = st;
	losses.oom = r->in.errors;
	losses.cancelled = r->in.cancelled;
	losses.cut_pct = 100 * summary__cut_share(r->agg);
	exporter__notes(&eo, &notes, tracer__mode_name(tracer__mode(r->tr)), &losses);
	err = exporter__write(r->agg, &eo, r->output);
	if (err) {
		pr_err("cannot write %s: %s\n", r->output, strerror(-err));
		return err;
	}
	so.output = r->output;
	so.rate = r->o->rate;
	so.duration_ns = eo.duration_nanos;
	so.probes = tracer__mode_name(tracer__mode(r->tr));
	so.alloc_only = r->o->alloc_only;
	so.inuse_exited = true;
	so.top = r->o->top;
	so.dropped = exporter__samples_dropped(st) + r->in.errors;
	so.untracked = st[AS_STAT_DROP_LIVE_FULL];
	so.entry_only = st[AS_STAT_NORET] - r->in.cancelled;
	so.threw = r->in.cancelled;
	so.overflowed = st[AS_STAT_OVERFLOW];
	so.overflow_nostack = st[AS_STAT_OVERFLOW_NOSTACK];
	so.small_records = st[AS_STAT_SMALL_RECORD];
	so.file_errors = elf_file__nr_errors();
	summary__print(stderr, r->agg, &so);
	return 0;
}

static int start_pid(struct rec *r)
{
	int err;

	if (!procfs__alive(r->o->pid)) {
		pr_err("no such process: %d\n", r->o->pid);
		return -ESRCH;
	}
	err = target__watch(r->o->pid, &r->tg);
	err = err ?: probe_process(r, r->o->pid, false);
	if (err == -ENOENT)
		no_allocator(r->o->pid);
	else if (err == -EACCES || err == -EPERM)
		pr_err("not permitted to trace process %d: run as root\n", r->o->pid);
	else if (err)
		pr_err("cannot trace process %d: %s\n", r->o->pid, strerror(-err));
	if (!err)
		r->start_ns = cli__now_ns();
	return err;
}

static int start_cmd(struct rec *r)
{
	int err = target__spawn(r->o->argv, r->o->inherit, &r->tg);

	if (err == -ENOENT)
		pr_err("%s: command not found\n", r->o->argv[0]);
	else if (err)
		pr_err("cannot start %s: %s\n", r->o->argv[0], strerror(-err));
	return err;
}

/* After the recording, a command runs on untraced; its status is ours. */
static int wait_command(struct rec *r)
{
	struct epoll_event ev;

	tracer__free(r->tr);
	r->tr = NULL;
	target__quiet(r->tg);
	while (!target__done(r->tg) && r->signals < 3) {
		epoll_wait(r->epfd, &ev, 1, POLL_MS);
		read_signals(r);
		target__handle(r->tg, on_target, r);
	}
	return target__done(r->tg) ? target__exit_code(r->tg) : 128 + SIGINT;
}

static int setup(struct rec *r)
{
	struct tracer_opts to = { 0 };
	const char *why;
	int err;

	err = setup_signals(r);
	if (err)
		return err;
	if (r->o->output)
		snprintf(r->output, sizeof(r->output), "%s", r->o->output);
	err = r->o->output ? check_output(r) : 0;
	if (err)
		return err;
	to.sample_rate = r->o->rate;
	to.alloc_only = r->o->alloc_only;
	to.live_max = r->o->live_max;
	to.ringbuf_bytes = r->o->ringbuf_mb << 20;
	to.mode = r->o->mode;
	to.stack_bytes = r->o->stack_kb * 1024;
	err = tracer__new(&to, on_event, r, &r->tr, &why);
	if (err && why)
		pr_err("%s\n", why);
	else if (err && err != -EACCES)
		pr_err("cannot load the BPF programs: %s\n", strerror(-err));
	if (err)
		return err;
	r->agg = agg__new();
	r->sym = symbolizer__new(SYM_CACHE);
	if (!r->agg || !r->sym)
		return -ENOMEM;
	r->in.agg = r->agg;
	r->in.sym = r->sym;
	r->in.alloc_only = r->o->alloc_only;
	if (r->o->stack_kb) {
		r->in.unw = unwinder__new();
		if (!r->in.unw)
			return -ENOMEM;
	}
	err = cli__epoll_add(r->epfd, tracer__fd(r->tr));
	err = err ?: stopped_early(r);
	err = err ?: (r->o->pid ? start_pid(r) : start_cmd(r));
	if (!err && !r->o->output)
		snprintf(r->output, sizeof(r->output), "allocscope.%d.pb.gz", target__pid(r->tg));
	r->recording = !err;
	return err;
}

static void teardown(struct rec *r)
{
	tracer__free(r->tr);
	unwinder__free(r->in.unw);
	ingest__fini(&r->in);
	agg__free(r->agg);
	symbolizer__free(r->sym);
	target__free(r->tg);
	free(r->att);
	if (r->sigfd >= 0)
		close(r->sigfd);
	if (r->epfd >= 0)
		close(r->epfd);
}

int cmd_record(int argc, char **argv)
{
	struct record_opts o;
	struct rec r = { .o = &o, .sigfd = -1, .epfd = -1 };
	int err, code;

	parse_args(&o, argc, argv);
	err = setup(&r);
	if (err == -EINTR && r.early_signo) {
		pr_err("interrupted (%s) before the recording started: no profile\n",
		       strsignal(r.early_signo));
		teardown(&r);
		return 128 + r.early_signo;
	}
	if (!err) {
		run_loop(&r);
		err = r.fatal;
		if (err && o.argv)
			target__signal(r.tg, SIGKILL);
		else if (!err)
			err = write_profile(&r);
	}
	code = err ? 1 : 0;
	if (o.argv && r.tg) {
		/* the command's status is ours, unless we failed */
		int status = wait_command(&r);

		if (!err)
			code = status;
	}
	teardown(&r);
	return code;
}
