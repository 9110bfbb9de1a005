// SPDX-License-Identifier: GPL-2.0-only
/* tracer.c - load the BPF object, attach probes, read the ring buffer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "allocscope.skel.h"
#include "attach.h"
#include "log.h"
#include "procfs.h"
#include "tracer.h"

/* The link_create attribute of uprobe_multi, which the 6.1 UAPI header lacks. */
struct xbpf_uprobe_multi_attr {		/* prefix of union bpf_attr, Linux >= 6.6 */
	__u32 prog_fd;
	__u32 target_fd;
	__u32 attach_type;
	__u32 flags;
	__aligned_u64 path;
	__aligned_u64 offsets;
	__aligned_u64 ref_ctr_offsets;
	__aligned_u64 cookies;
	__u32 cnt;
	__u32 um_flags;
	__u32 pid;
	__u32 path_fd;
};

struct tracer_link {
	pid_t pid;
	int fd;			/* a uprobe_multi link, or -1 */
	struct bpf_link *link;	/* a perf-event link, or NULL */
};

struct tracer {
	struct allocscope_bpf *skel;
	struct ring_buffer *rb;
	struct ring_buffer *seen_rb;	/* read by another thread */
	enum tracer_mode mode;
	bool multi_free;	/* free probes through uprobe_multi */
	bool alloc_only;
	struct tracer_link *links;
	int nr_links;
	int cap_links;
};

static int add_link(struct tracer *tr, pid_t pid, int fd, struct bpf_link *link);

int tracer__uprobe_multi_link(int prog_fd, __u32 attach_type, const char *path,
			      const __u64 *offsets, const __u64 *cookies, __u32 cnt, pid_t pid)
{
	struct xbpf_uprobe_multi_attr a;
	int fd;

	memset(&a, 0, sizeof(a));
	a.prog_fd = prog_fd;
	a.attach_type = attach_type;
	a.path = (__u64)(unsigned long)path;
	a.offsets = (__u64)(unsigned long)offsets;
	a.cookies = (__u64)(unsigned long)cookies;
	a.cnt = cnt;
	a.pid = pid;
	/* Without path_fd: older kernels reject a non-zero tail they don't know. */
	fd = syscall(__NR_bpf, BPF_LINK_CREATE, &a, offsetof(struct xbpf_uprobe_multi_attr, path_fd));
	return fd < 0 ? -errno : fd;
}

/* Loads "return 0" with an expected attach type: does the kernel know it? */
int tracer__empty_prog(__u32 attach_type)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = attach_type);
	int fd = bpf_prog_load(BPF_PROG_TYPE_KPROBE, NULL, "GPL", insns, 2, &opts);

	if (fd < 0)
		return fd;
	return fd;
}

int tracer__probe_kernel(bool *sessions, bool *multi)
{
	__u64 off = 0;
	int fd, link;

	*sessions = *multi = false;
	fd = tracer__empty_prog(AS_BPF_TRACE_UPROBE_MULTI);
	/* a kernel without the attach type says EINVAL; only privilege says EPERM */
	if (fd == -EPERM || fd == -EACCES)
		return -EPERM;
	if (fd >= 0) {
		/*
		 * 46ba0e49b642 ("bpf: fix multi-uprobe PID filtering logic")
		 * made a negative pid -EINVAL; before it the filter worked per
		 * thread, not per process. Same probe as libbpf's.
		 */
		link = tracer__uprobe_multi_link(fd, AS_BPF_TRACE_UPROBE_MULTI, "/", &off, NULL, 1, -1);
		*multi = link == -EINVAL;
		if (link >= 0)
			close(link);
		close(fd);
	}
	fd = tracer__empty_prog(AS_BPF_TRACE_UPROBE_SESSION);
	if (fd >= 0) {
		*sessions = *multi;
		close(fd);
	}
	return 0;
}

/* ALLOCSCOPE_SYSFS (default /sys) lets the tests present an unfit kernel. */
static bool sysfs_has(const char *path)
{
	const char *root = getenv("ALLOCSCOPE_SYSFS");
	char buf[512];

	snprintf(buf, sizeof(buf), "%s%s", root ? root : "/sys", path);
	return !access(buf, R_OK);
}

