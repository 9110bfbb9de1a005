// SPDX-License-Identifier: GPL-2.0-only
/* ingest.c - ring buffer records into the aggregator. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "aggregator.h"
#include "cli.h"
#include "hmap.h"
#include "allocscope.h"
#include "ingest.h"
#include "keeper.h"
#include "log.h"
#include "procfs.h"
#include "symbolizer.h"
#include "tracer.h"
#include "unwinder.h"

#define REFRESH_NS	1000000000ULL
#define REFRESH_JIT_NS	(10 * REFRESH_NS)

/*
 * Whose mappings the sample's image has: its own, or, when the process
 * has exec'ed since the sample (the reader lags), its parent's if it was a
 * fork child that had not exec'ed yet. 0 if neither can be read now.
 */
static pid_t image_owner(pid_t pid, const struct as_alloc_event *e)
{
	if (!e || !e->exe_ino || procfs__exe_ino(pid) == e->exe_ino)
		return pid;
	if (e->ppid > 1 && procfs__exe_ino(e->ppid) == e->exe_ino)
		return e->ppid;
	return 0;
}

static int snapshot_live(struct ingest *in, struct agg_proc *p, const struct as_alloc_event *e)
{
	pid_t owner = image_owner(p->pid, e);
	char exe[PATH_MAX];
	int err;

	err = owner ? symbolizer__snapshot(in->sym, owner, &p->as) : -ESRCH;
	if (err)
		return err;
	procfs__comm(owner, p->comm, sizeof(p->comm));
	if (!procfs__exe(owner, exe, sizeof(exe)))
		p->exe = strdup(exe);
	return 0;
}

/* The keeper read the image at the first sample: the process may be gone since. */
static int snapshot_kept(struct ingest *in, struct agg_proc *p, struct proc_image *im)
{
	int err;

	err = symbolizer__snapshot_image(in->sym, im, &p->as);
	if (err)
		return err;
	snprintf(p->comm, sizeof(p->comm), "%s", im->comm);
	p->exe = im->exe;
	im->exe = NULL;
	in->kept_used++;
	return 0;
}

void ingest__snapshot(struct ingest *in, struct agg_proc *p, const struct as_alloc_event *e)
{
	struct proc_image *im = NULL;
	int err;

	if (p->as || p->exited || p->unreadable)
		return;
	if (in->keeper && e)
		im = keeper__take(in->keeper, p->pid, e->exe_ino);
	err = snapshot_live(in, p, e);
	if (err && im)
		err = snapshot_kept(in, p, im);
	proc_image__free(im);
	if (err) {
		/* once: a backlog of its samples must not each try again */
		p->unreadable = true;
		in->unreadable++;
		pr_debug("process %d: mappings unreadable (%s): its stacks stay unnamed\n", p->pid,
			 err == -ESRCH ? "gone, or exec'ed since its sample" : strerror(-err));
	}
}

/*
 * A frame outside every known mapping (a library loaded since: dlopen), or
 * in code with no file behind it and no name yet (JIT code written since:
 * its perf map is read again with the mappings). Re-read them now, while
 * the process lives, so that the stack is named the same in every later
 * profile; at most once a second, since a frame-pointer walk through code
 * without frame pointers also yields addresses that are in no mapping.
 */
/*
 * How long the mappings stay trusted when a frame is stale: an address
 * in no mapping is fixed by a re-read; unnamed code without a file may
 * belong to a JIT that writes no perf map, and big runtimes have many
 * mappings: that case waits longer.
 */
static __u64 stale_frame(struct addr_space *as, __u64 pc)
{
	struct sym_frame f;

	if (addr_space__lookup(as, pc, &f) == -ENOENT)
		return REFRESH_NS;
	return !f.func && f.map && !proc_map__is_file(f.map) ? REFRESH_JIT_NS : 0;
}

static void refresh_if_unknown(struct agg_proc *p, const __u64 *pcs, __u32 nr)
{
	__u64 now = cli__now_ns(), wait;
	__u32 i;

	if (p->exited || now - p->refresh_ns < REFRESH_NS)
		return;
	for (i = 0; i < nr; i++) {
		wait = stale_frame(p->as, pcs[i] - !!i);
		if (wait && now - p->refresh_ns >= wait) {
			addr_space__refresh(p->as);
			p->refresh_ns = now;
			return;
		}
	}
}

static struct agg_proc *sample_proc(struct ingest *in, __u32 tgid)
{
	struct agg_proc *p;

	if (in->max_procs && agg__nr_procs(in->agg) >= in->max_procs &&
	    !agg__has_proc(in->agg, tgid)) {
		in->dropped_procs++;
		return NULL;
	}
	p = agg__proc(in->agg, tgid);
	if (!p)
		in->errors++;
	return p;
}

/*
 * DWARF is right where there is CFI; frame pointers are right where the
 * code keeps them. Take the frame-pointer stack when it extends the DWARF
 * one (same frames, then more), splice it on where the stack copy ended,
 * and fall back to it when DWARF found no caller at all.
 */
