// SPDX-License-Identifier: GPL-2.0-only
/* aggregator.c - per-(process, stack, size) sums of unbiased samples. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aggregator.h"
#include "hmap.h"
#include "symbolizer.h"

struct site_node;

struct proc_node {
	struct hnode node;		/* in agg.procs, by pid, while current */
	struct proc_node *all_next;
	struct site_node *sites;	/* this process's sites */
	bool current;			/* in agg.procs */
	bool evicting;
	struct agg_proc p;
};

struct stack_node {
	struct hnode node;
	__u32 refs;			/* sites using it */
	__u32 nr;
	__u64 pcs[];
};

struct site_node {
	struct hnode node;
	struct site_node *proc_next;
	struct stack_node *stack;
	struct agg_site s;
};

struct seq_node {
	struct hnode node;
	__u64 seq;
	struct site_node *site;
	double w;
};

struct agg {
	struct hmap procs;
	struct proc_node *all;
	struct hmap stacks;
	struct hmap sites;
	struct hmap seqs;
	__u64 samples, frees;
	__u64 nr_procs;
	int nr_snaps;			/* snapshots and exports holding sites */
	__u64 max_sites, max_live;	/* 0: no limit */
	struct agg_limit_stats lim;
};

double agg__weight(__u64 size, __u64 rate)
{
	double s = size ? (double)size : 1.0;

	if (rate <= 1)
		return 1.0;
	/* 1 / (1 - exp(-s/R)); expm1 keeps precision when s << R */
	return 1.0 / -expm1(-s / (double)rate);
}

struct agg *agg__new(void)
{
	return calloc(1, sizeof(struct agg));
}

void agg__set_limits(struct agg *a, __u64 max_sites, __u64 max_live)
{
	a->max_sites = max_sites;
	a->max_live = max_live;
}

void agg__limit_stats(const struct agg *a, struct agg_limit_stats *st)
{
	*st = a->lim;
}

static void free_seq(struct hnode *n, void *ctx)
{
	free(hmap_entry(n, struct seq_node, node));
}

static void free_site(struct hnode *n, void *ctx)
{
	free(hmap_entry(n, struct site_node, node));
}

static void free_stack(struct hnode *n, void *ctx)
{
	free(hmap_entry(n, struct stack_node, node));
}

void agg__free(struct agg *a)
{
	struct proc_node *p, *next;

	if (!a)
		return;
	hmap__each(&a->seqs, free_seq, NULL);
	hmap__each(&a->sites, free_site, NULL);
	hmap__each(&a->stacks, free_stack, NULL);
	for (p = a->all; p; p = next) {
		next = p->all_next;
		addr_space__free(p->p.as);
		free(p->p.exe);
		free(p);
	}
	hmap__release(&a->seqs);
	hmap__release(&a->sites);
	hmap__release(&a->stacks);
	hmap__release(&a->procs);
	free(a);
}

static bool proc_eq(const struct hnode *n, const void *key)
{
	return hmap_entry(n, struct proc_node, node)->p.pid == *(const pid_t *)key;
}

static struct proc_node *new_proc(struct agg *a, pid_t pid, __u32 gen)
{
	struct proc_node *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->p.pid = pid;
	p->p.gen = gen;
	if (hmap__add(&a->procs, &p->node, hash_u64(pid))) {
		free(p);
		return NULL;
	}
	p->current = true;
	p->all_next = a->all;
	a->all = p;
	a->nr_procs++;
	return p;
}

struct agg_proc *agg__find_proc(struct agg *a, pid_t pid)
{
	struct hnode *n = hmap__find(&a->procs, hash_u64(pid), proc_eq, &pid);

	return n ? &hmap_entry(n, struct proc_node, node)->p : NULL;
}

struct agg_proc *agg__proc(struct agg *a, pid_t pid)
{
	struct hnode *n = hmap__find(&a->procs, hash_u64(pid), proc_eq, &pid);
	struct proc_node *p = n ? hmap_entry(n, struct proc_node, node) : NULL;
	__u32 gen = 0;

	if (p && !p->p.exited)
		return &p->p;
	if (p) {
		/* the old one stays, exported with its data, until evicted */
		hmap__del(&a->procs, n);
		p->current = false;
		gen = p->p.gen + 1;
	}
	p = new_proc(a, pid, gen);
	return p ? &p->p : NULL;
}

bool agg__has_proc(struct agg *a, pid_t pid)
{
	return agg__find_proc(a, pid) != NULL;
}

void agg__proc_exec(struct agg *a, pid_t pid, __u64 now_ns)
{
	struct hnode *n = hmap__find(&a->procs, hash_u64(pid), proc_eq, &pid);
	struct proc_node *old;

	if (!n)
		return;
	old = hmap_entry(n, struct proc_node, node);
	old->p.replaced = true;
	old->p.exit_ns = now_ns;
	hmap__del(&a->procs, n);
	old->current = false;
	new_proc(a, pid, old->p.gen + 1);
}

