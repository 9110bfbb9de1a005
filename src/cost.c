// SPDX-License-Identifier: GPL-2.0-only
/* cost.c - traced calls per process, kept past their exit (see cost.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cost.h"
#include "hmap.h"

struct cost_node {
	struct hnode node;
	struct cost_proc p;
	__u64 seen_ns;		/* last update */
};

struct cost {
	struct hmap procs;
	unsigned int max;
	double trap_ns;
	__u64 gone_allocs, gone_frees;	/* of processes evicted or replaced */
	__u64 shed;
};

struct cost *cost__new(unsigned int max_procs)
{
	struct cost *c = calloc(1, sizeof(*c));

	if (c)
		c->max = max_procs;
	return c;
}

static void free_node(struct hnode *n, void *ctx)
{
	free(hmap_entry(n, struct cost_node, node));
}

void cost__free(struct cost *c)
{
	if (!c)
		return;
	hmap__each(&c->procs, free_node, NULL);
	hmap__release(&c->procs);
	free(c);
}

void cost__set_trap_ns(struct cost *c, double ns)
{
	c->trap_ns = ns;
}

double cost__trap_ns(const struct cost *c)
{
	return c->trap_ns;
}

double cost__seconds(const struct cost *c, __u64 calls)
{
	return c->trap_ns > 0 ? calls * c->trap_ns / 1e9 : 0;
}

static bool pid_eq(const struct hnode *n, const void *key)
{
	return hmap_entry(n, struct cost_node, node)->p.pid == *(const pid_t *)key;
}

static struct cost_node *find(const struct cost *c, pid_t pid)
{
	struct hnode *n = hmap__find(&c->procs, hash_u64(pid), pid_eq, &pid);

	return n ? hmap_entry(n, struct cost_node, node) : NULL;
}

static struct cost_node *add(struct cost *c, pid_t pid, __u64 now)
{
	struct cost_node *n;

	if (c->procs.nr >= c->max)
		return NULL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->p.pid = pid;
	n->p.first_ns = now;
	if (hmap__add(&c->procs, &n->node, hash_u64(pid))) {
		free(n);
		return NULL;
	}
	return n;
}

/* Its calls leave the table for the totals. */
static void retire(struct cost *c, struct cost_node *n)
{
	c->gone_allocs += n->p.allocs;
	c->gone_frees += n->p.frees;
	hmap__del(&c->procs, &n->node);
	free(n);
}

int cost__update(struct cost *c, pid_t pid, const struct as_calls *v, bool exited, __u64 now)
{
	struct cost_node *n = find(c, pid);

	/* counts only grow: a smaller one, or one after the exit, is a new process */
	if (n && (n->p.exited || v->allocs < n->p.allocs || v->frees < n->p.frees)) {
		retire(c, n);
		n = NULL;
	}
	if (!n)
		n = add(c, pid, now);
	if (!n && exited) {
		/* in the totals all the same, without a line or series of its own */
		c->gone_allocs += v->allocs;
		c->gone_frees += v->frees;
		c->shed++;
	}
	if (!n)
		return c->procs.nr >= c->max ? -ENOSPC : -ENOMEM;
	n->p.allocs = v->allocs;
	n->p.frees = v->frees;
	if (v->comm[0])
		memcpy(n->p.comm, v->comm, sizeof(n->p.comm));
	n->p.exited = exited;
	n->seen_ns = now;
	return 0;
}

struct evict_ctx {
	struct cost *c;
	__u64 before;
	bool logged;
};

static void evict_one(struct hnode *h, void *ctx)
{
	struct cost_node *n = hmap_entry(h, struct cost_node, node);
	struct evict_ctx *e = ctx;

	if (!n->p.exited || n->seen_ns >= e->before)
		return;
	if (!e->logged || (n->p.logged_allocs == n->p.allocs && n->p.logged_frees == n->p.frees))
		retire(e->c, n);
}

void cost__evict(struct cost *c, __u64 before, bool logged)
{
	struct evict_ctx e = { c, before, logged };

	hmap__each(&c->procs, evict_one, &e);
}

struct sum_ctx {
	__u64 allocs, frees;
};

static void sum_one(struct hnode *h, void *ctx)
{
	struct cost_node *n = hmap_entry(h, struct cost_node, node);
	struct sum_ctx *s = ctx;

	s->allocs += n->p.allocs;
	s->frees += n->p.frees;
}

void cost__totals(const struct cost *c, __u64 *allocs, __u64 *frees)
{
	struct sum_ctx s = { c->gone_allocs, c->gone_frees };

	hmap__each((struct hmap *)&c->procs, sum_one, &s);
	*allocs = s.allocs;
	*frees = s.frees;
}

__u64 cost__shed(const struct cost *c)
{
	return c->shed;
}

struct top_ctx {
	struct cost_proc **out;
	int n, max;
};

static __u64 calls_of(const struct cost_proc *p)
{
	return p->allocs + p->frees;
}

/* Insertion into the sorted top list: n is small (cost_top). */
static void top_one(struct hnode *h, void *ctx)
{
	struct cost_proc *p = &hmap_entry(h, struct cost_node, node)->p;
	struct top_ctx *t = ctx;
	int i;

	if (t->n == t->max && (!t->max || calls_of(t->out[t->n - 1]) >= calls_of(p)))
		return;
	i = t->n < t->max ? t->n++ : t->n - 1;
	for (; i > 0 && calls_of(t->out[i - 1]) < calls_of(p); i--)
		t->out[i] = t->out[i - 1];
	t->out[i] = p;
}

int cost__top(struct cost *c, struct cost_proc **out, int n)
{
	struct top_ctx t = { out, 0, n };

	hmap__each(&c->procs, top_one, &t);
	return t.n;
}

struct each_ctx {
	void (*fn)(struct cost_proc *p, void *ctx);
	void *ctx;
};

static void each_one(struct hnode *h, void *ctx)
{
	struct each_ctx *e = ctx;

	e->fn(&hmap_entry(h, struct cost_node, node)->p, e->ctx);
}

void cost__each(struct cost *c, void (*fn)(struct cost_proc *p, void *ctx), void *ctx)
{
	struct each_ctx e = { fn, ctx };

	hmap__each(&c->procs, each_one, &e);
}