static __u32 merge(__u64 *d, int nd, int reason, const __u64 *f, __u32 nf)
{
	__u32 j;

	if (nd <= 1 && nf > 1) {
		memcpy(d, f, nf * sizeof(*f));
		return nf;
	}
	if (nf > (__u32)nd && !memcmp(d, f, nd * sizeof(*f))) {
		memcpy(d, f, nf * sizeof(*f));
		return nf;
	}
	if (reason != UNWIND_STOP_STACK)
		return nd;
	for (j = 0; j < nf && f[j] != d[nd - 1]; j++)
		;
	for (j++; j < nf && nd < AS_MAX_STACK; j++)
		d[nd++] = f[j];
	return nd;
}

/* The stack of a sample that carries a stack copy, unwound into pcs. */
static __u32 unwind(struct ingest *in, struct agg_proc *p, const struct as_alloc_event *e,
		    size_t size, __u64 *pcs)
{
	const struct as_stack_copy *c = (const void *)(e + 1);
	struct unwind_regs regs;
	int n, reason = 0;

	if (size < sizeof(*e) + sizeof(*c) || sizeof(*e) + sizeof(*c) + c->skip + c->len > size)
		return 0;
	regs.ip = c->regs[AS_REG_IP];
	regs.sp = c->regs[AS_REG_SP];
	regs.bp = c->regs[AS_REG_BP];
	regs.bx = c->regs[AS_REG_BX];
	regs.r12 = c->regs[AS_REG_R12];
	regs.r13 = c->regs[AS_REG_R13];
	regs.r14 = c->regs[AS_REG_R14];
	regs.r15 = c->regs[AS_REG_R15];
	n = unwinder__unwind(in->unw, p->as, &regs, c->data + c->skip, c->len, pcs, AS_MAX_STACK,
			     &reason);
	if (n < 1)
		return 0;
	return merge(pcs, n, reason, e->ips, e->nr_ips);
}

/*
 * A free the ring had no room for is drained from its map after a pass
 * over the ring, and its sample may still be in the ring, behind: it waits
 * for it (at most EARLY_MAX of them).
 */
#define EARLY_MAX	65536

struct early_free {
	struct hnode node;
	__u64 seq;
};

static bool early_eq(const struct hnode *n, const void *key)
{
	return hmap_entry(n, struct early_free, node)->seq == *(const __u64 *)key;
}

static void take_lost_free(void *ctx, __u64 seq)
{
	struct ingest *in = ctx;
	struct early_free *e;

	if (agg__add_free(in->agg, seq))
		return;
	if (!in->early_frees && !(in->early_frees = calloc(1, sizeof(*in->early_frees))))
		goto lost;
	if (in->early_frees->nr >= EARLY_MAX || !(e = malloc(sizeof(*e))))
		goto lost;
	e->seq = seq;
	if (!hmap__add(in->early_frees, &e->node, hash_u64(seq)))
		return;
	free(e);
lost:
	in->errors++;
}

/* The sample of an early free came: it is freed at once. */
static void settle_early(struct ingest *in, __u64 seq)
{
	struct hnode *n;

	if (!in->early_frees || !in->early_frees->nr)
		return;
	n = hmap__find(in->early_frees, hash_u64(seq), early_eq, &seq);
	if (!n)
		return;
	hmap__del(in->early_frees, n);
	free(hmap_entry(n, struct early_free, node));
	agg__add_free(in->agg, seq);
}

/*
 * A provisional sample (taken at the entry of an operator new, which may
 * still throw) waits here until its thread sends another record, or a
 * flush: an AS_EV_CANCEL right behind it in the ring means the call threw
 * and nothing was allocated. One slot per thread, by tid.
 */
#define HELD_SLOTS	64

struct ingest_held {
	struct held {
		__u32 tid;		/* 0: empty */
		__u32 tgid;
		__u16 fn;
		__u32 nr;
		__u64 alloc_ip, size, rate, seq, ts;
		__u64 pcs[AS_MAX_STACK];
	} slot[HELD_SLOTS];
};

static void commit(struct ingest *in, struct held *h)
{
	struct agg_proc *p = agg__find_proc(in->agg, h->tgid);

	if (!p || agg__add_alloc(in->agg, p, h->pcs, h->nr, h->fn, h->alloc_ip, h->size,
				 h->rate, h->seq, false))
		in->errors++;
	h->tid = 0;
}

static struct held *held_slot(struct ingest *in, __u32 tid)
{
	return in->held ? &in->held->slot[tid % HELD_SLOTS] : NULL;
}

/* Counts the sample tid still holds: a later record of the thread settles it. */
static void settle_thread(struct ingest *in, __u32 tid)
{
	struct held *h = held_slot(in, tid);

	if (h && h->tid == tid)
		commit(in, h);
}

static int hold(struct ingest *in, const struct as_alloc_event *e, const __u64 *pcs, __u32 nr)
{
	struct held *h;

	if (!in->held && !(in->held = calloc(1, sizeof(*in->held))))
		return -ENOMEM;
	h = held_slot(in, e->tid);
	if (h->tid)
		commit(in, h);
	*h = (struct held){ .tid = e->tid, .tgid = e->tgid, .fn = e->fn & AS_EVF_MASK,
			    .nr = nr, .alloc_ip = e->alloc_ip, .size = e->size, .rate = e->rate,
			    .seq = e->seq, .ts = e->ts };
	memcpy(h->pcs, pcs, nr * sizeof(*pcs));
	return 0;
}