struct stack_key {
	const __u64 *pcs;
	__u32 nr;
};

static bool stack_eq(const struct hnode *n, const void *key)
{
	const struct stack_node *s = hmap_entry(n, struct stack_node, node);
	const struct stack_key *k = key;

	return s->nr == k->nr && !memcmp(s->pcs, k->pcs, k->nr * sizeof(*k->pcs));
}

/* The stack's node, made if new unless only an existing one is wanted. */
static struct stack_node *intern_stack(struct agg *a, const __u64 *pcs, __u32 nr, bool make)
{
	struct stack_key k = { pcs, nr };
	struct stack_node *s;
	__u64 h = nr;
	struct hnode *n;
	__u32 i;

	for (i = 0; i < nr; i++)
		h = hash_mix(h, pcs[i]);
	n = hmap__find(&a->stacks, h, stack_eq, &k);
	if (n || !make)
		return n ? hmap_entry(n, struct stack_node, node) : NULL;
	s = malloc(sizeof(*s) + nr * sizeof(*pcs));
	if (!s)
		return NULL;
	s->refs = 0;
	s->nr = nr;
	memcpy(s->pcs, pcs, nr * sizeof(*pcs));
	if (hmap__add(&a->stacks, &s->node, h)) {
		free(s);
		return NULL;
	}
	return s;
}

struct site_key {
	const struct agg_proc *proc;
	const __u64 *pcs;
	__u64 size;
};

static bool site_eq(const struct hnode *n, const void *key)
{
	const struct agg_site *s = &hmap_entry(n, struct site_node, node)->s;
	const struct site_key *k = key;

	return s->proc == k->proc && s->pcs == k->pcs && s->size == k->size;
}

static struct proc_node *proc_node(struct agg_proc *p)
{
	return (struct proc_node *)((char *)p - offsetof(struct proc_node, p));
}

static struct site_node *find_site(struct agg *a, struct agg_proc *p, struct stack_node *st,
				   __u64 size, __u64 *hash)
{
	struct site_key k = { p, st->pcs, size };
	__u64 h = hash_mix(hash_mix(hash_u64((__u64)(unsigned long)p), (__u64)(unsigned long)st),
			   size);
	struct hnode *n = hmap__find(&a->sites, h, site_eq, &k);

	*hash = h;
	return n ? hmap_entry(n, struct site_node, node) : NULL;
}

static struct site_node *new_site(struct agg *a, struct agg_proc *p, struct stack_node *st,
				  __u64 size, __u64 h)
{
	struct site_node *s;

	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->s.proc = p;
	s->s.pcs = st->pcs;
	s->s.nr_pcs = st->nr;
	s->s.size = size;
	if (hmap__add(&a->sites, &s->node, h)) {
		free(s);
		return NULL;
	}
	s->stack = st;
	st->refs++;
	s->proc_next = proc_node(p)->sites;
	proc_node(p)->sites = s;
	return s;
}

static bool seq_eq(const struct hnode *n, const void *key)
{
	return hmap_entry(n, struct seq_node, node)->seq == *(const __u64 *)key;
}

/*
 * The sample's site, made if new and there is room: a full table keeps
 * the sites it has (and makes no stack node that no site would free).
 */
static int get_site(struct agg *a, struct agg_proc *p, const __u64 *pcs, __u32 nr, __u64 size,
		    struct site_node **out)
{
	bool full = a->max_sites && a->sites.nr >= a->max_sites;
	struct stack_node *st = intern_stack(a, pcs, nr, !full);
	__u64 h;

	*out = st ? find_site(a, p, st, size, &h) : NULL;
	if (*out)
		return 0;
	if (full)
		return -ENOSPC;
	*out = st ? new_site(a, p, st, size, h) : NULL;
	if (!*out && st && !st->refs) {
		hmap__del(&a->stacks, &st->node);
		free(st);
	}
	return *out ? 0 : -ENOMEM;
}