static int check_kernel(const char **why)
{
	if (!sysfs_has("/kernel/btf/vmlinux")) {
		*why = "this kernel has no BTF (/sys/kernel/btf/vmlinux): CONFIG_DEBUG_INFO_BTF is needed";
		return -EOPNOTSUPP;
	}
	if (!sysfs_has("/bus/event_source/devices/uprobe/type")) {
		*why = "this kernel has no uprobes: CONFIG_UPROBE_EVENTS is needed";
		return -EOPNOTSUPP;
	}
	if (syscall(__NR_bpf, -1, NULL, 0) < 0 && errno == ENOSYS) {
		*why = "this kernel has no BPF: CONFIG_BPF_SYSCALL is needed";
		return -ENOSYS;
	}
	return 0;
}

/*
 * The kernel names processes by their pids in the host's PID namespace:
 * BPF programs see those, uprobe links filter by them, and events carry
 * them. In another PID namespace (a container without the host's) they
 * name nothing in our /proc, or another process: refuse.
 */
static int check_pidns(const char **why)
{
	if (procfs__host_pidns())
		return 0;	/* the host's, or unknown: /proc will tell */
	*why = "in a PID namespace other than the host's, whose pids are not the kernel's: "
	       "no process could be named. Run allocscope in the host's (docker run --pid=host, "
	       "Kubernetes hostPID: true; see allocscope(8), CONTAINERS)";
	return -EOPNOTSUPP;
}

static enum tracer_mode pick_mode(enum tracer_mode want, bool sessions)
{
	if (want == TRACER_MODE_AUTO)
		return sessions ? TRACER_MODE_SESSION : TRACER_MODE_CLASSIC;
	return want;
}

static int configure(struct tracer *tr, const struct tracer_opts *o, bool multi)
{
	struct allocscope_bpf *s = tr->skel;
	bool session = tr->mode == TRACER_MODE_SESSION;
	int err = 0;

	s->rodata->self_tgid = getpid();
	s->rodata->track_frees = !o->alloc_only;
	s->rodata->stack_copy_bytes = o->stack_bytes;
	s->rodata->announce_seen = o->proc_events;
	s->data->sample_rate = o->sample_rate;
	err = err ?: bpf_map__set_max_entries(s->maps.live, o->alloc_only ? 1 : o->live_max);
	err = err ?: bpf_map__set_max_entries(s->maps.events, o->ringbuf_bytes);
	bpf_program__set_autoload(s->progs.alloc_session, session);
	bpf_program__set_autoload(s->progs.alloc_enter, !session);
	bpf_program__set_autoload(s->progs.alloc_exit, !session);
	bpf_program__set_autoload(s->progs.free_enter, !o->alloc_only);
	bpf_program__set_autoload(s->progs.proc_exec, o->proc_events);
	bpf_program__set_autoload(s->progs.proc_exit, o->proc_events);
	bpf_program__set_autoload(s->progs.proc_fork, o->proc_events);
	s->bss->filter_tgids = o->filter_tgids;
	if (o->max_targets) {
		err = err ?: bpf_map__set_max_entries(s->maps.targets, o->max_targets);
		err = err ?: bpf_map__set_max_entries(s->maps.calls, o->max_targets);
	}
	if (session)
		err = err ?: bpf_program__set_expected_attach_type(s->progs.alloc_session,
								   AS_BPF_TRACE_UPROBE_SESSION);
	tr->multi_free = multi;
	if (multi)
		err = err ?: bpf_program__set_expected_attach_type(s->progs.free_enter,
								   AS_BPF_TRACE_UPROBE_MULTI);
	if (multi)
		err = err ?: bpf_program__set_expected_attach_type(s->progs.unwind_enter,
								   AS_BPF_TRACE_UPROBE_MULTI);
	return err;
}

static int attach_proc_events(struct tracer *tr, const struct tracer_opts *o)
{
	struct allocscope_bpf *s = tr->skel;
	struct bpf_program *progs[] = { s->progs.proc_exec, s->progs.proc_exit, s->progs.proc_fork };
	struct bpf_link *link;
	size_t i;
	int err;

	for (i = 0; i < sizeof(progs) / sizeof(progs[0]) && o->proc_events; i++) {
		if (!bpf_program__autoload(progs[i]))
			continue;
		link = bpf_program__attach(progs[i]);
		if (!link)
			return -errno;
		err = add_link(tr, 0, -1, link);
		if (err) {
			bpf_link__destroy(link);
			return err;
		}
	}
	return 0;
}