static void cancel(struct ingest *in, const struct as_cancel_event *c)
{
	struct held *h = held_slot(in, c->tid);

	if (h && h->tid == c->tid && h->seq == c->seq) {
		h->tid = 0;
		in->cancelled++;
	} else {
		in->cancelled_late++;
	}
}

/* Counts the held samples of tgid (0: all) taken min_age_ns ago or more. */
static void flush(struct ingest *in, __u32 tgid, __u64 min_age_ns)
{
	__u64 now = cli__now_ns();
	struct held *h;
	int i;

	for (i = 0; in->held && i < HELD_SLOTS; i++) {
		h = &in->held->slot[i];
		if (h->tid && (!tgid || h->tgid == tgid) && h->ts + min_age_ns <= now)
			commit(in, h);
	}
}

void ingest__flush(struct ingest *in, __u64 min_age_ns)
{
	flush(in, 0, min_age_ns);
}

static void free_early(struct hnode *n, void *ctx)
{
	free(hmap_entry(n, struct early_free, node));
}

void ingest__fini(struct ingest *in)
{
	free(in->held);
	in->held = NULL;
	if (in->early_frees) {
		hmap__each(in->early_frees, free_early, NULL);
		hmap__release(in->early_frees);
		free(in->early_frees);
		in->early_frees = NULL;
	}
}

static void ingest_alloc(struct ingest *in, const struct as_alloc_event *e, size_t size)
{
	bool tracked = !(e->fn & AS_EVF_UNTRACKED) && !in->alloc_only;
	struct agg_proc *p = sample_proc(in, e->tgid);
	const __u64 *stack = e->ips;
	__u32 nr = e->nr_ips, n;
	__u64 pcs[AS_MAX_STACK];
	int err;

	if (!p)
		return;
	if (!p->as)
		ingest__snapshot(in, p, e);
	if ((e->fn & AS_EVF_STACK) && in->unw && p->as) {
		__u64 t0 = cli__now_ns();

		n = unwind(in, p, e, size, pcs);
		in->unwind_ns += cli__now_ns() - t0;
		in->unwinds++;
		if (n) {
			stack = pcs;
			nr = n;
		}
	}
	if (p->as)
		refresh_if_unknown(p, stack, nr);
	settle_thread(in, e->tid);
	if (e->fn & AS_EVF_PROVISIONAL) {
		if (hold(in, e, stack, nr))
			in->errors++;
		return;
	}
	err = agg__add_alloc(in->agg, p, stack, nr, e->fn & AS_EVF_MASK, e->alloc_ip, e->size,
			     e->rate, e->seq, tracked);
	if (err && err != -ENOSPC)	/* -ENOSPC: max_sites, counted there */
		in->errors++;
	else if (tracked)
		settle_early(in, e->seq);
}

static void take_overflow(void *ctx, const struct tracer_ovf *o)
{
	struct ingest *in = ctx;
	struct agg_proc *p = sample_proc(in, o->tgid);
	int err;

	if (!p)
		return;
	if (!p->as)
		ingest__snapshot(in, p, NULL);
	in->overflowed += o->allocs;
	err = agg__add_bulk(in->agg, p, o->pcs, o->nr_pcs, o->fn, o->size, o->rate, o->allocs,
			    o->frees);
	if (err && err != -ENOSPC)	/* -ENOSPC: max_sites, counted there */
		in->errors++;
}

int ingest__drain_overflow(struct ingest *in, struct tracer *tr)
{
	static const struct tracer_drain_ops ops = {
		.overflow = take_overflow,
		.lost_free = take_lost_free,
	};

	return tracer__drain_overflow(tr, &ops, in);
}

int ingest__record(struct ingest *in, const void *data, size_t size)
{
	const struct as_alloc_event *e = data;

	if (size < sizeof(__u32) * 2)
		return 0;
	switch (e->type) {
	case AS_EV_ALLOC:
		if (size < AS_ALLOC_EVENT_SIZE(0) || e->nr_ips > AS_MAX_STACK ||
		    size < AS_ALLOC_EVENT_SIZE(e->nr_ips))
			return 0;
		ingest_alloc(in, e, size);
		break;
	case AS_EV_FREE:
		if (size < sizeof(struct as_free_event))
			return 0;
		agg__add_free(in->agg, ((const struct as_free_event *)data)->seq);
		break;
	case AS_EV_CANCEL:
		if (size < sizeof(struct as_cancel_event))
			return 0;
		cancel(in, data);
		break;
	case AS_EV_EXEC:
	case AS_EV_EXIT:
		if (size < sizeof(struct as_proc_event))
			return 0;
		/* its threads' cancels are in the ring before this */
		flush(in, e->tgid, 0);
		break;
	default:
		return 0;
	}
	return e->type;
}
