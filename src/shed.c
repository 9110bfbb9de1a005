// SPDX-License-Identifier: GPL-2.0-only
/* shed.c - raise the sampling rate of the heaviest processes under load. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "allocscope.h"
#include "hmap.h"
#include "shed.h"

#define WINDOW_NS	1000000000ULL
#define CALM_WINDOWS	5	/* calm windows before a rate goes down a step */
#define SLOTS		4096	/* processes counted per window */
#define PROBES		8
#define RAISE		4	/* a shed process's rate goes up by this */
#define LOWER		2	/* and back down by this: slower, against oscillation */
#define HEAVY_SHARE	4	/* a process with a quarter of a window's samples is heavy */

struct counter {
	pid_t tgid;		/* 0: free */
	__u32 n;
};

struct shed_proc {
	pid_t tgid;
	__u64 rate;
};

struct shed {
	shed_set_fn set;
	void *ctx;
	__u64 base, max;
	struct counter win[SLOTS];
	__u64 win_samples, turns, backlog_turns, busy_ns, window_end, last_drops;
	int calm;
	bool settle;		/* a rate was raised: the ring still holds samples at the old one */
	struct shed_proc procs[AS_MAX_SHED_PROCS];
	int nr_procs;
	struct shed_stats st;
};

struct shed *shed__new(shed_set_fn set, void *ctx, __u64 base_rate, __u64 max_rate)
{
	struct shed *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->set = set;
	s->ctx = ctx;
	s->base = base_rate;
	s->max = max_rate;
	return s;
}

void shed__free(struct shed *s)
{
	free(s);
}

static struct shed_proc *find_proc(struct shed *s, pid_t tgid)
{
	int i;

	for (i = 0; i < s->nr_procs; i++)
		if (s->procs[i].tgid == tgid)
			return &s->procs[i];
	return NULL;
}

static void forget(struct shed *s, struct shed_proc *p)
{
	*p = s->procs[--s->nr_procs];
}

void shed__configure(struct shed *s, __u64 base_rate, __u64 max_rate)
{
	while (s->nr_procs) {
		s->set(s->ctx, s->procs[0].tgid, 0);
		forget(s, &s->procs[0]);
	}
	s->base = base_rate;
	s->max = max_rate;
	s->calm = 0;
}

void shed__sample(struct shed *s, pid_t tgid, __u64 rate)
{
	__u64 h = hash_u64(tgid);
	struct counter *c;
	int i;

	if (rate > s->base && s->base)
		s->st.shed_samples += rate / s->base - 1;
	s->win_samples++;
	for (i = 0; i < PROBES; i++) {
		c = &s->win[(h + i) & (SLOTS - 1)];
		if (c->tgid == tgid || !c->tgid) {
			c->tgid = tgid;
			c->n++;
			return;
		}
	}
	s->st.uncounted++;
}

void shed__turn(struct shed *s, bool backlog, __u64 busy_ns)
{
	s->turns++;
	s->backlog_turns += backlog;
	s->busy_ns += busy_ns;
}

void shed__exit(struct shed *s, pid_t tgid)
{
	struct shed_proc *p = find_proc(s, tgid);

	if (p)
		forget(s, p);
}

static __u64 rate_of(struct shed *s, pid_t tgid)
{
	struct shed_proc *p = find_proc(s, tgid);

	return p ? p->rate : s->base;
}

/* Sets tgid's rate; returns whether it changed. */
static bool set_rate(struct shed *s, pid_t tgid, __u64 rate)
{
	struct shed_proc *p = find_proc(s, tgid);

	if (rate > s->max)
		rate = s->max;
	if (rate <= s->base)
		rate = 0;	/* the configured rate again */
	if ((p ? p->rate : 0) == rate || (!p && s->nr_procs == AS_MAX_SHED_PROCS))
		return false;
	if (s->set(s->ctx, tgid, rate))
		return false;
	if (!p && rate)
		s->procs[s->nr_procs++] = (struct shed_proc){ .tgid = tgid, .rate = rate };
	else if (rate)
		p->rate = rate;
	else
		forget(s, p);
	return true;
}

/*
 * The heaviest process not at the limit yet goes up a step, and every
 * other heavy one with it.
 */
static void raise_heaviest(struct shed *s)
{
	struct counter *top = NULL, *c;
	__u64 rate;

	for (c = s->win; c < s->win + SLOTS; c++)
		if (c->tgid && rate_of(s, c->tgid) < s->max && (!top || c->n > top->n))
			top = c;
	for (c = s->win; top && c < s->win + SLOTS; c++) {
		if (!c->tgid || (c != top && c->n * (__u64)HEAVY_SHARE < s->win_samples))
			continue;
		rate = rate_of(s, c->tgid);
		s->st.raised += set_rate(s, c->tgid, rate * RAISE);
	}
}

/* The process shed the most goes down a step. */
static void lower_one(struct shed *s)
{
	struct shed_proc *top = NULL;
	int i;

	for (i = 0; i < s->nr_procs; i++)
		if (!top || s->procs[i].rate > top->rate)
			top = &s->procs[i];
	if (top)
		s->st.lowered += set_rate(s, top->tgid, top->rate / LOWER);
}

int shed__tick(struct shed *s, __u64 now_ns, __u64 drops_total)
{
	bool overloaded, idle;

	if (!s->window_end) {
		s->window_end = now_ns + WINDOW_NS;
		s->last_drops = drops_total;
	}
	if (now_ns < s->window_end)
		return (int)((s->window_end - now_ns + 999999) / 1000000);
	overloaded = (s->turns && s->backlog_turns * 2 >= s->turns) || drops_total > s->last_drops;
	idle = !s->backlog_turns && s->busy_ns < WINDOW_NS / 4 && drops_total == s->last_drops;
	if (s->settle) {
		s->settle = false;
	} else if (overloaded && s->max > s->base) {
		s->calm = 0;
		s->settle = true;
		raise_heaviest(s);
	} else if (idle && s->nr_procs && ++s->calm >= CALM_WINDOWS) {
		s->calm = 0;
		lower_one(s);
	} else if (!idle) {
		s->calm = 0;
	}
	memset(s->win, 0, sizeof(s->win));
	s->win_samples = s->turns = s->backlog_turns = s->busy_ns = 0;
	s->last_drops = drops_total;
	s->window_end = now_ns + WINDOW_NS;
	return (int)(WINDOW_NS / 1000000);
}

void shed__stats(const struct shed *s, struct shed_stats *st)
{
	int i;

	*st = s->st;
	st->procs = s->nr_procs;
	st->max_rate = s->base;
	for (i = 0; i < s->nr_procs; i++)
		if (s->procs[i].rate > st->max_rate)
			st->max_rate = s->procs[i].rate;
}