/*
 * One reader for both rings, "procs" first: ring_buffer__consume() reads
 * the rings in the order they were added, so exec and exit events never
 * wait behind the samples of a turn.
 */
static int open_rings(struct tracer *tr, const struct tracer_opts *o, tracer_event_fn fn,
		      void *ctx)
{
	int procs = bpf_map__fd(tr->skel->maps.procs), events = bpf_map__fd(tr->skel->maps.events);

	if (o->proc_events && o->proc_fn) {
		tr->rb = ring_buffer__new(procs, (ring_buffer_sample_fn)o->proc_fn, ctx, NULL);
		if (!tr->rb)
			return -errno;
		return ring_buffer__add(tr->rb, events, (ring_buffer_sample_fn)fn, ctx);
	}
	tr->rb = ring_buffer__new(events, (ring_buffer_sample_fn)fn, ctx, NULL);
	return tr->rb ? 0 : -errno;
}

int tracer__new(const struct tracer_opts *opts, tracer_event_fn fn, void *ctx,
		struct tracer **out, const char **why)
{
	struct tracer *tr;
	bool sessions, multi;
	int err;

	*why = NULL;
	err = check_kernel(why) ?: check_pidns(why);
	if (err)
		return err;
	if (opts->stack_bytes && (opts->stack_bytes % AS_PAGE_SIZE || opts->stack_bytes < 8192 ||
				  opts->stack_bytes > AS_MAX_STACK_COPY))
		return -EINVAL;
	tr = calloc(1, sizeof(*tr));
	if (!tr)
		return -ENOMEM;
	libbpf_set_print(log_libbpf);
	err = tracer__probe_kernel(&sessions, &multi);
	if (err)
		goto err_out;
	tr->mode = pick_mode(opts->mode, sessions);
	if (tr->mode == TRACER_MODE_SESSION && !sessions) {
		*why = "this kernel has no uprobe sessions (Linux 6.13+)";
		err = -EOPNOTSUPP;
		goto err_out;
	}
	tr->alloc_only = opts->alloc_only;
	tr->skel = allocscope_bpf__open();
	if (!tr->skel) {
		err = -errno;
		goto err_out;
	}
	err = configure(tr, opts, multi);
	if (err)
		goto err_out;
	err = allocscope_bpf__load(tr->skel);
	if (err)
		goto err_out;
	err = attach_proc_events(tr, opts);
	if (err)
		goto err_out;
	err = open_rings(tr, opts, fn, ctx);
	if (err)
		goto err_out;
	*out = tr;
	return 0;
err_out:
	if (err == -EPERM && !*why)
		*why = "not permitted to load BPF programs: run as root (CAP_BPF, CAP_PERFMON)";
	tracer__free(tr);
	return err;
}

void tracer__free(struct tracer *tr)
{
	int i;

	if (!tr)
		return;
	for (i = 0; i < tr->nr_links; i++) {
		if (tr->links[i].fd >= 0)
			close(tr->links[i].fd);
		bpf_link__destroy(tr->links[i].link);
	}
	free(tr->links);
	ring_buffer__free(tr->rb);
	ring_buffer__free(tr->seen_rb);
	allocscope_bpf__destroy(tr->skel);
	free(tr);
}

static int add_link(struct tracer *tr, pid_t pid, int fd, struct bpf_link *link)
{
	struct tracer_link *n;

	if (tr->nr_links == tr->cap_links) {
		tr->cap_links = tr->cap_links ? tr->cap_links * 2 : 16;
		n = realloc(tr->links, tr->cap_links * sizeof(*n));
		if (!n)
			return -ENOMEM;
		tr->links = n;
	}
	tr->links[tr->nr_links++] = (struct tracer_link){ .pid = pid, .fd = fd, .link = link };
	return 0;
}