int agg__add_alloc(struct agg *a, struct agg_proc *p, const __u64 *pcs, __u32 nr_pcs,
		   __u16 fn, __u64 alloc_ip, __u64 size, __u64 rate, __u64 seq, bool tracked)
{
	double w = agg__weight(size, rate);
	struct site_node *s;
	struct seq_node *q;
	int err;

	err = get_site(a, p, pcs, nr_pcs, size, &s);
	if (err == -ENOSPC) {
		a->lim.site_drops++;
		a->lim.site_drop_bytes += w * (double)size;
	}
	if (err)
		return err;
	if (!s->s.n_alloc) {
		s->s.fn = fn;
		s->s.alloc_ip = alloc_ip;
	}
	s->s.n_alloc++;
	s->s.w_alloc += w;
	s->s.v_alloc += w * (w - 1);
	p->nr_samples++;
	a->samples++;
	if (tracked && a->max_live && a->seqs.nr >= a->max_live) {
		/* as the kernel's live map does when full: alloc_* only */
		a->lim.live_full++;
		tracked = false;
	}
	if (!tracked) {
		s->s.w_untracked += w;
		s->s.v_untracked += w * (w - 1);
		return 0;
	}
	q = malloc(sizeof(*q));
	if (!q || hmap__add(&a->seqs, &q->node, hash_u64(seq))) {
		free(q);
		s->s.w_untracked += w;
		s->s.v_untracked += w * (w - 1);
		return -ENOMEM;
	}
	q->seq = seq;
	q->site = s;
	q->w = w;
	return 0;
}

int agg__add_bulk(struct agg *a, struct agg_proc *p, const __u64 *pcs, __u32 nr_pcs, __u16 fn,
		  __u64 size, __u64 rate, __u64 n_alloc, __u64 n_free)
{
	double w = agg__weight(size, rate);
	struct site_node *s;
	int err;

	err = get_site(a, p, pcs, nr_pcs, size, &s);
	if (err == -ENOSPC) {
		a->lim.site_drops += n_alloc;
		a->lim.site_drop_bytes += n_alloc * w * (double)size;
	}
	if (err)
		return err;
	if (!s->s.n_alloc && !s->s.n_free)
		s->s.fn = fn;
	s->s.n_alloc += n_alloc;
	s->s.w_alloc += n_alloc * w;
	s->s.v_alloc += n_alloc * w * (w - 1);
	s->s.n_free += n_free;
	s->s.w_free += n_free * w;
	s->s.v_free += n_free * w * (w - 1);
	p->nr_samples += n_alloc;
	a->samples += n_alloc;
	a->frees += n_free;
	return 0;
}

bool agg__add_free(struct agg *a, __u64 seq)
{
	struct hnode *n = hmap__find(&a->seqs, hash_u64(seq), seq_eq, &seq);
	struct seq_node *q;

	if (!n)
		return false;
	q = hmap_entry(n, struct seq_node, node);
	q->site->s.n_free++;
	q->site->s.w_free += q->w;
	q->site->s.v_free += q->w * (q->w - 1);
	a->frees++;
	hmap__del(&a->seqs, n);
	free(q);
	return true;
}

struct site_iter {
	void (*fn)(const struct agg_site *, void *);
	void *ctx;
};

static void visit_site(struct hnode *n, void *ctx)
{
	struct site_iter *it = ctx;

	it->fn(&hmap_entry(n, struct site_node, node)->s, it->ctx);
}

void agg__for_each_site(struct agg *a, void (*fn)(const struct agg_site *, void *), void *ctx)
{
	struct site_iter it = { fn, ctx };

	hmap__each(&a->sites, visit_site, &it);
}

void agg__for_each_proc(struct agg *a, void (*fn)(struct agg_proc *, void *), void *ctx)
{
	struct proc_node *p;

	for (p = a->all; p; p = p->all_next)
		fn(&p->p, ctx);
}

double agg_site__live(const struct agg_site *s)
{
	double live = s->w_alloc - s->w_free - s->w_untracked;

	return live > 0 ? live : 0;
}

double agg_site__live_var(const struct agg_site *s)
{
	double v = s->v_alloc - s->v_free - s->v_untracked;

	return v > 0 ? v : 0;
}

static void add_totals(const struct agg_site *s, void *ctx)
{
	struct agg_totals *t = ctx;
	double live = agg_site__live(s), v = agg_site__live_var(s), sz = (double)s->size;

	t->sites++;
	t->alloc_objects += s->w_alloc;
	t->alloc_bytes += s->w_alloc * s->size;
	t->inuse_objects += live;
	t->inuse_bytes += live * s->size;
	t->var_alloc_objects += s->v_alloc;
	t->var_alloc_bytes += s->v_alloc * sz * sz;
	t->var_inuse_objects += v;
	t->var_inuse_bytes += v * sz * sz;
}

static void count_proc(struct agg_proc *p, void *ctx)
{
	if (p->nr_samples)
		((struct agg_totals *)ctx)->procs++;
}

void agg__totals(struct agg *a, struct agg_totals *t)
{
	memset(t, 0, sizeof(*t));
	t->samples = a->samples;
	t->frees = a->frees;
	agg__for_each_site(a, add_totals, t);
	agg__for_each_proc(a, count_proc, t);
}

static void mark_site(const struct agg_site *s, void *ctx)
{
	((struct agg_site *)s)->w_alloc_base = s->w_alloc;
}