static int attach_multi(struct tracer *tr, struct bpf_program *prog, __u32 type,
			const char *path, const struct probe *p, int n, pid_t pid)
{
	__u64 offsets[AS_MAX_PROBES], cookies[AS_MAX_PROBES];
	int i, fd, err;

	if (!n)
		return 0;
	for (i = 0; i < n; i++) {
		offsets[i] = p[i].offset;
		cookies[i] = p[i].cookie;
	}
	fd = tracer__uprobe_multi_link(bpf_program__fd(prog), type, path, offsets, cookies, n, pid);
	if (fd < 0)
		return fd;
	err = add_link(tr, pid, fd, NULL);
	if (err)
		close(fd);
	return err;
}

static int attach_one(struct tracer *tr, struct bpf_program *prog, bool ret, const char *path,
		      const struct probe *p, pid_t pid)
{
	LIBBPF_OPTS(bpf_uprobe_opts, o, .bpf_cookie = p->cookie, .retprobe = ret);
	struct bpf_link *link;
	int err;

	link = bpf_program__attach_uprobe_opts(prog, pid ? pid : -1, path, p->offset, &o);
	if (!link)
		return -errno;
	err = add_link(tr, pid, -1, link);
	if (err)
		bpf_link__destroy(link);
	return err;
}

static int attach_classic(struct tracer *tr, const struct probe_target *t, pid_t pid)
{
	struct allocscope_bpf *s = tr->skel;
	int i, err = 0;

	for (i = 0; i < t->nr_allocs && !err; i++) {
		err = attach_one(tr, s->progs.alloc_enter, false, t->path, &t->allocs[i], pid);
		err = err ?: attach_one(tr, s->progs.alloc_exit, true, t->path, &t->allocs[i], pid);
	}
	for (i = 0; i < t->nr_frees && !err && !tr->alloc_only && !tr->multi_free; i++)
		err = attach_one(tr, s->progs.free_enter, false, t->path, &t->frees[i], pid);
	for (i = 0; i < t->nr_unwinds && !err && !tr->multi_free; i++)
		err = attach_one(tr, s->progs.unwind_enter, false, t->path, &t->unwinds[i], pid);
	return err;
}

int tracer__attach(struct tracer *tr, const struct probe_target *t, pid_t pid)
{
	struct allocscope_bpf *s = tr->skel;
	int err;

	if (tr->mode == TRACER_MODE_SESSION)
		err = attach_multi(tr, s->progs.alloc_session, AS_BPF_TRACE_UPROBE_SESSION, t->path,
				   t->allocs, t->nr_allocs, pid);
	else
		err = attach_classic(tr, t, pid);
	if (!err && !tr->alloc_only && tr->multi_free)
		err = attach_multi(tr, s->progs.free_enter, AS_BPF_TRACE_UPROBE_MULTI, t->path,
				   t->frees, t->nr_frees, pid);
	/* every hijacked return is put back before an in-process unwinder reads it */
	if (!err && tr->multi_free)
		err = attach_multi(tr, s->progs.unwind_enter, AS_BPF_TRACE_UPROBE_MULTI, t->path,
				   t->unwinds, t->nr_unwinds, pid);
	if (err)
		tracer__detach_pid(tr, pid);
	return err;
}

void tracer__detach_pid(struct tracer *tr, pid_t pid)
{
	int i, j = 0;

	for (i = 0; i < tr->nr_links; i++) {
		if (tr->links[i].pid != pid) {
			tr->links[j++] = tr->links[i];
			continue;
		}
		if (tr->links[i].fd >= 0)
			close(tr->links[i].fd);
		bpf_link__destroy(tr->links[i].link);
	}
	tr->nr_links = j;
}

int tracer__fd(const struct tracer *tr)
{
	return ring_buffer__epoll_fd(tr->rb);
}

int tracer__consume(struct tracer *tr)
{
	return ring_buffer__consume(tr->rb);
}

#define DRAIN_BATCH	256

/* pcs of an overflow entry: its kept stack, behind its caller if it has one. */
static __u32 ovf_pcs(int sfd, const struct as_ovf_key *k, __u64 *pcs)
{
	__u64 ips[AS_MAX_STACK] = { 0 };
	__u32 n = 0, i = k->ret ? 1 : 0;

	if (k->ret)
		pcs[n++] = k->ret;
	if (k->stack >= 0 && !bpf_map_lookup_elem(sfd, &k->stack, ips))
		for (; i < AS_MAX_STACK && ips[i] && n < AS_MAX_STACK; i++)
			pcs[n++] = ips[i];
	if (!n)
		pcs[n++] = AS_PC_RING_FULL;
	return n;
}

/* Up to DRAIN_BATCH keys of a hash map, from its start (NULL: first). */
static int map_keys(int fd, void *keys, size_t key_size)
{
	char *k = keys;
	int n = 0;

	while (n < DRAIN_BATCH &&
	       !bpf_map_get_next_key(fd, n ? k + (n - 1) * key_size : NULL, k + n * key_size))
		n++;
	return n;
}

static int drain_ovf(struct tracer *tr, const struct tracer_drain_ops *ops, void *ctx)
{
	int fd = bpf_map__fd(tr->skel->maps.ovf), sfd = bpf_map__fd(tr->skel->maps.stacks);
	struct as_ovf_key keys[DRAIN_BATCH];
	__u64 pcs[AS_MAX_STACK];
	struct as_ovf_val v;
	struct tracer_ovf o;
	int n, i, taken = 0;

	while ((n = map_keys(fd, keys, sizeof(keys[0]))) > 0) {
		int before = taken;

		for (i = 0; i < n; i++) {
			if (bpf_map_lookup_and_delete_elem(fd, &keys[i], &v))
				continue;
			o = (struct tracer_ovf){ .tgid = keys[i].tgid, .fn = keys[i].fn,
						 .size = keys[i].size, .rate = keys[i].rate,
						 .allocs = v.allocs, .frees = v.frees, .pcs = pcs };
			o.nr_pcs = ovf_pcs(sfd, &keys[i], pcs);
			ops->overflow(ctx, &o);
			taken++;
		}
		/*
		 * Stack ids stay: live blocks in the kernel name them until
		 * their frees come, which must reach the same sites.
		 */
		if (n < DRAIN_BATCH || taken == before)
			break;
	}
	return taken;
}

static int drain_lost_frees(struct tracer *tr, const struct tracer_drain_ops *ops, void *ctx)
{
	int fd = bpf_map__fd(tr->skel->maps.lost_frees), n, i, taken = 0;
	__u64 seqs[DRAIN_BATCH];
	__u32 tgid;

	while ((n = map_keys(fd, seqs, sizeof(seqs[0]))) > 0) {
		int before = taken;

		for (i = 0; i < n; i++) {
			if (bpf_map_lookup_and_delete_elem(fd, &seqs[i], &tgid))
				continue;
			ops->lost_free(ctx, seqs[i]);
			taken++;
		}
		if (n < DRAIN_BATCH || taken == before)
			break;
	}
	return taken;
}

int tracer__drain_overflow(struct tracer *tr, const struct tracer_drain_ops *ops, void *ctx)
{
	int a = drain_ovf(tr, ops, ctx), b = drain_lost_frees(tr, ops, ctx);

	return a + b;
}

int tracer__poll(struct tracer *tr, int timeout_ms)
{
	return ring_buffer__poll(tr->rb, timeout_ms);
}

int tracer__watch_seen(struct tracer *tr, tracer_event_fn fn, void *ctx)
{
	if (tr->seen_rb)
		return -EBUSY;
	tr->seen_rb = ring_buffer__new(bpf_map__fd(tr->skel->maps.seen),
				       (ring_buffer_sample_fn)fn, ctx, NULL);
	return tr->seen_rb ? 0 : -errno;
}

int tracer__poll_seen(struct tracer *tr, int timeout_ms)
{
	return ring_buffer__poll(tr->seen_rb, timeout_ms);
}

void tracer__set_filter(struct tracer *tr, bool on)
{
	tr->skel->bss->filter_tgids = on;
}

/* Puts tgid in a set of processes (a hash map of tgid -> 1), or takes it out. */
static int set_tgid(struct bpf_map *map, pid_t tgid, bool on)
{
	__u32 key = tgid;
	__u8 one = 1;
	int fd = bpf_map__fd(map), err;

	err = on ? bpf_map_update_elem(fd, &key, &one, BPF_ANY) : bpf_map_delete_elem(fd, &key);
	return err && !(err == -ENOENT && !on) ? err : 0;
}