void agg__mark_exited_exported(struct agg *a)
{
	struct proc_node *p;

	for (p = a->all; p; p = p->all_next)
		if (p->p.exited || p->p.replaced)
			p->p.exported = true;
}

void agg_site__set_base(const struct agg_site *s, double w_alloc)
{
	((struct agg_site *)s)->w_alloc_base = w_alloc;
}

void agg__hold(struct agg *a)
{
	a->nr_snaps++;
}

void agg__unhold(struct agg *a)
{
	a->nr_snaps--;
}

void agg__mark_exported(struct agg *a)
{
	agg__for_each_site(a, mark_site, NULL);
	agg__mark_exited_exported(a);
}

struct snap_node {
	struct hnode node;
	const struct agg_site *site;
	double w_alloc, live;
	bool gone;
};

struct agg_snap {
	struct hmap sites;
};

static bool snap_eq(const struct hnode *n, const void *key)
{
	return hmap_entry(n, struct snap_node, node)->site == key;
}

static void snap_site(const struct agg_site *s, void *ctx)
{
	struct agg_snap *snap = ctx;
	struct snap_node *n = malloc(sizeof(*n));

	if (!n)
		return;	/* the site then counts from zero: an over-estimate, not a crash */
	n->site = s;
	n->w_alloc = s->w_alloc;
	n->live = agg_site__live(s);
	n->gone = s->proc->exited || s->proc->replaced;
	if (hmap__add(&snap->sites, &n->node, hash_u64((__u64)(unsigned long)s)))
		free(n);
}

struct agg_snap *agg__snapshot(struct agg *a)
{
	struct agg_snap *snap = calloc(1, sizeof(*snap));

	if (!snap)
		return NULL;
	agg__for_each_site(a, snap_site, snap);
	a->nr_snaps++;
	return snap;
}

static void free_snap_node(struct hnode *n, void *ctx)
{
	free(hmap_entry(n, struct snap_node, node));
}

void agg_snap__free(struct agg *a, struct agg_snap *snap)
{
	if (!snap)
		return;
	hmap__each(&snap->sites, free_snap_node, NULL);
	hmap__release(&snap->sites);
	free(snap);
	a->nr_snaps--;
}

void agg_snap__get(const struct agg_snap *snap, const struct agg_site *s, double *w_alloc,
		   double *live, bool *gone)
{
	struct hnode *n = hmap__find(&snap->sites, hash_u64((__u64)(unsigned long)s), snap_eq, s);
	struct snap_node *sn;

	*w_alloc = *live = 0;
	*gone = false;
	if (!n)
		return;
	sn = hmap_entry(n, struct snap_node, node);
	*w_alloc = sn->w_alloc;
	*live = sn->live;
	*gone = sn->gone;
}

/* Samples still tracked for sites that are about to go. */
static void drop_evicting_seq(struct hnode *n, void *ctx)
{
	struct seq_node *q = hmap_entry(n, struct seq_node, node);
	struct agg *a = ctx;

	if (!proc_node(q->site->s.proc)->evicting)
		return;
	hmap__del(&a->seqs, n);
	free(q);
}

static void free_proc_sites(struct agg *a, struct proc_node *p)
{
	struct site_node *s, *next;

	for (s = p->sites; s; s = next) {
		next = s->proc_next;
		hmap__del(&a->sites, &s->node);
		if (!--s->stack->refs) {
			hmap__del(&a->stacks, &s->stack->node);
			free(s->stack);
		}
		free(s);
	}
}

static bool evictable(const struct proc_node *p, __u64 min_exit_ns)
{
	return (p->p.exited || p->p.replaced) && p->p.exported && p->p.exit_ns &&
	       p->p.exit_ns < min_exit_ns;
}

int agg__evict_exited(struct agg *a, __u64 min_exit_ns)
{
	struct proc_node **pp, *p;
	int n = 0;

	if (a->nr_snaps)
		return 0;
	for (p = a->all; p; p = p->all_next)
		p->evicting = evictable(p, min_exit_ns);
	hmap__each(&a->seqs, drop_evicting_seq, a);
	for (pp = &a->all; (p = *pp);) {
		if (!p->evicting) {
			pp = &p->all_next;
			continue;
		}
		*pp = p->all_next;
		if (p->current)
			hmap__del(&a->procs, &p->node);
		free_proc_sites(a, p);
		addr_space__free(p->p.as);
		free(p->p.exe);
		free(p);
		a->nr_procs--;
		n++;
	}
	return n;
}

__u64 agg__nr_procs(const struct agg *a)
{
	return a->nr_procs;
}

__u64 agg__nr_live(const struct agg *a)
{
	return a->seqs.nr;
}

__u64 agg__nr_sites(const struct agg *a)
{
	return a->sites.nr;
}