int tracer__set_target(struct tracer *tr, pid_t tgid, bool on)
{
	return set_tgid(tr->skel->maps.targets, tgid, on);
}

int tracer__set_noret(struct tracer *tr, pid_t tgid, bool on)
{
	return set_tgid(tr->skel->maps.noret_tgids, tgid, on);
}


/* Threads look their rate up again when rate_gen moves (see proc_rate()). */
static void rates_changed(struct tracer *tr)
{
	__atomic_add_fetch(&tr->skel->data->rate_gen, 1, __ATOMIC_RELEASE);
}

int tracer__set_rate(struct tracer *tr, __u64 rate)
{
	if (!rate || rate > AS_MAX_RATE)
		return -EINVAL;
	tr->skel->data->sample_rate = rate;
	rates_changed(tr);
	return 0;
}

int tracer__set_proc_rate(struct tracer *tr, pid_t tgid, __u64 rate)
{
	int fd = bpf_map__fd(tr->skel->maps.proc_rates), err;
	__u32 key = tgid;

	if (rate > AS_MAX_RATE)
		return -EINVAL;
	err = rate ? bpf_map_update_elem(fd, &key, &rate, BPF_ANY) : bpf_map_delete_elem(fd, &key);
	if (err == -ENOENT && !rate)
		err = 0;
	if (!err)
		rates_changed(tr);
	return err;
}

void tracer__stats(struct tracer *tr, __u64 stats[AS_STAT_MAX])
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(tr->skel->maps.stats);
	__u64 *v = calloc(ncpu > 0 ? ncpu : 1, sizeof(*v));
	__u32 i;
	int c;

	memset(stats, 0, sizeof(__u64) * AS_STAT_MAX);
	if (!v || ncpu <= 0)
		goto out;
	for (i = 0; i < AS_STAT_MAX; i++) {
		if (bpf_map_lookup_elem(fd, &i, v))
			continue;
		for (c = 0; c < ncpu; c++)
			stats[i] += v[c];
	}
out:
	free(v);
}

int tracer__purge_live(struct tracer *tr, bool (*gone)(pid_t tgid, void *ctx), void *ctx)
{
	int fd = bpf_map__fd(tr->skel->maps.live), n = 0;
	struct as_live_key key, next, *prev = NULL;

	/* Deleting the current key would restart the walk: delete one step late. */
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		if (prev && gone(prev->tgid, ctx) && !bpf_map_delete_elem(fd, prev))
			n++;
		key = next;
		prev = &key;
	}
	if (prev && gone(prev->tgid, ctx) && !bpf_map_delete_elem(fd, prev))
		n++;
	return n;
}

int tracer__each_calls(struct tracer *tr, tracer_calls_fn fn, void *ctx)
{
	int fd = bpf_map__fd(tr->skel->maps.calls), n = 0;
	__u32 key, next, *prev = NULL;
	struct as_calls v;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		if (!bpf_map_lookup_elem(fd, &next, &v)) {
			v.comm[sizeof(v.comm) - 1] = '\0';
			fn(next, &v, ctx);
			n++;
		}
		key = next;
		prev = &key;
	}
	return n;
}

int tracer__take_calls(struct tracer *tr, pid_t tgid, struct as_calls *out)
{
	__u32 key = tgid;

	if (bpf_map_lookup_and_delete_elem(bpf_map__fd(tr->skel->maps.calls), &key, out))
		return -errno;
	out->comm[sizeof(out->comm) - 1] = '\0';
	return 0;
}

enum tracer_mode tracer__mode(const struct tracer *tr)
{
	return tr->mode;
}

const char *tracer__mode_name(enum tracer_mode mode)
{
	switch (mode) {
	case TRACER_MODE_SESSION:
		return "uprobe-session";
	case TRACER_MODE_CLASSIC:
		return "uprobe+uretprobe";
	default:
		return "auto";
	}
}

int tracer__nr_links(const struct tracer *tr)
{
	return tr->nr_links;
}
